"""RAR 5.0 compression (methods 1-5, algorithm version 0): LZ77 with Huffman codes and filters.

RARLAB's own decoder (unrar) is not free software to copy; this one was written from the format
as libarchive's independent BSD reader documents it, and checked against archives WinRAR and
`rar` wrote (`scripts/check_rar_samples.py`) and against The Unarchiver's `unar` reading the
archives the tests build (`tests/rules/rar5_pack.py`).

A file's packed data is a run of byte-aligned blocks: a flags byte (tables present, last block,
the size's width, the bits used in the last byte), a check byte, the size, then a bit stream read
most significant bit first. Tables are canonical Huffman codes for 306 main symbols (literals,
a filter, repeats and matches), 64 distance slots, the 16 low distance bits and 44 repeat-length
slots, themselves coded with a 20-symbol code and run lengths. A solid archive carries the window,
tables, last distances and last length from one file to the next.

Filters (delta, x86 E8/E8E9 calls, ARM BL) undo what the packer did to executables and tables;
they apply to a file's output, while the window keeps the unfiltered bytes. The output is spent
from the budget as it grows, so a bomb stops at its limit, and every size, distance and filter is
checked before it is used: damage is `Unscannable`, never an exception of another kind.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from rules.extract.budget import Budget, Unscannable

_MAIN, _DIST, _LOW, _REP = 306, 64, 16, 44
_TABLE_LENGTHS = _MAIN + _DIST + _LOW + _REP
_MAX_FILTER = 0x400000
_MAX_FILTERS = 8192  # a file's filters: this many, and one more for each 4 KiB of the file
_SPEND_EVERY = 1 << 16
_E8_FILE_SIZE = 0x1000000
#: Length slots (main symbols 262-305, and the repeat-length code): 2-9, then a base and extra bits.
_LENGTH_BITS = tuple(0 if slot < 8 else slot // 4 - 1 for slot in range(_REP))
_LENGTH_BASES = tuple(2 + slot if slot < 8 else 2 + ((4 | slot & 3) << (slot // 4 - 1)) for slot in range(_REP))
_WORD = 128  # bits read at a time in the hot loop
_MOST_BITS = 80  # of a match: 15 (symbol) + 9 (length bits) + 15 (distance slot) + 26 + 15 (low bits)


@dataclass(frozen=True)
class _Filter:
    start: int  # in the file's output
    length: int
    kind: int  # 0 delta, 1 E8, 2 E8E9, 3 ARM
    channels: int


class PrefixCode:
    """A canonical Huffman code as one lookup table over `bits` bits: entry = symbol << 4 | length,
    -1 where no code begins (an incomplete code; reached only by damaged data)."""

    def __init__(self, lengths: list[int] | bytes, what: str) -> None:
        self.bits = max(lengths, default=0) or 1
        size = 1 << self.bits
        table = [-1] * size
        code = 0
        for length in range(1, self.bits + 1):
            for symbol, own in enumerate(lengths):
                if own != length:
                    continue
                span = 1 << (self.bits - length)
                start = code * span
                if start + span > size:
                    raise Unscannable(f"{what}: damaged rar data (an over-full Huffman code)")
                table[start : start + span] = [symbol << 4 | length] * span
                code += 1
            code <<= 1
        self.table = table
        self.mask = size - 1


_Codes = tuple[PrefixCode, PrefixCode, PrefixCode, PrefixCode]  # main, distance slots, low distance bits, repeat lengths


class Rar5Stream:
    """The decoder of one RAR 5.0 stream: one file, or every file of a solid run."""

    def __init__(self, budget: Budget, what: str) -> None:
        self.budget, self.what = budget, what
        self.window = bytearray()
        self.codes: _Codes | None = None
        self.distances = [0, 0, 0, 0]
        self.last_length = 0

    def unpack(self, packed: bytes, size: int, dictionary: int, name: str, *, partial: bool = False) -> bytes:
        """The `size` bytes of one file, continuing this stream's window (solid) or starting it;
        with `partial`, as many as `packed` holds (the first volume of a file split across
        volumes): blocks cut short are left, and so are filters past what was decoded."""
        what = f"{self.what}: {name}"
        if len(self.window) > dictionary:
            del self.window[: len(self.window) - dictionary]
        start = len(self.window)
        filters: list[_Filter] = []
        data = packed + bytes(_WORD // 8)  # a read at the end of a block looks up to 16 bytes past it
        pos = 0
        while pos < len(packed):
            try:
                flags, block_start, block_end = _block_header(packed, pos, what)
            except Unscannable:
                if partial:
                    break
                raise
            bit = block_start * 8
            end = (block_end - 1) * 8 + (flags & 7) + 1 if block_end > block_start else bit
            if flags & 0x80:
                self.codes, bit = _read_tables(data, bit, end, what)
            if self.codes is None:
                raise Unscannable(f"{what}: damaged rar data (a block without the tables it needs)")
            self._decode(self.codes, data, bit, end, start, size, filters, what)
            pos = block_end
            if flags & 0x40:
                break
        produced = len(self.window) - start
        if produced < size and not partial:
            raise Unscannable(f"{what}: damaged rar data ({produced} of {size} bytes)")
        out = bytearray(self.window[start : start + size])
        for flt in filters:
            if flt.start + flt.length <= len(out) or not partial:
                _apply(flt, out, what)
        return bytes(out)

    def _decode(self, codes: _Codes, data: bytes, bit: int, end: int, start: int, size: int,
                filters: list[_Filter], what: str) -> None:
        """Decodes one block's symbols from `bit` to `end` into the window.

        The hot loop: it reads 16 bytes at a time into `word` (`left` bits of it not yet used) and
        takes every field of a symbol from there; a match needs at most 80 bits.
        """
        (main, main_bits), (dist, dist_bits), (low, low_bits), (rep, rep_bits) = (
            (code.table, code.bits) for code in codes)
        window, distances, budget = self.window, self.distances, self.budget
        from_bytes = int.from_bytes
        unspent, at = 0, bit >> 3
        word, left = from_bytes(data[at : at + _WORD // 8], "big"), _WORD - (bit & 7)
        while True:
            bit = (at << 3) + _WORD - left
            if bit >= end:
                break
            if left < _MOST_BITS:
                at = bit >> 3
                word, left = from_bytes(data[at : at + _WORD // 8], "big"), _WORD - (bit & 7)
            entry = main[word >> (left - main_bits) & (1 << main_bits) - 1]
            if entry < 0:
                raise Unscannable(f"{what}: damaged rar data (a code no table holds)")
            left -= entry & 15
            symbol = entry >> 4
            if symbol < 256:
                window.append(symbol)
                unspent += 1
                continue
            if symbol >= 262:
                extra = _LENGTH_BITS[symbol - 262]
                left -= extra
                length = _LENGTH_BASES[symbol - 262] + (word >> left & (1 << extra) - 1)
                entry = dist[word >> (left - dist_bits) & (1 << dist_bits) - 1]
                if entry < 0:
                    raise Unscannable(f"{what}: damaged rar data (a code no table holds)")
                left -= entry & 15
                slot = entry >> 4
                if slot < 4:
                    distance = slot + 1
                else:
                    extra = (slot >> 1) - 1
                    distance = 1 + ((2 | slot & 1) << extra)
                    if extra < 4:
                        left -= extra
                        distance += word >> left & (1 << extra) - 1
                    else:
                        if extra > 4:
                            left -= extra - 4
                            distance += (word >> left & (1 << (extra - 4)) - 1) << 4
                        entry = low[word >> (left - low_bits) & (1 << low_bits) - 1]
                        if entry < 0:
                            raise Unscannable(f"{what}: damaged rar data (a code no table holds)")
                        left -= entry & 15
                        distance += entry >> 4
                length += (distance > 0x100) + (distance > 0x2000) + (distance > 0x40000)
                distances[1:] = distances[:3]
                distances[0] = distance
                self.last_length = length
            elif symbol == 256:
                bit = _filter(data, (at << 3) + _WORD - left, len(window) - start, size, filters, what)
                at = bit >> 3
                word, left = from_bytes(data[at : at + _WORD // 8], "big"), _WORD - (bit & 7)
                continue
            elif symbol == 257:
                if not self.last_length:
                    continue
                length, distance = self.last_length, distances[0]
            else:
                distance = distances.pop(symbol - 258)
                distances.insert(0, distance)
                entry = rep[word >> (left - rep_bits) & (1 << rep_bits) - 1]
                if entry < 0:
                    raise Unscannable(f"{what}: damaged rar data (a code no table holds)")
                left -= entry & 15
                extra = _LENGTH_BITS[entry >> 4]
                left -= extra
                length = _LENGTH_BASES[entry >> 4] + (word >> left & (1 << extra) - 1)
                self.last_length = length
            append_match(window, distance, length, what)
            unspent += length
            if unspent >= _SPEND_EVERY:
                budget.spend(unspent, what)
                unspent = 0
        budget.spend(unspent, what)
        if len(window) - start > size + _SPEND_EVERY:
            raise Unscannable(f"{what}: damaged rar data (more output than the file's {size} bytes)")


def _filter(data: bytes, bit: int, here: int, size: int, filters: list[_Filter], what: str) -> int:
    """Reads a filter declared at output offset `here` into `filters`."""
    offset, bit = _filter_number(data, bit)
    length, bit = _filter_number(data, bit)
    kind = _bits(data, bit, 3)
    bit += 3
    channels = 1
    if kind == 0:
        channels = _bits(data, bit, 5) + 1
        bit += 5
    if not 4 <= length <= _MAX_FILTER or kind > 3:
        raise Unscannable(f"{what}: damaged rar data (a filter of type {kind} over {length} bytes)")
    flt = _Filter(here + offset, length, kind, channels)
    if filters and flt.start < filters[-1].start + filters[-1].length:
        raise Unscannable(f"{what}: damaged rar data (filters overlap)")
    if len(filters) >= _MAX_FILTERS + size // 4096:
        raise Unscannable(f"{what}: damaged rar data (more than {len(filters)} filters)")
    filters.append(flt)
    return bit


def _read_tables(data: bytes, bit: int, end: int, what: str) -> tuple[_Codes, int]:
    """The four codes of a block's tables, and the bit after them."""
    lengths, bit = read_code_lengths(data, bit, end, [0] * _TABLE_LENGTHS, what)
    cut = list(itertools.accumulate((_MAIN, _DIST, _LOW, _REP), initial=0))
    main, dist, low, rep = (PrefixCode(lengths[a:b], what) for a, b in itertools.pairwise(cut))
    return (main, dist, low, rep), bit


def read_code_lengths(data: bytes, bit: int, end: int, previous: list[int], what: str) -> tuple[list[int], int]:
    """The code lengths of a block's tables as RAR 2.9 and 5.0 write them, and the bit after them:
    20 lengths of a code (4 bits each, 15 escaping a run of zeros), then with that code one length
    per symbol (as many as `previous` holds), added to the previous table's (RAR 2.9; zeros for
    RAR 5.0) modulo 16, or runs: 16 and 17 repeat the last length 3-10 or 11-138 times, 18 and 19
    write as many zeros."""
    lengths20: list[int] = []
    while len(lengths20) < 20:
        value, bit = _bits(data, bit, 4), bit + 4
        if value != 15:
            lengths20.append(value)
            continue
        zeros, bit = _bits(data, bit, 4), bit + 4
        lengths20.extend([15] if zeros == 0 else [0] * min(zeros + 2, 20 - len(lengths20)))
    meta = PrefixCode(lengths20, what)
    lengths: list[int] = []
    while len(lengths) < len(previous):
        if bit > end:
            raise Unscannable(f"{what}: damaged rar data (tables run past their block)")
        symbol, bit = _symbol(meta, data, bit, what)
        if symbol < 16:
            lengths.append((previous[len(lengths)] + symbol) & 0xF)
            continue
        extra = 3 if symbol in (16, 18) else 7
        count, bit = _bits(data, bit, extra) + (3 if extra == 3 else 11), bit + extra
        if symbol < 18 and not lengths:
            raise Unscannable(f"{what}: damaged rar data (a repeat before the first length)")
        fill = lengths[-1] if symbol < 18 else 0
        lengths.extend([fill] * min(count, len(previous) - len(lengths)))
    if bit > end:
        raise Unscannable(f"{what}: damaged rar data (tables run past their block)")
    return lengths, bit


def append_match(window: bytearray, distance: int, length: int, what: str) -> None:
    """Copies `length` bytes from `distance` back to the end of `window` (overlapping as LZ77 does)."""
    here = len(window)
    if not 0 < distance <= here:  # 0: a repeat of a distance never set
        raise Unscannable(f"{what}: damaged rar data (a match {distance} bytes back, {here} written)")
    if distance >= length:
        window += window[here - distance : here - distance + length]
    else:
        window += (window[here - distance :] * (length // distance + 1))[:length]


def _block_header(packed: bytes, pos: int, what: str) -> tuple[int, int, int]:
    """(flags, first byte, end) of the block at `pos`, its check byte verified."""
    if pos + 3 > len(packed):
        raise Unscannable(f"{what}: truncated rar data (a block header)")
    flags, check = packed[pos], packed[pos + 1]
    width = (flags >> 3 & 7) + 1
    if width > 3:
        raise Unscannable(f"{what}: damaged rar data (a block size of {width} bytes)")
    size = int.from_bytes(packed[pos + 2 : pos + 2 + width], "little")
    if check != (0x5A ^ flags ^ size ^ size >> 8 ^ size >> 16) & 0xFF:
        raise Unscannable(f"{what}: damaged rar data (block header check at {pos})")
    first = pos + 2 + width
    if first + size > len(packed):
        raise Unscannable(f"{what}: truncated rar data (a block of {size} bytes runs past the end)")
    return flags, first, first + size


def _bits(data: bytes, bit: int, count: int) -> int:
    """`count` (at most 32) bits at `bit`, most significant first."""
    at = bit >> 3
    return (int.from_bytes(data[at : at + 5], "big") >> (40 - (bit & 7) - count)) & ((1 << count) - 1)


def _symbol(code: PrefixCode, data: bytes, bit: int, what: str) -> tuple[int, int]:
    entry = code.table[_bits(data, bit, code.bits)]
    if entry < 0:
        raise Unscannable(f"{what}: damaged rar data (a code no table holds)")
    return entry >> 4, bit + (entry & 15)




def _filter_number(data: bytes, bit: int) -> tuple[int, int]:
    count = _bits(data, bit, 2) + 1
    bit += 2
    value = 0
    for i in range(count):
        value |= _bits(data, bit, 8) << (8 * i)
        bit += 8
    return value, bit



def _apply(flt: _Filter, out: bytearray, what: str) -> None:
    """Undoes one filter on the file's output, in place."""
    end = flt.start + flt.length
    if end > len(out):
        raise Unscannable(f"{what}: damaged rar data (a filter past the end of the file)")
    block = out[flt.start : end]
    if flt.kind == 0:
        undo_delta(block, flt.channels)
    elif flt.kind in (1, 2):
        undo_x86(block, flt.start, b"\xe8\xe9" if flt.kind == 2 else b"\xe8")
    else:
        _unarm(block, flt.start)
    out[flt.start : end] = block


def undo_delta(block: bytearray, channels: int) -> None:
    """Undoes the delta filter: the block holds each channel's differences, one channel after another."""
    source = bytes(block)
    taken = 0
    for channel in range(channels):
        count = len(range(channel, len(block), channels))
        values = itertools.accumulate(source[taken : taken + count], lambda prev, byte: (prev - byte) & 0xFF,
                                      initial=0)
        next(values)
        block[channel :: channels] = bytes(values)
        taken += count


def undo_x86(block: bytearray, file_offset: int, opcodes: bytes, wrap: int = _E8_FILE_SIZE) -> None:
    """Undoes the E8 (calls) or E8E9 (calls and jumps) filter on a block that starts `file_offset`
    bytes into its file; RAR 5.0 takes call sites modulo 16 MiB, RAR 2.9 modulo 2^32 (`wrap`)."""
    find = re.compile(b"[" + re.escape(opcodes) + b"]").search
    pos = 0
    while (found := find(block, pos)) is not None and found.start() + 4 < len(block):
        pos = found.start()
        offset = (pos + 1 + file_offset) % wrap
        address = int.from_bytes(block[pos + 1 : pos + 5], "little")
        if address & 0x80000000:
            if not (address + offset) & 0x80000000:
                address += _E8_FILE_SIZE
        elif (address - _E8_FILE_SIZE) & 0x80000000:
            address -= offset
        block[pos + 1 : pos + 5] = (address & 0xFFFFFFFF).to_bytes(4, "little")
        pos += 5


def _unarm(block: bytearray, file_offset: int) -> None:
    for pos in range(0, len(block) - 3, 4):
        if block[pos + 3] == 0xEB:
            offset = int.from_bytes(block[pos : pos + 3], "little") - (pos + file_offset) // 4
            block[pos : pos + 3] = (offset & 0xFFFFFF).to_bytes(3, "little")
