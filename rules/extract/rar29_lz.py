"""RAR 2.9-4.x compression (unpack version 29/36): its LZ blocks, its PPMd blocks (`ppmd`, the
model and RAR's range coder) and standard filters.

RARLAB's decoder (unrar) is not free software to copy; this one follows the format as
libarchive's BSD reader documents it, and is checked against The Unarchiver's `unar` reading the
archives `tests/rules/rar4_pack.py` writes and against files WinRAR wrote
(`scripts/check_rar_samples.py`).

A file's packed data is one bit stream, most significant bit first. It starts with tables,
byte-aligned: a bit for PPMd (then the block is PPMd's, see `_decode_ppm`), a bit to keep the previous lengths, 20 lengths of a
code for the rest (4 bits each, 15 escaping a run of zeros), then 404 lengths (299 main symbols,
60 distance slots, 17 low distance codes, 28 length slots), each added to the previous table's
modulo 16, or runs. Main symbols: literals; 256 ends the block (new tables follow) or the file
(and says whether the next file of a solid archive starts with new tables); 257 a filter (not
read); 258 the last match again; 259-262 one of the four last distances with a new length;
263-270 a two-byte match at a short distance; 271-298 a match, 3 or more bytes (one more at
8 KiB and at 256 KiB), its distance's low four bits coded apart, with a symbol that repeats the
last low bits for 16 matches. A solid archive carries the window, tables, distances and lengths
from one file to the next. Output is spent from the budget as it grows; damage is `Unscannable`.

Filters (symbol 257) were meant to run as programs in RAR 3's virtual machine; RARLAB's
archivers only ever write six standard ones, which readers recognise by the length and CRC-32 of
the program and run as native code. The delta filter (tables and text with fixed-width records:
WinRAR chooses it for such text files too) and the x86 E8/E8E9 filters are undone, as in RAR 5.0;
the RGB, audio and Itanium filters, and any other program, make the file `Unscannable` naming
them. A filter's declaration (its program's slot, start, length, registers, and the program the
first time) is read from its own small bit stream.
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass

from rules.extract.budget import Budget, Unscannable
from rules.extract.ppmd import Model, PpmdError, RarRangeDecoder, start_rar_block
from rules.extract.rar5_lz import PrefixCode, append_match, read_code_lengths, undo_delta, undo_x86

_MAIN, _DIST, _LOW, _LEN = 299, 60, 17, 28
_TABLE_LENGTHS = _MAIN + _DIST + _LOW + _LEN
_SPEND_EVERY = 1 << 16
_WORD = 128
_MOST_BITS = 64  # of a match: 15 (symbol) + 5 (length bits) + 15 (slot) + 14 (distance bits) + 15 (low)
_LENGTH_BASES = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160,
                 192, 224)
_LENGTH_BITS = (0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5)
_DIST_BITS = (0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14,
              15, 15, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18,
              18, 18)
_DIST_BASES = tuple(itertools.accumulate((1 << bits for bits in _DIST_BITS[:-1]), initial=0))
_SHORT_BASES = (0, 4, 8, 16, 32, 64, 128, 192)
_SHORT_BITS = (2, 2, 3, 4, 5, 6, 6, 6)
_LOW_REPEAT = 16  # the low distance symbol that repeats the last low bits
_LOW_REPEATS = 15  # further matches that take them
#: The standard filter programs, by (length, CRC-32) of their byte code, as RARLAB's readers know them.
STANDARD_FILTERS = {(53, 0xAD576887): "E8", (57, 0x3CD7E57E): "E8E9", (120, 0x3769893F): "Itanium",
                    (29, 0x0E06077D): "delta", (149, 0x1C2C5DC8): "RGB", (216, 0xBC85E701): "audio"}
_MAX_FILTERS = 1024  # programs an archive may define
_MAX_FILTER_BLOCK = 0x40000  # the virtual machine's memory


@dataclass(frozen=True)
class _Filter:
    start: int  # in the file's output
    length: int
    kind: str  # a STANDARD_FILTERS name, or "unknown"
    registers: tuple[int, ...]  # R0-R6 as declared


class Rar29Stream:
    """The decoder of one RAR 2.9 stream: one file, or every file of a solid run."""

    def __init__(self, budget: Budget, what: str) -> None:
        self.budget, self.what = budget, what
        self.window = bytearray()
        self.lengths = [0] * _TABLE_LENGTHS
        self.codes: tuple[PrefixCode, PrefixCode, PrefixCode, PrefixCode] | None = None
        self.need_tables = True
        self.distances = [0, 0, 0, 0]
        self.last_length = self.last_distance = 0
        self.low = self.low_repeats = 0
        self.programs: list[str] = []  # the filter kind of each program slot; kept across solid files
        self.program_lengths: list[int] = []
        self.last_program = 0
        self.filters: list[_Filter] = []  # declared in the current file
        self.model: Model | None = None  # PPMd's, kept across blocks and solid files
        self.coder: RarRangeDecoder | None = None  # set while in a PPMd block
        self.escape = 2  # the PPMd byte that introduces a code

    def unpack(self, packed: bytes, size: int, name: str, *, partial: bool = False) -> bytes:
        """The `size` bytes of one file, continuing this stream's window (solid) or starting it;
        with `partial`, as many as `packed` holds (the first volume of a file split across
        volumes), filters past what was decoded left."""
        what = f"{self.what}: {name}"
        if len(self.window) > 4 << 20:  # RAR 2.9's largest dictionary
            del self.window[: len(self.window) - (4 << 20)]
        start = self.file_start = len(self.window)
        self.filters = []
        data = packed + bytes(_WORD // 8)
        end = len(packed) * 8
        bit = 0
        if self.need_tables and packed:
            bit = self._tables(data, 0, end, what)
        more = bool(packed)
        while more:
            decode = self._decode if self.coder is None else self._decode_ppm
            bit, more = decode(data, bit, end, start + size, what)
        produced = len(self.window) - start
        if produced < size and not partial:
            raise Unscannable(f"{what}: damaged rar data ({produced} of {size} bytes)")
        out = bytearray(self.window[start : start + size])
        for flt in self.filters:
            if flt.start + flt.length <= len(out) or not partial:
                _apply(flt, out, what)
        return bytes(out)

    def _tables(self, data: bytes, bit: int, end: int, what: str) -> int:
        bit = (bit + 7) & ~7
        if bit + 2 > end:
            raise Unscannable(f"{what}: truncated rar data (tables)")
        if _bits(data, bit, 1):  # a PPMd block: its flags byte starts here
            try:
                self.model, self.coder, escape = start_rar_block(data, bit >> 3, self.model)
            except PpmdError as exc:
                raise Unscannable(f"{what}: damaged rar data ({exc})") from None
            self.escape = self.escape if escape is None else escape
            self.need_tables = False
            return self.coder.position * 8
        self.coder = None
        if not _bits(data, bit + 1, 1):
            self.lengths = [0] * _TABLE_LENGTHS
        bit += 2
        self.low = self.low_repeats = 0
        lengths, bit = read_code_lengths(data, bit, end, self.lengths, what)
        self.lengths = lengths
        cut = list(itertools.accumulate((_MAIN, _DIST, _LOW, _LEN), initial=0))
        main, dist, low, rep = (PrefixCode(lengths[a:b], what) for a, b in itertools.pairwise(cut))
        self.codes, self.need_tables = (main, dist, low, rep), False
        return bit

    def _decode(self, data: bytes, bit: int, end: int, stop: int, what: str) -> tuple[int, bool]:
        """Decodes symbols from `bit` until new tables (True), or the file's end mark, the end of its
        data or `stop` bytes written (False); returns where it stopped. The hot loop, as in
        `rar5_lz`: 16 bytes read at a time."""
        if self.codes is None:
            raise Unscannable(f"{what}: damaged rar data (no tables)")
        (main, main_bits), (dist, dist_bits), (low, low_bits), (rep, rep_bits) = (
            (code.table, code.bits) for code in self.codes)
        window, distances, budget = self.window, self.distances, self.budget
        from_bytes = int.from_bytes
        unspent, at = 0, bit >> 3
        word, left = from_bytes(data[at : at + _WORD // 8], "big"), _WORD - (bit & 7)
        try:
            while True:
                bit = (at << 3) + _WORD - left
                if bit >= end:
                    return bit, False
                if left < _MOST_BITS:
                    at = bit >> 3
                    word, left = from_bytes(data[at : at + _WORD // 8], "big"), _WORD - (bit & 7)
                entry = main[word >> (left - main_bits) & (1 << main_bits) - 1]
                if len(window) >= stop and entry >> 4 != 256:  # the file is whole: only its end mark may follow
                    return bit, False
                if entry < 0:
                    raise Unscannable(f"{what}: damaged rar data (a code no table holds)")
                left -= entry & 15
                symbol = entry >> 4
                if symbol < 256:
                    window.append(symbol)
                    unspent += 1
                    continue
                if symbol >= 271:
                    slot = symbol - 271
                    extra = _LENGTH_BITS[slot]
                    left -= extra
                    length = _LENGTH_BASES[slot] + 3 + (word >> left & (1 << extra) - 1)
                    entry = dist[word >> (left - dist_bits) & (1 << dist_bits) - 1]
                    if entry < 0:
                        raise Unscannable(f"{what}: damaged rar data (a code no table holds)")
                    left -= entry & 15
                    slot = entry >> 4
                    extra = _DIST_BITS[slot]
                    distance = _DIST_BASES[slot] + 1
                    if slot <= 9:
                        left -= extra
                        distance += word >> left & (1 << extra) - 1
                    else:
                        if extra > 4:
                            left -= extra - 4
                            distance += (word >> left & (1 << (extra - 4)) - 1) << 4
                        if self.low_repeats:
                            self.low_repeats -= 1
                            distance += self.low
                        else:
                            entry = low[word >> (left - low_bits) & (1 << low_bits) - 1]
                            if entry < 0:
                                raise Unscannable(f"{what}: damaged rar data (a code no table holds)")
                            left -= entry & 15
                            if entry >> 4 == _LOW_REPEAT:
                                self.low_repeats = _LOW_REPEATS
                            else:
                                self.low = entry >> 4
                            distance += self.low
                    length += (distance >= 0x2000) + (distance >= 0x40000)
                    distances[1:] = distances[:3]
                    distances[0] = distance
                elif symbol >= 263:
                    slot = symbol - 263
                    extra = _SHORT_BITS[slot]
                    left -= extra
                    length, distance = 2, _SHORT_BASES[slot] + 1 + (word >> left & (1 << extra) - 1)
                    distances[1:] = distances[:3]
                    distances[0] = distance
                elif symbol >= 259:
                    distance = distances.pop(symbol - 259)
                    distances.insert(0, distance)
                    entry = rep[word >> (left - rep_bits) & (1 << rep_bits) - 1]
                    if entry < 0:
                        raise Unscannable(f"{what}: damaged rar data (a code no table holds)")
                    left -= entry & 15
                    slot = entry >> 4
                    extra = _LENGTH_BITS[slot]
                    left -= extra
                    length = _LENGTH_BASES[slot] + 2 + (word >> left & (1 << extra) - 1)
                elif symbol == 258:
                    if not self.last_length:
                        continue
                    length, distance = self.last_length, self.last_distance
                elif symbol == 257:
                    bit = self._filter(data, (at << 3) + _WORD - left, len(window) - self.file_start, what)
                    at = bit >> 3
                    word, left = from_bytes(data[at : at + _WORD // 8], "big"), _WORD - (bit & 7)
                    continue
                else:  # 256: the end of a block or of the file
                    bit = (at << 3) + _WORD - left
                    if _bits(data, bit, 1):  # new tables follow
                        return self._tables(data, bit + 1, end, what), True
                    self.need_tables = bool(_bits(data, bit + 1, 1))
                    return bit + 2, False
                self.last_length, self.last_distance = length, distance
                append_match(window, distance, length, what)
                unspent += length
                if unspent >= _SPEND_EVERY:
                    budget.spend(unspent, what)
                    unspent = 0
        finally:
            budget.spend(unspent, what)


    def _decode_ppm(self, data: bytes, bit: int, end: int, stop: int, what: str) -> tuple[int, bool]:
        """Decodes a PPMd block until new tables (True) or the file's end code (False). Bytes
        are literals but for the escape byte, which introduces a code: 0 new tables, 2 the end of
        the file, 3 a filter, 4 a match (3 bytes of distance, 1 of length), 5 a run of the last
        byte, anything else the escape byte itself. The end code is read even after the file's
        last byte: it is part of the model's history, which a solid archive's next file goes on
        with (then with a block header of its own)."""
        model, coder, window, budget = self.model, self.coder, self.window, self.budget
        if model is None or coder is None:
            raise Unscannable(f"{what}: damaged rar data (no PPMd model)")
        unspent = 0
        try:
            while True:
                if coder.position > (end >> 3) + 8 or len(window) > stop + 0x101:
                    return coder.position * 8, False  # past the data, or past the file: damaged
                symbol = model.decode_symbol_rar(coder)
                if symbol != self.escape:
                    if symbol < 0:
                        raise Unscannable(f"{what}: damaged rar data (a PPMd end mark inside a file)")
                    window.append(symbol)
                    unspent += 1
                    continue
                code = model.decode_symbol_rar(coder)
                if code == 0:
                    self.coder = None
                    return self._tables(data, coder.position * 8, end, what), True
                if code == 2 or code < 0:
                    self.coder, self.need_tables = None, True
                    return coder.position * 8, False
                if code == 3:
                    self._declare_ppm(model, coder, len(window) - self.file_start, what)
                elif code in (4, 5):  # a match: 3 bytes of distance and 1 of length, or a run
                    fields = [_ppm_byte(model, coder, what) for _ in range(4 if code == 4 else 1)]
                    distance = (fields[0] << 16 | fields[1] << 8 | fields[2]) + 2 if code == 4 else 1
                    length = fields[-1] + (32 if code == 4 else 4)
                    append_match(window, distance, length, what)
                    unspent += length
                else:
                    window.append(symbol)
                    unspent += 1
                if unspent >= _SPEND_EVERY:
                    budget.spend(unspent, what)
                    unspent = 0
        except PpmdError as exc:
            raise Unscannable(f"{what}: damaged rar data ({exc})") from None
        finally:
            budget.spend(unspent, what)

    def _declare_ppm(self, model: Model, coder: RarRangeDecoder, here: int, what: str) -> None:
        """A filter declared inside a PPMd block: its first byte, size and fields as PPMd bytes."""
        first = _ppm_byte(model, coder, what)
        size = (first & 7) + 1
        if size == 7:
            size = _ppm_byte(model, coder, what) + 7
        elif size == 8:
            size = _ppm_byte(model, coder, what) << 8 | _ppm_byte(model, coder, what)
        if size == 0:
            raise Unscannable(f"{what}: damaged rar data (an empty filter)")
        code = bytes(_ppm_byte(model, coder, what) for _ in range(size))
        self._declare(first, code, here, what)

    def _filter(self, data: bytes, bit: int, here: int, what: str) -> int:
        """Reads a filter declared at file offset `here` (its program's code is in the main
        stream, its fields in a bit stream of their own) into `self.filters`."""
        first, bit = _bits(data, bit, 8), bit + 8
        size = (first & 7) + 1
        if size == 7:
            size, bit = _bits(data, bit, 8) + 7, bit + 8
        elif size == 8:
            size, bit = _bits(data, bit, 16), bit + 16
        if size == 0:
            raise Unscannable(f"{what}: damaged rar data (an empty filter)")
        code = bytes(_bits(data, bit + 8 * i, 8) for i in range(size))
        self._declare(first, code, here, what)
        return bit + 8 * size

    def _declare(self, first: int, code: bytes, here: int, what: str) -> None:
        """A filter declared at file offset `here` by its first byte and its fields' bytes."""
        size = len(code)
        fields = _FilterFields(code + bytes(8), size, what)
        slot = self.last_program
        if first & 0x80:
            slot = fields.number()
            if slot == 0:
                self.programs, self.program_lengths = [], []
            else:
                slot -= 1
        if slot > len(self.programs) or slot > _MAX_FILTERS:
            raise Unscannable(f"{what}: damaged rar data (filter program {slot} of {len(self.programs)})")
        self.last_program = slot
        new = slot == len(self.programs)
        if new:
            self.programs.append("unknown")
            self.program_lengths.append(0)
        start = fields.number() + (258 if first & 0x40 else 0)
        if first & 0x20:
            self.program_lengths[slot] = fields.number()
        length = self.program_lengths[slot]
        registers = [0] * 7
        if first & 0x10:
            mask = fields.bits(7)
            for i in range(7):
                if mask & 1 << i:
                    registers[i] = fields.number()
        if new:
            program_size = fields.number()
            if not 0 < program_size < 0x10000 or fields.at + program_size > size:
                raise Unscannable(f"{what}: damaged rar data (a filter program of {program_size} bytes)")
            program = bytes(fields.bits(8) for _ in range(program_size))
            self.programs[slot] = _standard(program)
        if length > _MAX_FILTER_BLOCK or len(self.filters) > _MAX_FILTERS * 16:
            raise Unscannable(f"{what}: damaged rar data (a filter over {length} bytes)")
        self.filters.append(_Filter(here + start, length, self.programs[slot], tuple(registers)))


def _ppm_byte(model: Model, coder: RarRangeDecoder, what: str) -> int:
    """One byte of a code's fields in a PPMd block; the end mark there is damage."""
    symbol = model.decode_symbol_rar(coder)
    if symbol < 0:
        raise Unscannable(f"{what}: damaged rar data (a PPMd end mark inside a code)")
    return symbol


class _FilterFields:
    """The fields of a filter declaration: a bit stream of its own, most significant bit first."""

    def __init__(self, code: bytes, size: int, what: str) -> None:
        self.code, self.size, self.what, self.bit = code, size, what, 0

    @property
    def at(self) -> int:
        return self.bit >> 3

    def bits(self, count: int) -> int:
        if self.bit + count > self.size * 8:
            raise Unscannable(f"{self.what}: damaged rar data (a filter declaration runs past its end)")
        value = _bits(self.code, self.bit, count)
        self.bit += count
        return value

    def number(self) -> int:
        """RAR 3's variable-length number: 2 bits say 4, 8 (or a negative byte), 16 or 32 bits."""
        kind = self.bits(2)
        if kind == 0:
            return self.bits(4)
        if kind == 1:  # a byte; four zero bits first mark a negative one
            if _bits(self.code, self.bit, 4) == 0:
                self.bits(4)
                return 0xFFFFFF00 | self.bits(8)
            return self.bits(8)
        return self.bits(16) if kind == 2 else self.bits(16) << 16 | self.bits(16)


def _standard(program: bytes) -> str:
    """The standard filter a program is (its first byte the XOR of the others), or "unknown"."""
    checksum = 0
    for byte in program[1:]:
        checksum ^= byte
    if checksum != program[0]:
        return "unknown"
    return STANDARD_FILTERS.get((len(program), zlib.crc32(program)), "unknown")


def _apply(flt: _Filter, out: bytearray, what: str) -> None:
    end = flt.start + flt.length
    if end > len(out):
        raise Unscannable(f"{what}: damaged rar data (a filter past the end of the file)")
    block = out[flt.start : end]
    if flt.kind == "delta" and 0 < flt.registers[0] <= 1024:
        undo_delta(block, flt.registers[0])
    elif flt.kind in ("E8", "E8E9"):
        undo_x86(block, flt.start, b"\xe8\xe9" if flt.kind == "E8E9" else b"\xe8", wrap=1 << 32)
    else:
        raise Unscannable(f"{what}: a RAR 2.9 {flt.kind} filter is not read")
    out[flt.start : end] = block


def _bits(data: bytes, bit: int, count: int) -> int:
    """`count` (at most 32) bits at `bit`, most significant first."""
    at = bit >> 3
    return (int.from_bytes(data[at : at + 5], "big") >> (40 - (bit & 7) - count)) & ((1 << count) - 1)
