"""Files written into a text as base64 or hex: `base64 payroll.xlsx > notes.txt`, a PowerShell
`[Convert]::ToBase64String(...)` pasted into a ticket, a zip inlined into a JSON or XML field,
`xxd -p` output.

Encoding a file as text is the cheapest way past a scanner that reads text as it is: the values
are still there, but no detector sees them. Runs of at least `MIN_RUN` base64 characters (line
breaks inside a run allowed, as `base64` wraps at 76 and PEM at 64) are decoded, and a run is
handed on as a member of its text (`base64 block N`) when what it decodes to is a file this
package reads (sniffed as anything but an unknown binary) or text (valid UTF-8, printable).
What decodes to an unknown binary (certificates and keys in PEM, hashes, images of no known
kind, random letters) is left alone: its characters are scanned as they are anyway.

Finding the runs must cost next to nothing on ordinary text, and must not be quadratic on
hostile text (a regular expression like ``[A-Za-z0-9+/]{320,}`` retried at every offset is, on
runs a little shorter than the minimum). So: map every byte to "run" or "break" in one C-level
pass (`bytes.translate`), then search that for `MIN_RUN` run bytes in a row with `bytes.find`,
which skips ahead by up to `MIN_RUN` bytes at each break, and find each such run's ends with
`rfind`/`find`. Each run is measured once. A text with more than `MAX_BLOCKS` readable blocks,
or more than `MAX_TRIED` runs decoded, is named `unscannable` for the rest.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator

from rules.extract.budget import Budget, Unscannable

MIN_RUN = 320  # base64 characters: 240 bytes decoded
MAX_BLOCKS = 64
#: Runs decoded at most per text, readable or not: a text padded with junk runs ahead of a real
#: one is named `unscannable` rather than read to its end at a decode per run. A run costs about
#: 15 us, so the cap costs a quarter of a second; it is high enough for a known_hosts or a CA
#: bundle of thousands of keys (runs that decode to binaries) to stay `ok`.
MAX_TRIED = 16_384
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n"
_RUNS = bytes(0x41 if byte in _ALPHABET else 0x20 for byte in range(256))  # "A" in a run, " " between
_NEEDLE = b"A" * MIN_RUN
_PRINTABLE = 0.95
_HEX = b"0123456789abcdefABCDEF"


def has_encoded_run(data: bytes) -> bool:
    """Whether `data` holds a run of base64 characters long enough to be decoded (cheap: one
    translation and one search, about 2 ms a megabyte)."""
    return len(data) >= MIN_RUN and data.translate(_RUNS).find(_NEEDLE) >= 0


def encoded_blocks(data: bytes, budget: Budget, what: str) -> Iterator[tuple[str, bytes]]:
    """(`base64 block N`, decoded bytes) of each long base64 run in `data` that decodes to a
    readable file or to text."""
    if len(data) < MIN_RUN:
        return
    runs = data.translate(_RUNS)
    found, tried, pos = 0, 0, 0
    while True:
        hit = runs.find(_NEEDLE, pos)  # skips ahead by up to MIN_RUN bytes at each mismatch
        if hit < 0:
            break
        start = runs.rfind(b" ", 0, hit) + 1
        end = runs.find(b" ", hit + MIN_RUN)
        end = len(runs) if end < 0 else end
        pos = end
        for block in _blocks(data[start:end]):
            budget.check_time()
            tried += 1
            if tried > MAX_TRIED:
                raise Unscannable(f"{what}: more than {MAX_TRIED} runs of base64 characters; the rest were not decoded")
            decoded = _decoded(block)
            if decoded is None:
                continue
            if found == MAX_BLOCKS:
                raise Unscannable(f"{what}: more than {MAX_BLOCKS} files written as base64 or hex; the rest were not read")
            found += 1
            budget.enter(what)
            budget.spend(len(decoded[1]), what)
            yield f"{decoded[0]} block {found}", decoded[1]


def _blocks(run: bytes) -> list[list[bytes]]:
    """The base64 blocks of a run, as lists of lines: lines of one width (the wrap width), the
    last maybe shorter or ending in padding. A word of the text before or after a block, joined
    to it by a line break, is a line of another width and so a block of its own, too short."""
    blocks: list[list[bytes]] = []
    current: list[bytes] = []
    width = 0
    for line in run.replace(b"\r", b"").split(b"\n"):
        ended = bool(current) and current[-1].endswith(b"=")
        if current and not ended and len(line) == width:
            current.append(line)
        elif current and not ended and 0 < len(line) < width:
            current.append(line)  # the block's short last line
            blocks.append(current)
            current = []
        else:
            if current:
                blocks.append(current)
            current, width = [line], len(line)
    if current:
        blocks.append(current)
    return [block for block in blocks if sum(map(len, block)) >= MIN_RUN]


def _decoded(lines: list[bytes]) -> tuple[str, bytes] | None:
    """("base64" or "hex", what a block decodes to), when that is a readable file or text; a
    block whose last line is a word of the text after it is tried without that line too. A block
    of hexadecimal digits only (`xxd -p`, `od`-less dumps, a hex field) is read as hex first."""
    last_is_short = len(lines) > 1 and len(lines[-1]) < len(lines[0])
    for candidate in (lines, lines[:-1]) if last_is_short else (lines,):
        body = b"".join(candidate)
        if len(body) < MIN_RUN or b"=" in body.rstrip(b"="):
            continue  # padding can only end a block
        if not body.translate(None, _HEX) and len(body) % 2 == 0 and _readable(bytes.fromhex(body.decode())):
            return "hex", bytes.fromhex(body.decode())
        body = body.rstrip(b"=")
        try:
            decoded = binascii.a2b_base64(body + b"=" * (-len(body) % 4), strict_mode=True)
        except binascii.Error:
            continue
        if _readable(decoded):
            return "base64", decoded
    return None


def _readable(decoded: bytes) -> bool:
    """A file this package reads (anything sniffed but an unknown binary), or printable text.

    A few bytes repeated are neither: a run of the digit 3 is the hex of a shorter run of 3s,
    which would otherwise be decoded again at every level until the depth limit made its text
    `unscannable` (a padding run, a column of one digit), and a run of 6s is the base64 of three
    bytes repeated."""
    from rules.extract.sniff import sniff  # sniff imports this package's readers

    if _periodic(decoded):
        return False
    kind = sniff(decoded, "")
    return not kind.startswith("binary") and (kind != "text" or readable_text(decoded))


def _periodic(decoded: bytes, longest: int = 4) -> bool:
    """Whether ``decoded`` is its first 1..``longest`` bytes repeated (compared at C speed)."""
    for period in range(1, longest + 1):
        head = decoded[:period]
        if decoded == head * (len(decoded) // period) + head[: len(decoded) % period]:
            return True
    return False


def readable_text(decoded: bytes) -> bool:
    """Valid UTF-8 whose characters are nearly all printable or white space."""
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return False
    printable = sum(ch.isprintable() or ch in "\t\r\n" for ch in text)
    return printable >= _PRINTABLE * len(text)
