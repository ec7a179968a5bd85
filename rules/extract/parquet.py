"""Apache Parquet files: how data lakes, Spark jobs and pandas keep tables. A customer table
exported as `.parquet` and copied to a USB stick or uploaded was an `unscannable` binary; it is
now read as a table of text: for each row group, a heading ("row group 2 of 5"), a blank line, a
header row of its columns' names and a row a line, cells by tabs, so that a column's name names
the values below it for the detectors ("card_number", "routing_number").

The format is Apache Parquet's (parquet-format: the Thrift definitions and Encodings.md). The
footer (Thrift's compact protocol) gives the schema and each row group's column chunks; a chunk
is a run of pages (a dictionary page, then data pages of version 1 or 2), each compressed with
the chunk's codec; a page holds the repetition and definition levels (how a value nests and
whether it is null) and the values in one of the encodings.

What is read:
- **Schema**: every leaf column, named by its dotted path with the wrapper levels of lists and
  maps left out (a `cards` list of strings is `cards`; a map `m` is `m.key` and `m.value`).
- **Codecs**: none, Snappy, gzip, zstd, LZ4 (raw, and Hadoop's framing). Brotli and LZO are not
  read: the column is named in the problems, the others read.
- **Encodings**: plain, dictionary (RLE_DICTIONARY, PLAIN_DICTIONARY), RLE and bit-packed
  levels and booleans, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY,
  BYTE_STREAM_SPLIT.
- **Values**, as a person reads them: strings; integers, signed or not; true/false; a float with
  no fraction without one (an account number kept as a double); decimals with their scale; dates;
  timestamps (milli-, micro-, nanoseconds and the legacy INT96) in UTC; UUIDs. A list is its
  elements joined by ", "; null is an empty cell; bytes that are not UTF-8 are left out.
- **Encryption**: a file whose footer is encrypted (magic `PARE`) is `encrypted`; columns
  encrypted under a plaintext footer are named, the others read.

Records are put together a page at a time from every column at once, so memory holds a page
per column, not a row group. Every length, offset and count is checked against the file before
it is used; a page's uncompressed size is spent from the budget before it is inflated (a page
claiming gigabytes stops there); the time is checked between pages. A damaged column chunk or
page is named in the problems with what was read before kept; the reader only slices its input.
"""

from __future__ import annotations

import io
import struct
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from rules.extract.budget import Budget, EncryptedContent, Unscannable
from rules.extract.cells import dates, decimals, floats, one_line, texts, timestamp, timestamps

MAGIC, ENCRYPTED_MAGIC = b"PAR1", b"PARE"
_MAX_DEPTH = 64  # of nested Thrift structures, and of the schema
_MAX_FOOTER = 64 << 20
_MAX_PAGE_VALUES = 1 << 20  # a page's values beyond a bit each (nulls, runs): real writers put 20,000 rows on a page
_MAX_BLOCK = 4096  # values in a DELTA_BINARY_PACKED block (writers use 128)

# parquet.thrift enums
_BOOLEAN, _INT32, _INT64, _INT96, _FLOAT, _DOUBLE, _BYTE_ARRAY, _FIXED = range(8)
_REQUIRED, _OPTIONAL, _REPEATED = range(3)
_DATA_PAGE, _INDEX_PAGE, _DICTIONARY_PAGE, _DATA_PAGE_V2 = range(4)
_PLAIN, _PLAIN_DICTIONARY, _RLE, _BIT_PACKED = 0, 2, 3, 4
_DELTA_BINARY_PACKED, _DELTA_LENGTH_BYTE_ARRAY, _DELTA_BYTE_ARRAY, _RLE_DICTIONARY, _BYTE_STREAM_SPLIT = 5, 6, 7, 8, 9
_CODECS = {0: "UNCOMPRESSED", 1: "SNAPPY", 2: "GZIP", 3: "LZO", 4: "BROTLI", 5: "LZ4", 6: "ZSTD", 7: "LZ4_RAW"}
# converted types
_UTF8, _MAP, _MAP_KEY_VALUE, _LIST, _ENUM, _DECIMAL, _DATE = 0, 1, 2, 3, 4, 5, 6
_TIMESTAMP_MILLIS, _TIMESTAMP_MICROS = 9, 10
_UINT_8, _UINT_16, _UINT_32, _UINT_64 = 11, 12, 13, 14
_JSON, _BSON = 19, 20
_JULIAN_EPOCH = 2440588  # the Julian day of 1970-01-01 (INT96 timestamps)
_LENGTH = struct.Struct("<I")
_WRAPPERS = frozenset({"list", "element", "item", "array", "bag", "array_element", "key_value", "map"})


def is_parquet(data: bytes) -> bool:
    """Parquet's magic at both ends; or, at the start, followed by the first page's header (a
    file cut short has lost its end, and a text that happens to start "PAR1" is still text)."""
    if len(data) < 8 or bytes(data[:4]) not in (MAGIC, ENCRYPTED_MAGIC):
        return False
    return bytes(data[-4:]) in (MAGIC, ENCRYPTED_MAGIC) or (data[4] == 0x15 and data[5] in (0, 4, 6))


class _Damaged(Exception):
    pass


# Thrift's compact protocol: a struct is a dict of field id -> value


class _Thrift:
    def __init__(self, data: bytes, at: int, end: int) -> None:
        self.data, self.at, self.end = data, at, end

    def byte(self) -> int:
        if self.at >= self.end:
            raise _Damaged("Thrift data cut short")
        self.at += 1
        return self.data[self.at - 1]

    def varint(self) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise _Damaged("a Thrift varint too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def struct(self, depth: int = 0) -> dict[int, object]:
        if depth > _MAX_DEPTH:
            raise _Damaged("Thrift structures nested too deeply")
        fields: dict[int, object] = {}
        last = 0
        while True:
            head = self.byte()
            if head == 0:
                return fields
            delta, kind = head >> 4, head & 0x0F
            last = last + delta if delta else self.zigzag()
            fields[last] = self.value(kind, depth)

    def value(self, kind: int, depth: int) -> object:
        if kind in (1, 2):  # a boolean field: its value is the type
            return kind == 1
        if kind == 3:
            return struct.unpack("b", bytes([self.byte()]))[0]
        if kind in (4, 5, 6):
            return self.zigzag()
        if kind == 7:
            if self.at + 8 > self.end:
                raise _Damaged("Thrift data cut short")
            self.at += 8
            return struct.unpack_from("<d", self.data, self.at - 8)[0]
        if kind == 8:
            size = self.varint()
            if self.at + size > self.end:
                raise _Damaged("a Thrift string runs past its data")
            self.at += size
            return bytes(self.data[self.at - size:self.at])
        if kind in (9, 10):
            head = self.byte()
            size, element = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            if size > self.end - self.at:
                raise _Damaged("a Thrift list longer than its data")
            if element in (1, 2):  # booleans in a list: a byte each
                return [self.byte() == 1 for _ in range(size)]
            return [self.value(element, depth + 1) for _ in range(size)]
        if kind == 11:
            size = self.varint()
            if size == 0:
                return {}
            if size > self.end - self.at:
                raise _Damaged("a Thrift map longer than its data")
            types = self.byte()
            return {self._key(self.value(types >> 4, depth + 1)): self.value(types & 0x0F, depth + 1) for _ in range(size)}
        if kind == 12:
            return self.struct(depth + 1)
        raise _Damaged(f"an unknown Thrift type {kind}")

    @staticmethod
    def _key(value: object) -> object:
        return value if isinstance(value, int | bytes | float | bool) else repr(value)


def _int(fields: dict[int, object], key: int, default: int | None = None) -> int:
    value = fields.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Damaged(f"field {key} is not a number")
    return value


def _struct(fields: dict[int, object], key: int) -> dict[int, object] | None:
    value = fields.get(key)
    return value if isinstance(value, dict) else None


@dataclass
class _Leaf:
    """A leaf column: its name, levels and how its values are written as text."""

    name: str
    physical: int
    length: int
    max_def: int
    max_rep: int
    show: Callable[[list[object]], list[str | None]]


@dataclass
class _Node:
    element: dict[int, object]
    children: list[_Node] = field(default_factory=list)


def parquet_content(data: bytes, budget: Budget, what: str) -> tuple[str, list[str]]:
    """The text of every row group, and what could not be read."""
    if not is_parquet(data):
        raise Unscannable(f"{what}: not a Parquet file")
    if bytes(data[-4:]) == ENCRYPTED_MAGIC:
        raise EncryptedContent(f"{what}: a Parquet file with an encrypted footer")
    if len(data) < 12 or bytes(data[-4:]) != MAGIC:
        raise Unscannable(f"{what}: a Parquet file cut short (its footer, which lists its columns and pages, is gone)")
    try:
        size = struct.unpack_from("<I", data, len(data) - 8)[0]
        if not 0 < size <= min(_MAX_FOOTER, len(data) - 12):
            raise _Damaged(f"a footer of {size} bytes in a file of {len(data)}")
        footer = _Thrift(data, len(data) - 8 - size, len(data) - 8).struct()
        leaves = _schema(footer)
        groups = footer.get(4, [])
        if not isinstance(groups, list):
            raise _Damaged("its row groups are not a list")
    except (_Damaged, struct.error, RecursionError) as exc:
        raise Unscannable(f"{what}: damaged Parquet file ({exc})") from None
    problems: list[str] = []
    texts: list[str] = []
    used = 0
    header = "\t".join(one_line(leaf.name) for leaf in leaves) + "\n"
    encrypted = chunks = 0
    try:
        for number, group in enumerate(groups, start=1):
            texts.append(f"row group {number} of {len(groups)}\n\n{header}")
            if not isinstance(group, dict):
                problems.append(f"{what}: row group {number} is damaged")
                continue
            columns, locked = _chunks(data, group, leaves, budget, problems, f"{what}: row group {number}")
            encrypted, chunks = encrypted + locked, chunks + len(leaves)
            for lines in _lines(columns):
                block = "\n".join(lines) + "\n"
                texts.append(block)
                used += len(block)
                budget.check_time()
                if used > budget.limits.max_text_chars:
                    raise Unscannable(f"text beyond {budget.limits.max_text_chars} characters")
            texts.append("\n")
    except Unscannable as exc:  # the time limit, the text limit, the budget: what was read is kept
        problems.append(f"{what}: {exc}")
    if encrypted and encrypted == chunks:
        raise EncryptedContent(f"{what}: a Parquet file whose every column is encrypted")
    return "".join(texts), problems


def _lines(columns: list[Iterator[list[str]]]) -> Iterator[list[str]]:
    """The rows of a row group, joined by tabs, a batch at a time: as many as every column has
    cells for (a column that ended early, damaged, gives empty cells)."""
    buffers: list[list[str]] = [[] for _ in columns]
    offsets, ended = [0] * len(columns), [False] * len(columns)
    while True:
        for index, column in enumerate(columns):
            while not ended[index] and offsets[index] >= len(buffers[index]):
                batch = next(column, None)
                if batch is None:
                    ended[index] = True
                else:
                    buffers[index], offsets[index] = batch, 0
        left = [len(buffer) - offset for buffer, offset in zip(buffers, offsets, strict=True) if offset < len(buffer)]
        if not left:
            return
        take = min(left)
        slices = []
        for index, buffer in enumerate(buffers):
            at = offsets[index]
            if at < len(buffer):
                slices.append(buffer[at:at + take])
                offsets[index] = at + take
            else:
                slices.append([""] * take)
        yield ["\t".join(row) for row in zip(*slices, strict=True)]


def _schema(footer: dict[int, object]) -> list[_Leaf]:
    elements = footer.get(2)
    if not isinstance(elements, list) or not elements or not all(isinstance(e, dict) for e in elements):
        raise _Damaged("it has no schema")
    at = 0

    def build(depth: int) -> _Node:
        nonlocal at
        if at >= len(elements) or depth > _MAX_DEPTH:
            raise _Damaged("its schema is cut short or nested too deeply")
        node = _Node(elements[at])
        at += 1
        for _ in range(_int(node.element, 5, 0)):
            node.children.append(build(depth + 1))
        return node

    root = build(0)
    leaves: list[_Leaf] = []
    for child in root.children:
        _walk(child, [], 0, 0, False, leaves)
    if not leaves:
        raise _Damaged("its schema has no columns")
    return leaves


def _walk(node: _Node, path: list[str], max_def: int, max_rep: int, wrapper: bool, leaves: list[_Leaf]) -> None:
    element = node.element
    name = element.get(4)
    name = name.decode("utf-8", "replace") if isinstance(name, bytes) else "?"
    repetition = _int(element, 3, _REQUIRED)
    max_def += repetition != _REQUIRED
    max_rep += repetition == _REPEATED
    shown = path if wrapper and name.lower() in _WRAPPERS else [*path, name]
    if not node.children:
        leaves.append(_Leaf(".".join(shown), _int(element, 1, _BYTE_ARRAY), _int(element, 2, 0), max_def, max_rep,
                            _shower(element)))
        return
    logical = _struct(element, 10) or {}
    converted = element.get(6)
    # a list's or map's repeated group and a list's element are wrappers: their names are left out
    container = converted in (_LIST, _MAP, _MAP_KEY_VALUE) or 3 in logical or 2 in logical
    for child in node.children:
        inner = container or (wrapper and name.lower() in _WRAPPERS and len(node.children) == 1)
        _walk(child, shown, max_def, max_rep, inner, leaves)


def _shower(element: dict[int, object]) -> Callable[[list[object]], list[str | None]]:
    """How a page of a leaf's values is written as text (None for a value that cannot be), by its
    physical, converted and logical types."""
    physical = _int(element, 1, _BYTE_ARRAY)
    converted = element.get(6)
    logical = _struct(element, 10) or {}
    if 5 in logical or converted == _DECIMAL:
        decimal = _struct(logical, 5) or {}
        scale = _int(decimal, 1, _int(element, 7, 0)) if decimal else _int(element, 7, 0)
        return lambda values: decimals(values, scale)
    if 8 in logical or converted in (_TIMESTAMP_MILLIS, _TIMESTAMP_MICROS):
        unit = _struct(_struct(logical, 8) or {}, 2) or {}
        per_second = 1000 if (1 in unit or converted == _TIMESTAMP_MILLIS) else 10**9 if 3 in unit else 10**6
        return lambda values: timestamps(values, per_second)
    if physical == _INT96:
        return lambda values: [_int96(v) for v in values]
    if 6 in logical or converted == _DATE:
        return dates
    if 14 in logical and physical == _FIXED:
        return lambda values: [str(uuid.UUID(bytes=v)) if isinstance(v, bytes) and len(v) == 16 else None
                               for v in values]
    integer = _struct(logical, 10)
    unsigned = converted in (_UINT_8, _UINT_16, _UINT_32, _UINT_64) or (
        integer is not None and integer.get(2) is False)
    if unsigned and physical in (_INT32, _INT64):
        mask = (1 << (32 if physical == _INT32 else 64)) - 1
        return lambda values: [str(v & mask) if isinstance(v, int) else None for v in values]
    if physical == _BOOLEAN:
        return lambda values: ["true" if v else "false" for v in values]
    if physical == _FLOAT:
        return lambda values: floats(values, ".7g")
    if physical == _DOUBLE:
        return lambda values: floats(values, ".15g")
    if physical in (_INT32, _INT64):
        return lambda values: list(map(str, values))
    return texts


def _int96(value: object) -> str | None:
    """Spark's and Impala's legacy timestamps: nanoseconds of the day, then the Julian day."""
    if not isinstance(value, bytes) or len(value) != 12:
        return None
    nanos, day = struct.unpack("<qi", value)
    return timestamp((day - _JULIAN_EPOCH) * 86_400 * 10**9 + nanos, 10**9)


def _chunks(data: bytes, group: dict[int, object], leaves: list[_Leaf], budget: Budget, problems: list[str],
            where: str) -> tuple[list[Iterator[list[str]]], int]:
    """A generator of each column's cells, one a record, and how many columns are encrypted."""
    chunks = group.get(1)
    if not isinstance(chunks, list):
        problems.append(f"{where}: its column chunks are damaged")
        return [], 0
    columns: list[Iterator[list[str]]] = []
    encrypted = 0
    for index, leaf in enumerate(leaves):
        chunk = chunks[index] if index < len(chunks) and isinstance(chunks[index], dict) else None
        meta = _struct(chunk, 3) if chunk is not None else None
        if chunk is not None and meta is None and 9 in chunk:
            encrypted += 1
            problems.append(f"{where}: column {leaf.name} is encrypted")
            columns.append(iter(()))
        elif meta is None:
            problems.append(f"{where}: column {leaf.name} has no metadata")
            columns.append(iter(()))
        else:
            columns.append(_column(data, meta, leaf, budget, problems, f"{where}: column {leaf.name}"))
    return columns, encrypted


def _column(data: bytes, meta: dict[int, object], leaf: _Leaf, budget: Budget, problems: list[str],
            where: str) -> Iterator[list[str]]:
    """The cells of one column chunk, one a record (a list's elements joined), a page at a time."""
    try:
        codec = _int(meta, 4, 0)
        values = _int(meta, 5, 0)
        if values == 0:  # a row group without rows: nothing to read, wherever its pages would be
            return
        start = _int(meta, 9)
        dictionary_at = meta.get(11)
        if isinstance(dictionary_at, int) and 0 < dictionary_at < start:
            start = dictionary_at
        end = start + _int(meta, 7, 0)
        if not 4 <= start <= end <= len(data) - 8:
            raise _Damaged("its pages lie outside the file")
        if codec not in _INFLATERS:
            raise _Damaged(f"compressed with {_CODECS.get(codec, str(codec))}, which is not read")
        pending: list[str] | None = None
        for levels, shown in _pages(data, start, end, values, codec, leaf, budget):
            if not leaf.max_rep:
                yield shown
                continue
            reps, defs = levels
            taken = 0
            records: list[str] = []
            for rep, level in zip(reps, defs, strict=False):
                if rep == 0:
                    if pending is not None:
                        records.append(", ".join(pending))
                    pending = []
                if level == leaf.max_def:
                    if pending is not None and taken < len(shown):
                        cell = shown[taken]
                        if cell:
                            pending.append(cell)
                    taken += 1
            yield records
        if pending is not None:
            yield [", ".join(pending)]
    except (_Damaged, struct.error, IndexError, ValueError, TypeError, zlib.error, OverflowError) as exc:
        problems.append(f"{where}: {exc}")


def _pages(data: bytes, at: int, end: int, values: int, codec: int, leaf: _Leaf,
           budget: Budget) -> Iterator[tuple[tuple[list[int], list[int]], list[str]]]:
    """Each data page's levels (repetition, definition) and its cells: for a column without
    repetition, one a record (empty for null); with it, one a present value."""
    dictionary: list[str] | None = None
    seen = 0
    while at < end and seen < values:
        budget.check_time()
        reader = _Thrift(data, at, end)
        header = reader.struct()
        kind, raw_size, stored_size = _int(header, 1), _int(header, 2), _int(header, 3)
        body_at = reader.at
        # values a page may hold: a bit each at least, or many more nulls and repeats than that
        most = max(8 * raw_size + 1024, _MAX_PAGE_VALUES)
        if stored_size < 0 or raw_size < 0 or body_at + stored_size > end:
            raise _Damaged("a page runs past its column chunk")
        body = data[body_at:body_at + stored_size]
        at = body_at + stored_size
        if kind == _DICTIONARY_PAGE:
            page = _inflate(body, raw_size, codec, budget)
            dictionary_header = _struct(header, 7) or {}
            count = _count(_int(dictionary_header, 1, 0), most)
            dictionary = _show_all(leaf, _plain(page, 0, count, leaf))
        elif kind == _DATA_PAGE:
            page_header = _struct(header, 5) or {}
            count = _count(_int(page_header, 1, 0), most)
            page = _inflate(body, raw_size, codec, budget)
            pos, reps = _v1_levels(page, 0, count, leaf.max_rep)
            pos, defs = _v1_levels(page, pos, count, leaf.max_def)
            present = count if not leaf.max_def else defs.count(leaf.max_def)
            cells = _values(page, pos, present, _int(page_header, 2, _PLAIN), leaf, dictionary)
            seen += count
            yield (reps, defs), _spread(cells, defs, leaf)
        elif kind == _DATA_PAGE_V2:
            page_header = _struct(header, 8) or {}
            count, nulls = _count(_int(page_header, 1, 0), most), _int(page_header, 2, 0)
            def_size, rep_size = _int(page_header, 5, 0), _int(page_header, 6, 0)
            if not 0 <= rep_size + def_size <= len(body) or def_size < 0 or rep_size < 0:
                raise _Damaged("a page's levels run past it")
            reps = _hybrid(body, 0, rep_size, _width(leaf.max_rep), count) if leaf.max_rep else [0] * count
            defs = (_hybrid(body, rep_size, rep_size + def_size, _width(leaf.max_def), count) if leaf.max_def
                    else [0] * count)
            stored = body[rep_size + def_size:]
            compressed = page_header.get(7, True) is not False
            page = _inflate(stored, raw_size - rep_size - def_size, codec, budget) if compressed else stored
            present = count - nulls if leaf.max_def else count
            cells = _values(page, 0, present, _int(page_header, 4, _PLAIN), leaf, dictionary)
            seen += count
            yield (reps, defs), _spread(cells, defs, leaf)
        elif kind != _INDEX_PAGE:
            raise _Damaged(f"a page of unknown type {kind}")


def _count(count: int, most: int) -> int:
    if not 0 <= count <= most:
        raise _Damaged(f"a page of {count} values")
    return count


def _spread(cells: list[str], defs: list[int], leaf: _Leaf) -> list[str]:
    """A column without repetition: one cell a record, empty where it is null."""
    if leaf.max_rep or not leaf.max_def or defs.count(leaf.max_def) == len(defs):
        return cells
    out, taken = [], 0
    for level in defs:
        if level == leaf.max_def and taken < len(cells):
            out.append(cells[taken])
            taken += 1
        else:
            out.append("")
    return out


def _values(page: bytes, pos: int, count: int, encoding: int, leaf: _Leaf, dictionary: list[str] | None) -> list[str]:
    if encoding in (_PLAIN_DICTIONARY, _RLE_DICTIONARY):
        if dictionary is None:
            raise _Damaged("a dictionary-encoded page before its dictionary")
        if pos >= len(page):
            if count:
                raise _Damaged("a dictionary page's indices are missing")
            return []
        indices = _hybrid(page, pos + 1, len(page), page[pos], count)
        if len(indices) < count or (indices and max(indices) >= len(dictionary)):
            raise _Damaged("a dictionary index past the dictionary")
        return [dictionary[i] for i in indices]
    return _show_all(leaf, _decoded(page, pos, count, encoding, leaf))


def _show_all(leaf: _Leaf, values: list[object]) -> list[str]:
    """The cells of a page's values (the leaf's `show`, a page at a time)."""
    shown = leaf.show(values)
    if None in shown:
        shown = ["" if text is None else text for text in shown]
    cells = cast(list[str], shown)
    joined = "".join(cells)
    if "\t" in joined or "\n" in joined or "\r" in joined:
        return [one_line(text) for text in cells]
    return cells


def _decoded(page: bytes, pos: int, count: int, encoding: int, leaf: _Leaf) -> list[object]:
    if encoding == _PLAIN:
        return _plain(page, pos, count, leaf)
    if encoding == _RLE and leaf.physical == _BOOLEAN:  # a 4-byte length, then 1-bit runs
        size = struct.unpack_from("<I", page, pos)[0]
        return [bool(v) for v in _hybrid(page, pos + 4, pos + 4 + size, 1, count)]
    if encoding == _DELTA_BINARY_PACKED:
        numbers = _delta_binary(page, pos, count)[0]
        if leaf.physical == _INT32:  # an INT32 column's deltas wrap at 32 bits
            return [((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31) for v in numbers]
        return list(numbers)
    if encoding == _DELTA_LENGTH_BYTE_ARRAY:
        lengths, pos = _delta_binary(page, pos, count)
        out: list[object] = []
        for length in lengths:
            if length < 0 or pos + length > len(page):
                raise _Damaged("a value runs past its page")
            out.append(page[pos:pos + length])
            pos += length
        return out
    if encoding == _DELTA_BYTE_ARRAY:
        prefixes, pos = _delta_binary(page, pos, count)
        lengths, pos = _delta_binary(page, pos, count)
        out, last = [], b""
        for prefix, length in zip(prefixes, lengths, strict=True):
            if prefix < 0 or length < 0 or prefix > len(last) or pos + length > len(page):
                raise _Damaged("a value runs past its page")
            last = last[:prefix] + page[pos:pos + length]
            out.append(last)
            pos += length
        return out
    if encoding == _BYTE_STREAM_SPLIT:
        width = {_INT32: 4, _FLOAT: 4, _INT64: 8, _DOUBLE: 8, _FIXED: leaf.length}.get(leaf.physical, 0)
        if width <= 0 or pos + width * count > len(page):
            raise _Damaged("byte streams run past their page")
        streams = [page[pos + k * count:pos + (k + 1) * count] for k in range(width)]
        joined = bytes(b for row in zip(*streams, strict=True) for b in row)
        return _plain(joined, 0, count, leaf)
    raise _Damaged(f"values in an encoding not read ({encoding})")


def _plain(page: bytes, pos: int, count: int, leaf: _Leaf) -> list[object]:
    physical = leaf.physical
    if count < 0:
        raise _Damaged("a negative count of values")
    if physical == _BYTE_ARRAY:
        out: list[object] = []
        length, append = _LENGTH.unpack_from, out.append
        try:
            for _ in range(count):
                start = pos + 4
                pos = start + length(page, pos)[0]
                append(page[start:pos])
        except struct.error:
            raise _Damaged("a value runs past its page") from None
        if pos > len(page):
            raise _Damaged("a value runs past its page")
        return out
    if physical == _BOOLEAN:
        if pos + (count + 7) // 8 > len(page):
            raise _Damaged("values run past their page")
        return [bool(page[pos + i // 8] >> (i % 8) & 1) for i in range(count)]
    width, form = {_INT32: (4, "i"), _INT64: (8, "q"), _FLOAT: (4, "f"), _DOUBLE: (8, "d")}.get(physical, (0, ""))
    if form:
        if pos + width * count > len(page):
            raise _Damaged("values run past their page")
        return list(struct.unpack_from(f"<{count}{form}", page, pos))
    width = 12 if physical == _INT96 else leaf.length
    if width <= 0 or pos + width * count > len(page):
        raise _Damaged("values run past their page")
    return [page[pos + i * width:pos + (i + 1) * width] for i in range(count)]


def _width(max_level: int) -> int:
    return max_level.bit_length()


def _v1_levels(page: bytes, pos: int, count: int, max_level: int) -> tuple[int, list[int]]:
    """A version 1 page's levels: a 4-byte length, then the RLE/bit-packed hybrid."""
    if not max_level:
        return pos, [0] * count
    size = struct.unpack_from("<I", page, pos)[0]
    if pos + 4 + size > len(page):
        raise _Damaged("a page's levels run past it")
    return pos + 4 + size, _hybrid(page, pos + 4, pos + 4 + size, _width(max_level), count)


def _hybrid(data: bytes, pos: int, end: int, width: int, count: int) -> list[int]:
    """The RLE / bit-packed hybrid: runs of one repeated value, and groups of 8 packed values."""
    if width > 32:
        raise _Damaged(f"a bit width of {width}")
    out: list[int] = []
    value_bytes = (width + 7) // 8
    while len(out) < count and pos < end:
        header, pos = _uvarint(data, pos, end)
        if header & 1:  # bit-packed: header >> 1 groups of 8
            groups = header >> 1
            size = groups * width
            if pos + size > end:
                size = (end - pos) // width * width  # the last group may be cut where the values end
                groups = size // width
            if width:  # unpacked all at once: the bits, least significant first, width at a time
                bits = np.unpackbits(np.frombuffer(data, np.uint8, groups * width, pos), bitorder="little")
                out.extend(bits.reshape(-1, width).dot(1 << np.arange(width, dtype=np.int64)).tolist())
            else:
                out.extend([0] * (8 * groups))
            pos += groups * width
            if groups == 0:
                break
        else:
            run = header >> 1
            if pos + value_bytes > end:
                raise _Damaged("a run's value runs past its data")
            value = int.from_bytes(data[pos:pos + value_bytes], "little")
            pos += value_bytes
            out.extend([value] * min(run, count - len(out)))
    if len(out) < count:
        raise _Damaged(f"{count} levels or indices said, {len(out)} found")
    return out[:count]


def _uvarint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise _Damaged("a varint runs past its data")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _delta_binary(data: bytes, pos: int, count: int) -> tuple[list[int], int]:
    """DELTA_BINARY_PACKED: a header (block size, miniblocks a block, count, first value), then
    blocks of a minimum delta, the miniblocks' bit widths and the packed deltas."""
    end = len(data)
    block, pos = _uvarint(data, pos, end)
    miniblocks, pos = _uvarint(data, pos, end)
    total, pos = _uvarint(data, pos, end)
    first, pos = _uvarint(data, pos, end)
    if not miniblocks or block > _MAX_BLOCK or block % miniblocks or (block // miniblocks) % 8 or total > count:
        raise _Damaged("a damaged DELTA_BINARY_PACKED header")
    per_mini = block // miniblocks
    value = (first >> 1) ^ -(first & 1)
    out = [value] if total else []
    while len(out) < total:
        delta, pos = _uvarint(data, pos, end)
        least = (delta >> 1) ^ -(delta & 1)
        if pos + miniblocks > end:
            raise _Damaged("DELTA_BINARY_PACKED widths run past the page")
        widths = data[pos:pos + miniblocks]
        pos += miniblocks
        for width in widths:
            if len(out) >= total:
                break
            size = per_mini * width // 8
            if width > 64 or pos + size > end:
                raise _Damaged("a DELTA_BINARY_PACKED miniblock runs past the page")
            packed = int.from_bytes(data[pos:pos + size], "little")
            mask = (1 << width) - 1
            for i in range(min(per_mini, total - len(out))):
                value += least + ((packed >> (i * width)) & mask)
                out.append(value)
            pos += size
    # the 64-bit arithmetic of the writer wraps: values are signed 64-bit
    return [((v + (1 << 63)) & ((1 << 64) - 1)) - (1 << 63) for v in out[:count]], pos


def _inflate(body: bytes, size: int, codec: int, budget: Budget) -> bytes:
    """A page's bytes, decompressed to the size its header gives, within the budget (spent
    before anything is inflated: a page claiming gigabytes stops there)."""
    if codec == 0:
        return body
    budget.spend(size, "a Parquet page")
    out = _INFLATERS[codec](body, size, budget)
    if len(out) != size:
        raise _Damaged(f"a page inflates to {len(out)} bytes, not the {size} its header gives")
    return out


def _gzip(body: bytes, size: int, _budget: Budget) -> bytes:
    return zlib.decompressobj(47).decompress(body, size + 1)  # gzip or zlib, told by the header


def _snappy(body: bytes, size: int, _budget: Budget) -> bytes:
    """Raw Snappy, decoded by cramjam's native code once its own length (a varint first, which
    bounds what the decoder writes) is the page's."""
    import cramjam

    said, _ = _uvarint(body, 0, min(len(body), 10))
    if said != size:
        raise _Damaged(f"Snappy data of {said} bytes in a page of {size}")
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError as exc:
        raise _Damaged(f"damaged Snappy data ({exc})") from None


def _zstd(body: bytes, size: int, _budget: Budget) -> bytes:
    import zstandard

    try:
        return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body)).read(size + 1)
    except zstandard.ZstdError as exc:
        raise _Damaged(f"damaged zstd data ({exc})") from None


def _lz4_raw(body: bytes, size: int, _budget: Budget) -> bytes:
    import lz4.block

    try:
        return bytes(lz4.block.decompress(body, uncompressed_size=size))
    except lz4.block.LZ4BlockError as exc:
        raise _Damaged(f"damaged LZ4 data ({exc})") from None


def _lz4_hadoop(body: bytes, size: int, budget: Budget) -> bytes:
    """The deprecated LZ4 codec: Hadoop's framing (big-endian sizes before each block), or a raw
    block as some writers put there."""
    out, pos = bytearray(), 0
    try:
        while pos + 8 <= len(body) and len(out) < size:
            raw, stored = struct.unpack_from(">II", body, pos)
            if raw > size - len(out) or pos + 8 + stored > len(body):
                raise _Damaged("not Hadoop's framing")
            out += _lz4_raw(body[pos + 8:pos + 8 + stored], raw, budget)
            pos += 8 + stored
        if pos == len(body):
            return bytes(out)
    except _Damaged:
        pass
    return _lz4_raw(body, size, budget)


_INFLATERS: dict[int, Callable[[bytes, int, Budget], bytes]] = {
    0: lambda body, size, budget: body, 1: _snappy, 2: _gzip, 5: _lz4_hadoop, 6: _zstd, 7: _lz4_raw,
}
