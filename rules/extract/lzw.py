"""`compress` (.Z, .taz) files: Unix's LZW, as ncompress 4.2 and the BSDs write them, and as
`gzip -d` and 7-Zip still read them.

The header is `1f 9d` and a byte holding the largest code width (9-16 bits) and the block-mode
flag (code 256 then clears the table). Codes are packed low bit first, starting at 9 bits; a code
grows one bit when the table outgrows it. compress writes codes in groups of eight (a group of
`width` bytes): when the width changes or the table is cleared, the rest of the current group is
padding, counted from the first code or from the last such change. At 9 bits of most, the width
still grows to 10 once the table is full, in the encoder and the decoder alike (compress's own
arithmetic, kept).

The table holds each code's whole string. Every string but the newest was written out once
before, so the table is never bigger than the output plus one byte a code, and the output is spent
from the budget as it grows: a bomb stops at the limit, not after.
"""

from __future__ import annotations

from rules.extract.budget import Budget, Unscannable

MAGIC = b"\x1f\x9d"
_CLEAR = 256
_SPEND_EVERY = 1 << 16  # output bytes between budget checks


def is_compress(data: bytes) -> bool:
    """A .Z header: the magic, 9-16 bits, the two reserved bits clear."""
    return len(data) >= 3 and data.startswith(MAGIC) and 9 <= data[2] & 0x1F <= 16 and not data[2] & 0x60


def uncompress(data: bytes, budget: Budget, what: str) -> bytes:
    """The bytes a .Z file stands for."""
    if not is_compress(data):
        raise Unscannable(f"{what}: corrupt .Z (header)")
    most_bits, block_mode = data[2] & 0x1F, bool(data[2] & 0x80)
    most_codes = 1 << most_bits
    padded = data + b"\x00\x00"  # a code read at the end may look two bytes past it
    end = len(data) * 8
    table: list[bytes] = [bytes((i,)) for i in range(256)]
    if block_mode:
        table.append(b"")  # code 256 is CLEAR, never a string
    width, pos = 9, 24
    base = pos  # groups count from the first code, then from each width change or clear
    biggest = (1 << width) - 1  # the largest code this width holds, as compress keeps it
    previous = b""
    out = bytearray()
    unspent = 0
    while pos + width <= end:
        if len(table) > biggest:
            pos = base = _next_group(pos, base, width)
            width += 1
            # compress's own rule, quirk included: at 9 bits of most, the width still grows to 10.
            biggest = most_codes if width == most_bits else (1 << width) - 1
            continue
        at = pos >> 3
        code = (int.from_bytes(padded[at : at + 3], "little") >> (pos & 7)) & ((1 << width) - 1)
        pos += width
        if block_mode and code == _CLEAR:
            pos = base = _next_group(pos, base, width)
            del table[257:]
            width, biggest, previous = 9, (1 << 9) - 1, b""
            continue
        if code < len(table):
            string = table[code]
        elif code == len(table) and previous:  # the string being defined: previous + its own first byte
            string = previous + previous[:1]
        else:
            raise Unscannable(f"{what}: corrupt .Z (code {code} before it was defined)")
        if previous and len(table) < most_codes:
            table.append(previous + string[:1])
        previous = string
        out += string
        unspent += len(string)
        if unspent >= _SPEND_EVERY:
            budget.spend(unspent, what)
            budget.check_time()
            unspent = 0
    budget.spend(unspent, what)
    return bytes(out)


def _next_group(pos: int, base: int, width: int) -> int:
    """The first bit of the next group of eight codes of ``width`` bits, counted from ``base``
    (compress's own arithmetic: a position already at a group's start still moves a whole group)."""
    group = width * 8
    done = pos - base - 1
    return base + done + group - done % group
