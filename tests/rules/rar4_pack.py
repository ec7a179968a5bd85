"""A RAR 4.x archive writer with RAR 2.9 LZ compression (unpack version 29), written for tests.

No free program writes RAR archives, so the reader's RAR 2.9 decoder is tested on what this writer
packs: a greedy hash-chain matcher that also uses every shortcut of the format (the last match
again, the four last distances, two-byte matches at short distances, the repeated low distance
bits), coded with canonical Huffman tables that may be sent as changes to the previous ones. No
PPMd blocks, no filters. The Unarchiver's `unar` extracts its output byte for byte
(tests/rules/test_rar4_pack.py), so the format is checked by a reader that is not ours.

What Debian's `unar` (1.10.1) needs beyond the format:
- It reads on past a file's size until the end-of-file symbol (256, bit 0, then a bit saying
  whether the next file of a solid archive starts with new tables), and only then moves to the
  next file's packed data: every file's data ends with it.
- An empty file in a solid run is not skipped: its data is an end-of-file symbol too, after the
  tables in force sent again as no changes (so a reader that does skip it loses nothing). An
  empty file before any compressed one has no data and is written stored (method 0x30).
- It peeks min(longest code, 10) bits for each Huffman symbol and fails when fewer are left in
  the file's packed data (see rar5_pack), so the data is padded with zero bytes.
- Names use backslashes between directories: a '/' is kept as part of a name.
"""

from __future__ import annotations

import bisect
import struct
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Literal, TypedDict, Unpack

from tests.rules.rar_bits import BitWriter, canonical, code_lengths, common, lookahead

SIGNATURE = b"Rar!\x1a\x07\x00"
TABLE_SIZES = (299, 60, 17, 28)  # main symbols, distance slots, low distance bits, lengths of old distances
_STARTS = tuple(accumulate(TABLE_SIZES[:-1], initial=0))
_MAIN, _DISTANCE, _LOW, _LENGTH, _RAW = 0, 1, 2, 3, -1
END, LAST, OLD, SHORT, MATCH = 256, 258, 259, 263, 271  # main symbols: end of block, first of each kind
LENGTH_BITS = (0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5)
LENGTH_BASES = tuple(accumulate((1 << bits for bits in LENGTH_BITS[:-1]), initial=0))
DISTANCE_BITS = (0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
                 14, 14, 15, 15) + (16,) * 14 + (18,) * 12
DISTANCE_BASES = tuple(accumulate((1 << bits for bits in DISTANCE_BITS[:-1]), initial=0))
SHORT_BITS = (2, 2, 3, 4, 5, 6, 6, 6)
SHORT_BASES = tuple(accumulate((1 << bits for bits in SHORT_BITS[:-1]), initial=0))
_SHORT_REACH = SHORT_BASES[-1] + (1 << SHORT_BITS[-1])  # 256: the farthest two-byte match
LOW_REPEAT = 16  # the low distance symbol that reuses the last low bits for this and 15 more matches
_LOW_SLOTS = 10  # distance slots from here code their low 4 bits in the low distance table
_MAX_MATCH = LENGTH_BASES[-1] + 31 + 3  # before the length bonus
_MAX_OLD = LENGTH_BASES[-1] + 31 + 2
_CHAIN = 24  # candidates tried per position
_DOS_TIME = (2024 - 1980) << 25 | 1 << 21 | 2 << 16 | 3 << 11 | 4 << 5  # 2024-01-02 03:04:00

# A token is the fields it is written as: (table, value, bit count) triples; table _RAW is plain bits,
# the others are Huffman codes (count unused). The first triple is always the main symbol.
Token = tuple[int, ...]


@dataclass
class PackStats:
    """What the encoder emitted, so a test can tell that its case was really exercised."""

    symbols: Counter[int] = field(default_factory=Counter)  # main symbols (literals, 256 ends, 258-298)
    lows: Counter[int] = field(default_factory=Counter)  # low distance symbols, 16 = LOW_REPEAT
    implied_lows: int = 0  # matches whose low bits an earlier LOW_REPEAT supplied
    bonuses: Counter[int] = field(default_factory=Counter)  # new matches by length bonus (0-2)
    tables: int = 0  # table sets written
    kept_tables: int = 0  # of them, sent as changes to the previous set
    carried: int = 0  # files that start on the tables of the file before

    def kinds(self) -> Counter[str]:
        """Main symbols by kind: literal, end, last, old, short, match."""
        found: Counter[str] = Counter()
        for symbol, count in self.symbols.items():
            kind = ("literal" if symbol < END else "end" if symbol == END else "last" if symbol == LAST
                    else "old" if symbol < SHORT else "short" if symbol < MATCH else "match")
            found[kind] += count
        return found


@dataclass
class PackState:
    """What the decoder keeps from block to block and, in a solid archive, from file to file."""

    window: int = 0x400000  # the dictionary: 64 KiB << 0..6; every distance stays below it
    history: bytes = b""
    distances: tuple[int, int, int, int] = (0, 0, 0, 0)
    last: tuple[int, int] = (0, 0)  # length and distance symbol 258 repeats
    lengths: tuple[int, ...] = (0,) * sum(TABLE_SIZES)  # the code lengths in force: new ones are changes to them
    carried: bool = False  # the file before ended saying that no new tables follow
    low: int = 0  # the last low distance bits and how many matches still take them without a symbol
    low_left: int = 0
    low_streak: int = 0  # matches in a row with the same low bits (when a LOW_REPEAT pays)
    stats: PackStats = field(default_factory=PackStats)

    def __post_init__(self) -> None:
        if self.window not in {0x10000 << k for k in range(7)}:
            raise ValueError(f"dictionary of {self.window} bytes: RAR 2.9 has 64 KiB to 4 MiB, powers of 2")


class PackOptions(TypedDict, total=False):
    """The options `archive` passes on to `pack` for every file."""

    block_size: int
    matches: bool
    repeats: bool
    keep_old_table: bool
    carry_tables: bool


def pack(data: bytes, *, state: PackState | None = None, block_size: int = 1 << 16, matches: bool = True,
         repeats: bool = True, keep_old_table: bool = False, carry_tables: bool = False) -> bytes:
    """The packed data of one file: LZ blocks, each starting with its Huffman tables.

    A block covers about `block_size` input bytes. `keep_old_table` sends each table set as changes
    to the one before; `carry_tables` ends the file saying the next file of a solid archive goes on
    with the last tables (which then code every symbol). `repeats` off leaves out symbols 258-262
    and LOW_REPEAT. `state` carries a solid archive's window and decoder state and collects stats.
    """
    state = state if state is not None else PackState()
    if block_size < 1:
        raise ValueError("block_size must be positive")
    if not data and not state.history:
        return b""  # nothing to decode, and no solid stream to go on with
    buf = state.history + data
    i = start = len(state.history)
    matcher = _Matcher(buf, state.window) if matches else None
    if matcher:
        matcher.insert(max(0, start - state.window), start)
    writer = BitWriter()
    while True:
        tables = i > start or not state.carried
        if tables:
            state.low = state.low_left = state.low_streak = 0  # the decoder resets them with each table set
        tokens, i = _tokenize(buf, i, i + block_size, matcher, state, repeats)
        last = i == len(buf)
        tokens.append((_MAIN, END, 0, _RAW, 0 if carry_tables else 1, 2) if last else (_MAIN, END, 0, _RAW, 1, 1))
        state.stats.symbols[END] += 1
        _write_block(writer, tokens, state, tables=tables, smooth=last and carry_tables, keep=keep_old_table)
        if last:
            break
    state.carried = carry_tables
    state.history = buf[-state.window:]
    payload, _ = writer.finish()
    return payload + bytes(max(0, -(-writer.reach // 8) - len(payload)))


def archive(files: Sequence[tuple[str, bytes]], *, solid: bool = False, method: int = 0x33,
            window: int = 0x400000, stats: PackStats | None = None, **pack_options: Unpack[PackOptions]) -> bytes:
    """A whole RAR 4.x archive (RAR 2.9 compression, unpack version 29) of these files.

    `method` (0x31 fastest .. 0x35 best) is only recorded; names may contain '/' and any character
    (non-ASCII ones are written as UTF-8 with the Unicode flag).
    """
    if not 0x31 <= method <= 0x35:
        raise ValueError(f"method {method:#x} is not a RAR compression method")
    stats = stats if stats is not None else PackStats()
    state = PackState(window=window, stats=stats)
    out = bytearray(SIGNATURE) + _header(0x73, 0x0008 if solid else 0, bytes(6))  # MHD_SOLID
    compressed = False
    for name, data in files:
        if not solid:
            state = PackState(window=window, stats=stats)
        packed = pack(data, state=state, **pack_options)
        flags = (0x8000 | (window.bit_length() - 17) << 5 | (0x0010 if solid and compressed else 0)
                 | (0 if name.isascii() else 0x0200))  # LONG_BLOCK, dictionary, LHD_SOLID, LHD_UNICODE
        encoded = name.replace("/", "\\").encode()  # RAR 4.x separates directories with backslashes
        fields = struct.pack("<IIBIIBBHI", len(packed), len(data), 3, zlib.crc32(data), _DOS_TIME, 29,
                             method if packed else 0x30, len(encoded), 0o100644)  # host OS 3: Unix
        out += _header(0x74, flags, fields + encoded) + packed
        compressed = compressed or bool(packed)
    return bytes(out + _header(0x7B, 0x4000, b""))


def _header(kind: int, flags: int, rest: bytes) -> bytes:
    """A block header: CRC-16 (the CRC-32's low half) of the rest, type, flags, size, fields."""
    head = struct.pack("<BHH", kind, flags, 7 + len(rest)) + rest
    return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head


# Matching: tokens from the data.


def _bonus(distance: int) -> int:
    """What the decoder adds to a new match's length for its distance."""
    return (distance >= 0x2000) + (distance >= 0x40000)


def _slot(bases: Sequence[int], bits: Sequence[int], value: int) -> tuple[int, int, int]:
    """The slot of `value` in a table of bases, its extra bits and their count."""
    slot = bisect.bisect_right(bases, value) - 1
    return slot, value - bases[slot], bits[slot]


class _Matcher:
    """Hash chains of 3-byte prefixes (newest last) and the last position of each 2-byte one."""

    def __init__(self, buf: bytes, window: int) -> None:
        self.buf, self.window = buf, window
        self.chains: dict[bytes, list[int]] = {}
        self.pairs: dict[bytes, int] = {}

    def insert(self, start: int, end: int) -> None:
        buf, chains, pairs = self.buf, self.chains, self.pairs
        for j in range(start, min(end, len(buf) - 1)):
            pairs[buf[j:j + 2]] = j
            key = buf[j:j + 3]
            chain = chains.get(key)
            if chain is None:
                chains[key] = [j]
            else:
                chain.append(j)

    def longest(self, i: int, limit: int, low: int | None) -> tuple[int, int]:
        """The longest encodable new match at `i` (length, distance), or (0, 0); with `low`, a
        distance coded in the low distance table must have those low bits."""
        buf, best, best_distance = self.buf, 0, 0
        for j in reversed(self.chains.get(buf[i:i + 3], [])[-_CHAIN:] if limit >= 3 else []):
            distance = i - j
            if distance >= self.window:
                break
            if low is not None and distance > DISTANCE_BASES[_LOW_SLOTS] and (distance - 1) & 15 != low:
                continue
            bonus = _bonus(distance)
            cap = min(limit, _MAX_MATCH + bonus)
            if best >= cap or buf[j + best] != buf[i + best]:
                continue
            n = common(buf, i, j, cap)
            if n > best and n >= 3 + bonus:
                best, best_distance = n, distance
        return best, best_distance

    def short(self, i: int) -> int:
        """A distance of at most 256 with the same two bytes as at `i`, or 0."""
        j = self.pairs.get(self.buf[i:i + 2])
        return i - j if j is not None and i - j <= _SHORT_REACH else 0


Choice = tuple[int, Literal["literal", "last", "old", "short", "match"], int, int]  # saving, kind, length, argument


def _choose(buf: bytes, i: int, matcher: _Matcher, state: PackState, repeats: bool) -> Choice:
    """The token at `i` that saves the most bits over literals (estimated), or a literal."""
    limit = len(buf) - i
    options: list[Choice] = [(0, "literal", 1, 0)]
    length, distance = state.last
    if repeats and length and distance <= i and length <= limit and common(buf, i, i - distance, length) == length:
        options.append((8 * length - 6, "last", length, 0))
    for index, distance in enumerate(state.distances if repeats else ()):
        if 0 < distance <= i:
            n = common(buf, i, i - distance, min(limit, _MAX_OLD))
            if n >= 2:
                options.append((8 * n - 7 - index - _slot(LENGTH_BASES, LENGTH_BITS, n - 2)[2], "old", n, index))
    n, distance = matcher.longest(i, limit, state.low if state.low_left else None)
    if n:
        bits = _slot(LENGTH_BASES, LENGTH_BITS, n - 3 - _bonus(distance))[2] + _slot(
            DISTANCE_BASES, DISTANCE_BITS, distance - 1)[2]
        options.append((8 * n - 15 - bits, "match", n, distance))
    distance = matcher.short(i) if limit >= 2 else 0
    if distance:
        options.append((16 - 6 - _slot(SHORT_BASES, SHORT_BITS, distance - 1)[2], "short", 2, distance))
    return max(options, key=lambda option: option[0])


def _tokenize(buf: bytes, i: int, stop: int, matcher: _Matcher | None, state: PackState,
              repeats: bool) -> tuple[list[Token], int]:
    """Tokens from `i` until they cover `stop` (or the end), and where they end; updates the state."""
    tokens: list[Token] = []
    while i < min(stop, len(buf)):
        _, kind, n, argument = _choose(buf, i, matcher, state, repeats) if matcher else (0, "literal", 1, 0)
        if kind == "literal":
            token: Token = (_MAIN, buf[i], 0)
        elif kind == "last":
            token = (_MAIN, LAST, 0)
        elif kind == "old":
            distance = state.distances[argument]
            slot, extra, bits = _slot(LENGTH_BASES, LENGTH_BITS, n - 2)
            token = (_MAIN, OLD + argument, 0, _LENGTH, slot, 0, _RAW, extra, bits)
            rest = [d for k, d in enumerate(state.distances) if k != argument]
            state.distances, state.last = (distance, rest[0], rest[1], rest[2]), (n, distance)
        else:
            token = _short_token(argument) if kind == "short" else _match_token(n, argument, state, repeats)
            state.distances, state.last = (argument, *state.distances[:3]), (n, argument)
        state.stats.symbols[token[1]] += 1
        tokens.append(token)
        if matcher:
            matcher.insert(i, i + n)
        i += n
    return tokens, i


def _short_token(distance: int) -> Token:
    slot, extra, bits = _slot(SHORT_BASES, SHORT_BITS, distance - 1)
    return (_MAIN, SHORT + slot, 0, _RAW, extra, bits)


def _match_token(n: int, distance: int, state: PackState, repeats: bool) -> Token:
    bonus = _bonus(distance)
    state.stats.bonuses[bonus] += 1
    slot, extra, bits = _slot(LENGTH_BASES, LENGTH_BITS, n - 3 - bonus)
    fields = [_MAIN, MATCH + slot, 0, _RAW, extra, bits]
    slot, extra, bits = _slot(DISTANCE_BASES, DISTANCE_BITS, distance - 1)
    fields += [_DISTANCE, slot, 0]
    if slot < _LOW_SLOTS:
        return (*fields, _RAW, extra, bits)
    if bits > 4:
        fields += [_RAW, extra >> 4, bits - 4]
    return (*fields, *_low_fields(extra & 15, state, repeats))


def _low_fields(low: int, state: PackState, repeats: bool) -> Token:
    """The low distance symbol for these low bits, if one is due; a LOW_REPEAT once three matches
    in a row had the same ones."""
    state.low_streak = state.low_streak + 1 if low == state.low else 1
    if state.low_left:
        if low != state.low:
            raise RuntimeError("a match was chosen against the repeated low distance bits")
        state.low_left -= 1
        state.stats.implied_lows += 1
        return ()
    symbol = LOW_REPEAT if repeats and low == state.low and state.low_streak >= 3 else low
    state.low, state.low_left = low, 15 if symbol == LOW_REPEAT else 0
    state.stats.lows[symbol] += 1
    return (_LOW, symbol, 0)


# Huffman tables and the bit stream.


def _new_lengths(tokens: list[Token], smooth: bool) -> tuple[int, ...]:
    """Code lengths for these tokens; `smooth` gives every symbol a code, so later data can use them."""
    counts: list[Counter[int]] = [Counter() for _ in TABLE_SIZES]
    for token in tokens:
        for k in range(0, len(token), 3):
            if token[k] != _RAW:
                counts[token[k]][token[k + 1]] += 1
    lengths: list[int] = []
    for table, size in enumerate(TABLE_SIZES):
        lengths += code_lengths([counts[table][symbol] + smooth for symbol in range(size)])
    return tuple(lengths)


def _run(lengths: Sequence[int], i: int, value: int) -> int:
    n = 0
    while i + n < len(lengths) and lengths[i + n] == value and n < 138:
        n += 1
    return n


def _length_items(lengths: Sequence[int], old: Sequence[int]) -> list[tuple[int, int, int]]:
    """Code lengths as precode symbols with extra bits: 0-15 add to the old length (mod 16), 16/17
    repeat the previous new length, 18/19 write zeros."""
    items: list[tuple[int, int, int]] = []
    i = 0
    while i < len(lengths):
        zeros = _run(lengths, i, 0)
        same = _run(lengths, i, lengths[i - 1]) if i else 0
        if zeros >= 3 or same >= 3:
            n, short = (zeros, 18) if zeros >= 3 else (same, 16)
            items.append((short, n - 3, 3) if n <= 10 else (short + 1, n - 11, 7))
            i += n
        else:
            items.append(((lengths[i] - old[i]) & 15, 0, 0))
            i += 1
    return items


def _write_tables(writer: BitWriter, lengths: Sequence[int], old: Sequence[int] | None) -> None:
    """Byte-aligned: bit 0 (LZ, not PPMd), the keep-old-table bit, the precode's 20 lengths (4 bits;
    15 is followed by 4 bits: 0 for a 15, else that many zeros less 2), then the 404 lengths."""
    writer.write(0, -writer.count % 8)
    writer.write(0, 1)
    writer.write(old is not None, 1)
    items = _length_items(lengths, old if old is not None else (0,) * len(lengths))
    counts = Counter(symbol for symbol, _, _ in items)
    precode = code_lengths([counts[symbol] for symbol in range(20)])
    i = 0
    while i < 20:
        zeros = min(_run(precode, i, 0), 17)
        if zeros >= 3:
            writer.write(15 << 4 | zeros - 2, 8)
            i += zeros
            continue
        writer.write(precode[i] << 4 if precode[i] == 15 else precode[i], 8 if precode[i] == 15 else 4)
        i += 1
    codes, peek = canonical(precode), lookahead(precode)
    for symbol, extra, bits in items:
        writer.code(codes[symbol], precode[symbol], peek)
        writer.write(extra, bits)


def _write_block(writer: BitWriter, tokens: list[Token], state: PackState, *, tables: bool, smooth: bool,
                 keep: bool) -> None:
    """A block: its tables unless it goes on with those in force, then its tokens. An empty file of a
    solid archive (its end symbol alone) sends the tables in force again, as no changes."""
    if not tables:
        state.stats.carried += 1
    else:
        empty = len(tokens) == 1
        lengths = state.lengths if empty else _new_lengths(tokens, smooth)
        _write_tables(writer, lengths, state.lengths if keep or empty else None)
        state.lengths = lengths
        state.stats.tables += 1
        state.stats.kept_tables += keep or empty
    _write_tokens(writer, tokens, state.lengths)


def _write_tokens(writer: BitWriter, tokens: list[Token], lengths: Sequence[int]) -> None:
    per_table = [lengths[start:start + size] for start, size in zip(_STARTS, TABLE_SIZES, strict=True)]
    codes = [canonical(table) for table in per_table]
    peeks = [lookahead(table) for table in per_table]
    for token in tokens:
        for k in range(0, len(token), 3):
            table, value, bits = token[k:k + 3]
            if table == _RAW:
                writer.write(value, bits)
            elif per_table[table][value]:
                writer.code(codes[table][value], per_table[table][value], peeks[table])
            else:
                raise ValueError(f"symbol {value} of table {table} has no code in the tables carried over")
