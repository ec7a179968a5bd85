"""A RAR 5.0 writer with real compression (methods 1-5), written for tests.

No free program writes RAR archives, yet the reader must be tested on compressed files, not only on
stored ones. This writer finds LZ77 matches with a greedy hash-chain matcher, also uses the repeat
symbols (the last match again, or one of the four last distances), codes everything with canonical
Huffman tables in blocks, and declares the optional filters. The Unarchiver's `unar` extracts its
output byte for byte (tests/rules/test_rar5_pack.py), so the format is checked by a reader that is
not ours.

One thing `unar` needs beyond the format: it peeks min(longest code, 10) bits for each Huffman
symbol, and Debian's build (patch "Proper fix for CSInputBuffer bit string reading") fails with
"Attempted to read more data than was available" when fewer bits are left in the file's packed data,
although the code itself fits. When the last block ends too close after a symbol, a block with the
same tables and no symbols follows it: valid, and its table codes all have one length, so no peek
there overruns.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypedDict, Unpack

from tests.rules.rar_bits import BitWriter, canonical, code_lengths, common, lookahead
from tests.rules.samples import varint

SIGNATURE = b"Rar!\x1a\x07\x01\x00"
DELTA, E8, E8E9, ARM = 0, 1, 2, 3
TABLE_SIZES = (306, 64, 16, 44)  # main (literals and commands), distance slots, low distance bits, lengths
_STARTS = (0, 306, 370, 386)
_MAIN, _DISTANCE, _LOW, _LENGTH, _RAW = 0, 1, 2, 3, -1
_MAX_BASE_LENGTH = 4097  # length slot 43 with all 9 extra bits set
_CHAIN = 24  # candidates tried per position
_FILTER_LEAD = 3  # a filter is declared this many bytes ahead of its block when it can be
_E8_FILE_SIZE = 0x1000000

# A token is the fields it is written as: (table, value, bit count) triples; table _RAW is plain bits,
# the others are Huffman codes (count unused). The first triple is always the main symbol.
Token = tuple[int, ...]


@dataclass(frozen=True)
class Filter:
    """A filter the stream declares over `length` bytes of the file's output from offset `start`."""

    start: int
    length: int  # 4 .. 0x400000
    kind: int  # DELTA, E8, E8E9, ARM
    channels: int = 1  # delta only, 1..32

    def __post_init__(self) -> None:
        if self.start < 0 or not 4 <= self.length <= 0x400000:
            raise ValueError(f"filter over {self.length} bytes from {self.start}: out of range")
        if self.kind not in (DELTA, E8, E8E9, ARM) or not 1 <= self.channels <= 32:
            raise ValueError(f"filter kind {self.kind} with {self.channels} channels does not exist")


@dataclass
class PackStats:
    """What the encoder emitted, so a test can tell that its case was really exercised."""

    symbols: Counter[int] = field(default_factory=Counter)  # main-table symbols: 256 filter, 257-261 repeats
    bonuses: Counter[int] = field(default_factory=Counter)  # matches by the length bonus (0-3) of their distance
    blocks: int = 0
    table_blocks: int = 0  # blocks that carry tables
    trailer_blocks: int = 0  # tables-only last blocks (see the module docstring)

    def count_block(self, *, tables: bool, trailer: bool = False) -> None:
        self.blocks += 1
        self.table_blocks += tables
        self.trailer_blocks += trailer


@dataclass
class PackState:
    """What a solid archive carries from file to file: window, tables, distance cache, last length."""

    window: int = 0x20000 << 3  # the dictionary size: every distance stays below it
    history: bytes = b""
    tables: tuple[int, ...] | None = None  # the 430 code lengths in force
    distances: tuple[int, int, int, int] = (0, 0, 0, 0)
    last_length: int = 0
    stats: PackStats = field(default_factory=PackStats)


class PackOptions(TypedDict, total=False):
    """The options `archive` passes on to `pack` for every file."""

    block_size: int
    matches: bool
    repeats: bool
    new_tables_every_block: bool


def pack(data: bytes, *, block_size: int = 1 << 16, matches: bool = True, repeats: bool = True,
         filters: Sequence[Filter] = (), new_tables_every_block: bool = False,
         state: PackState | None = None) -> bytes:
    """The packed data area of one file: compressed blocks of about `block_size` input bytes each.

    `state` carries a solid archive's window, tables and distances from file to file and collects
    stats; without it the file starts afresh. Tables are reused whenever they code every symbol of a
    block, unless `new_tables_every_block`; reusable tables give every symbol a code. An empty file
    has no packed data at all: no block to decode.
    """
    state = state if state is not None else PackState()
    if not data:
        return b""
    if block_size < 1:
        raise ValueError("block_size must be positive")
    stored = _apply_filters(data, filters, state.window)
    buf = state.history + stored
    start = len(state.history)
    tokens, sizes = _tokenize(buf, start, _declarations(filters, start), state, matches, repeats)
    packed = _write_blocks(tokens, sizes, state, block_size, new_tables_every_block)
    state.history = buf[-state.window:]
    return packed


def archive(files: Sequence[tuple[str, bytes]], *, solid: bool = False, dict_log: int = 3, method: int = 3,
            filters: Mapping[str, Sequence[Filter]] | None = None, stats: PackStats | None = None,
            **pack_options: Unpack[PackOptions]) -> bytes:
    """A whole RAR 5.0 archive (.rar bytes) of these files, compressed; names may contain '/'.

    The dictionary is 128 KiB << `dict_log`; `method` (1-5) is only recorded, the stream is the same.
    """
    if not 1 <= method <= 5 or not 0 <= dict_log <= 15:
        raise ValueError(f"method {method} or dictionary 128 KiB << {dict_log} not written")
    stats = stats if stats is not None else PackStats()
    window = 0x20000 << dict_log
    state = PackState(window=window, stats=stats)
    out = bytearray(SIGNATURE) + _header(1, varint(0x0004 if solid else 0))
    for index, (name, data) in enumerate(files):
        if not solid:
            state = PackState(window=window, stats=stats)
        packed = pack(data, filters=(filters or {}).get(name, ()), state=state, **pack_options)
        info = method << 7 | dict_log << 10 | (0x40 if solid and index else 0)
        encoded = name.encode()
        fields = (varint(0x0004) + varint(len(data)) + varint(0o644) + struct.pack("<I", zlib.crc32(data))
                  + varint(info) + varint(1) + varint(len(encoded)) + encoded)  # host OS 1: Unix
        out += _header(2, fields, len(packed)) + packed
    return bytes(out + _header(5, varint(0)))


def _header(kind: int, fields: bytes, data_size: int | None = None) -> bytes:
    """A header block: CRC-32, size, type, flags (0x0002: a data area follows), fields."""
    body = varint(kind) + (varint(0) if data_size is None else varint(0x0002) + varint(data_size)) + fields
    size = varint(len(body))
    return struct.pack("<I", zlib.crc32(size + body)) + size + body


# Filters: the forward transforms whose inverses the decoder applies to the file's output.


def _apply_filters(data: bytes, filters: Sequence[Filter], window: int) -> bytes:
    out = bytearray(data)
    end = 0
    for f in filters:
        if f.start < end or f.start + f.length > len(data) or f.length > window:
            raise ValueError(f"filter over {f.length} bytes from {f.start}: overlaps, passes the end or the window")
        end = f.start + f.length
        out[f.start:end] = _forward(out[f.start:end], f)
    return bytes(out)


def _forward(block: bytearray, f: Filter) -> bytearray:
    if f.kind == DELTA:
        out = bytearray()
        for channel in range(f.channels):
            previous = 0
            for byte in block[channel::f.channels]:
                out.append((previous - byte) & 0xFF)
                previous = byte
        return out
    if f.kind == ARM:
        for i in range(0, len(block) - 3, 4):
            if block[i + 3] == 0xEB:
                offset = int.from_bytes(block[i:i + 3], "little") + (f.start + i) // 4
                block[i:i + 3] = (offset & 0xFFFFFF).to_bytes(3, "little")
        return block
    opcodes = (0xE8, 0xE9) if f.kind == E8E9 else (0xE8,)
    i = 0
    while i + 4 < len(block):
        if block[i] in opcodes:
            position = (f.start + i + 1) % _E8_FILE_SIZE
            address = int.from_bytes(block[i + 1:i + 5], "little", signed=True)
            if -position <= address < _E8_FILE_SIZE - position:
                address += position  # the decoder subtracts it again
            elif _E8_FILE_SIZE - position <= address < _E8_FILE_SIZE:
                address -= _E8_FILE_SIZE  # the decoder adds the file size back
            block[i + 1:i + 5] = (address & 0xFFFFFFFF).to_bytes(4, "little")
            i += 4
        i += 1
    return block


def _declarations(filters: Sequence[Filter], start: int) -> dict[int, Token]:
    """Filter tokens by the position in the buffer where each is declared."""
    found: dict[int, Token] = {}
    end = 0
    for f in filters:
        at = max(end, f.start - _FILTER_LEAD)
        fields = [_MAIN, 256, 0]
        for value in (f.start - at, f.length):
            count = max(1, (value.bit_length() + 7) // 8)
            fields += [_RAW, count - 1, 2]
            for k in range(count):
                fields += [_RAW, value >> 8 * k & 0xFF, 8]
        fields += [_RAW, f.kind, 3] + ([_RAW, f.channels - 1, 5] if f.kind == DELTA else [])
        found[start + at] = tuple(fields)
        end = f.start + f.length
    return found


# Matching: tokens from the data.


def _bonus(distance: int) -> int:
    """What the decoder adds to a new match's length for its distance."""
    return (distance > 0x100) + (distance > 0x2000) + (distance > 0x40000)


def _length_code(length: int) -> tuple[int, int, int]:
    """Length slot, extra bits and their count for a length of 2 .. 4097."""
    value = length - 2
    if value < 8:
        return value, 0, 0
    bits = value.bit_length() - 3
    return 4 * (bits + 1) + (value >> bits & 3), value & ((1 << bits) - 1), bits


def _distance_fields(distance: int) -> Token:
    value = distance - 1
    if value < 4:
        return (_DISTANCE, value, 0)
    bits = value.bit_length() - 2
    slot, extra = 2 * (bits + 1) + (value >> bits & 1), value & ((1 << bits) - 1)
    if bits < 4:
        return (_DISTANCE, slot, 0, _RAW, extra, bits)
    return (_DISTANCE, slot, 0, _RAW, extra >> 4, bits - 4, _LOW, extra & 15, 0)


class _Matcher:
    """Hash chains of 3-byte prefixes: earlier positions where a match may start, newest last."""

    def __init__(self, buf: bytes, window: int) -> None:
        self.buf, self.window = buf, window
        self.chains: dict[bytes, list[int]] = {}

    def insert(self, start: int, end: int) -> None:
        buf, chains = self.buf, self.chains
        for j in range(start, min(end, len(buf) - 2)):
            key = buf[j:j + 3]
            chain = chains.get(key)
            if chain is None:
                chains[key] = [j]
            else:
                chain.append(j)

    def longest(self, i: int, limit: int) -> tuple[int, int]:
        """The longest encodable match at `i` (length, distance), or (0, 0)."""
        buf, best, best_distance = self.buf, 0, 0
        chain = self.chains.get(buf[i:i + 3]) if limit >= 3 else None
        for j in reversed((chain or [])[-_CHAIN:]):
            distance = i - j
            if distance >= self.window:
                break
            bonus = _bonus(distance)
            cap = min(limit, _MAX_BASE_LENGTH + bonus)
            if best >= cap or buf[j + best] != buf[i + best]:
                continue
            n = common(buf, i, j, cap)
            if n > best and n >= 2 + bonus:
                best, best_distance = n, distance
        return best, best_distance


Choice = tuple[int, Literal["literal", "last", "repeat", "match"], int, int]  # saving, kind, length, argument


def _choose(buf: bytes, i: int, limit: int, matcher: _Matcher, distances: Sequence[int], last: int,
            repeats: bool) -> Choice:
    """The token at `i` that saves the most bits over literals (estimated), or a literal."""
    options: list[Choice] = [(0, "literal", 1, 0)]
    if repeats and last and 0 < distances[0] <= i and last <= limit \
            and common(buf, i, i - distances[0], last) == last:
        options.append((8 * last - 6, "last", last, 0))
    for index, distance in enumerate(distances if repeats else ()):
        if 0 < distance <= i:
            n = common(buf, i, i - distance, min(limit, _MAX_BASE_LENGTH))
            if n >= 2:
                options.append((8 * n - 7 - index - _length_code(n)[2], "repeat", n, index))
    n, distance = matcher.longest(i, limit)
    if n:
        cost = 13 + _length_code(n - _bonus(distance))[2] + max(0, (distance - 1).bit_length() - 2)
        options.append((8 * n - cost, "match", n, distance))
    return max(options, key=lambda option: option[0])


def _tokenize(buf: bytes, start: int, declarations: Mapping[int, Token], state: PackState, matches: bool,
              repeats: bool) -> tuple[list[Token], list[int]]:
    """The tokens for `buf[start:]` and how many input bytes each covers; updates the distances."""
    matcher = _Matcher(buf, state.window)
    if matches:
        matcher.insert(max(0, start - state.window), start)
    tokens: list[Token] = []
    sizes: list[int] = []
    distances, last = state.distances, state.last_length
    marks = sorted(declarations)
    i, mark = start, 0
    while i < len(buf):
        if mark < len(marks) and marks[mark] == i:
            tokens.append(declarations[i])
            sizes.append(0)
            mark += 1
            continue
        limit = (marks[mark] if mark < len(marks) else len(buf)) - i
        choice = _choose(buf, i, limit, matcher, distances, last, repeats) if matches else (0, "literal", 1, 0)
        _, kind, n, argument = choice
        if kind == "literal":
            tokens.append((_MAIN, buf[i], 0))
        elif kind == "last":
            tokens.append((_MAIN, 257, 0))
        elif kind == "repeat":
            slot, extra, bits = _length_code(n)
            tokens.append((_MAIN, 258 + argument, 0, _LENGTH, slot, 0, _RAW, extra, bits))
            distance = distances[argument]
            rest = [d for k, d in enumerate(distances) if k != argument]
            distances, last = (distance, rest[0], rest[1], rest[2]), n
        else:
            slot, extra, bits = _length_code(n - _bonus(argument))
            tokens.append((_MAIN, 262 + slot, 0, _RAW, extra, bits, *_distance_fields(argument)))
            distances, last = (argument, distances[0], distances[1], distances[2]), n
            state.stats.bonuses[_bonus(argument)] += 1
        sizes.append(n)
        if matches:
            matcher.insert(i, i + n)
        i += n
    state.distances, state.last_length = distances, last
    state.stats.symbols.update(token[1] for token in tokens)
    return tokens, sizes


def _length_runs(lengths: Sequence[int]) -> list[tuple[int, int, int]]:
    """Code lengths as precode symbols with extra bits: 16/17 repeat the previous, 18/19 zeros."""
    items: list[tuple[int, int, int]] = []
    i = 0
    while i < len(lengths):
        value, run = lengths[i], 1
        while i + run < len(lengths) and lengths[i + run] == value:
            run += 1
        i += run
        if value:
            items.append((value, 0, 0))
            run -= 1
        short, long_ = (18, 19) if value == 0 else (16, 17)
        while run >= 11:
            n = min(run, 138)
            items.append((long_, n - 11, 7))
            run -= n
        if run >= 3:
            items.append((short, run - 3, 3))
            run = 0
        items += [(value, 0, 0)] * run
    return items


def _write_tables(writer: BitWriter, lengths: Sequence[int], flat: bool) -> None:
    """The precode's 20 lengths (4 bits, 15 escapes), then the 430 lengths in the precode.
    A `flat` precode gives its symbols equal lengths, so no lookup peeks past its code."""
    items = _length_runs(lengths)
    counts = Counter(symbol for symbol, _, _ in items)
    weights = [counts[symbol] for symbol in range(20)]
    if flat:
        size = max(1, (sum(1 for w in weights if w) - 1).bit_length())
        precode = [size if w else 0 for w in weights]
    else:
        precode = code_lengths(weights)
    i = 0
    while i < 20:
        zeros = 0
        while i + zeros < 20 and precode[i + zeros] == 0 and zeros < 17:
            zeros += 1
        if zeros >= 3:
            writer.write(15 << 4 | zeros - 2, 8)
            i += zeros
            continue
        writer.write(precode[i], 4)
        if precode[i] == 15:
            writer.write(0, 4)
        i += 1
    codes, peek = canonical(precode), lookahead(precode)
    for symbol, extra, bits in items:
        writer.code(codes[symbol], precode[symbol], peek)
        writer.write(extra, bits)


def _new_tables(counts: Sequence[Counter[int]], smooth: bool) -> tuple[int, ...]:
    lengths: list[int] = []
    for table, size in enumerate(TABLE_SIZES):
        lengths += code_lengths([counts[table][symbol] + smooth for symbol in range(size)])
    return tuple(lengths)


def _block(payload: bytes, used_bits: int, tables: bool, last: bool) -> bytes:
    """A block header (flags, check byte, 1-3 size bytes) and its bit stream."""
    size = len(payload)
    count = 1 if size < 0x100 else 2 if size < 0x10000 else 3
    if size >= 1 << 24:
        raise ValueError("a block holds at most 16 MiB; use a smaller block_size")
    flags = (0x80 if tables else 0) | (0x40 if last else 0) | (count - 1) << 3 | (used_bits - 1)
    check = 0x5A ^ flags ^ (size & 0xFF) ^ (size >> 8 & 0xFF) ^ (size >> 16)
    return bytes([flags, check]) + size.to_bytes(count, "little") + payload


def _groups(tokens: list[Token], sizes: list[int], block_size: int) -> list[list[Token]]:
    groups: list[list[Token]] = [[]]
    covered = 0
    for token, size in zip(tokens, sizes, strict=True):
        if covered >= block_size:
            groups.append([])
            covered = 0
        groups[-1].append(token)
        covered += size
    return groups


def _counts(group: list[Token]) -> list[Counter[int]]:
    """How often each table's symbols occur in these tokens."""
    counts: list[Counter[int]] = [Counter() for _ in TABLE_SIZES]
    for token in group:
        for k in range(0, len(token), 3):
            if token[k] != _RAW:
                counts[token[k]][token[k + 1]] += 1
    return counts


def _write_tokens(writer: BitWriter, group: list[Token], lengths: Sequence[int]) -> None:
    per_table = [lengths[start:start + size] for start, size in zip(_STARTS, TABLE_SIZES, strict=True)]
    codes = [canonical(table) for table in per_table]
    peeks = [lookahead(table) for table in per_table]
    for token in group:
        for k in range(0, len(token), 3):
            table, value, bits = token[k:k + 3]
            if table == _RAW:
                writer.write(value, bits)
            else:
                writer.code(codes[table][value], per_table[table][value], peeks[table])


def _write_blocks(tokens: list[Token], sizes: list[int], state: PackState, block_size: int, fresh: bool) -> bytes:
    out = bytearray()
    groups = _groups(tokens, sizes, block_size)
    for index, group in enumerate(groups):
        counts, old = _counts(group), state.tables
        reuse = old is not None and not fresh and all(
            old[_STARTS[table] + symbol] for table in range(4) for symbol in counts[table])
        lengths = old if reuse and old is not None else _new_tables(counts, smooth=not fresh)
        state.tables = lengths
        writer = BitWriter()
        if not reuse:
            _write_tables(writer, lengths, flat=False)
        _write_tokens(writer, group, lengths)
        payload, used = writer.finish()
        last = index == len(groups) - 1
        trailer = last and writer.reach > 8 * len(payload)
        out += _block(payload, used, not reuse, last and not trailer)
        state.stats.count_block(tables=not reuse)
        if trailer:  # the same tables again, so a solid file after this one may still use them
            writer = BitWriter()
            _write_tables(writer, lengths, flat=True)
            out += _block(*writer.finish(), tables=True, last=True)
            state.stats.count_block(tables=True, trailer=True)
    return bytes(out)
