"""Apache Avro object container files (.avro): what Kafka connectors, Hadoop jobs and data
pipelines write records to. A `.avro` export was an `unscannable` binary; it is now read as a
table of text: the heading "Avro records", a blank line, a header row of the record's fields (a
nested record's fields as `a.b`), then a record a line, cells by tabs, so a field's name
("card_number") names the values below it for the detectors.

The format is the Avro specification's: the magic `Obj` 1, the file's metadata (its schema as
JSON and its codec), a 16-byte sync marker, then blocks of a count of records, their size, the
records (compressed by the codec) and the marker again. Records are decoded by the schema in
Avro's binary encoding: zig-zag varints, length-prefixed bytes and strings, unions by branch,
arrays and maps in blocks. Values are written as a person reads them: decimals with their
scale, dates, timestamps (milli-, micro-, nanoseconds, local or not) as ISO, enums by symbol; an
array or map is its items joined by ", " in one cell; null is an empty cell.

Codecs: null, deflate, snappy, zstandard, bzip2, xz; a block's decompressed size is spent from
the budget. Every count, length and block is checked against the data; a damaged block is named
with the records before it kept; the time is checked between blocks.
"""

from __future__ import annotations

import bz2
import io
import json
import lzma
import struct
import uuid
import zlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from rules.extract.budget import Budget, Unscannable

MAGIC = b"Obj\x01"
_MAX_DEPTH = 32
_EPOCH = datetime(1970, 1, 1)

Reader = Callable[[bytes, int], tuple[str, int]]


class _Damaged(Exception):
    pass


def is_avro(data: bytes) -> bool:
    return bytes(data[:4]) == MAGIC


def _long(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _Damaged("a number runs past its data")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7


def _bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    size, pos = _long(data, pos)
    if size < 0 or pos + size > len(data):
        raise _Damaged("a value runs past its data")
    return data[pos:pos + size], pos + size


def avro_content(data: bytes, budget: Budget, what: str) -> tuple[str, list[str]]:
    """The text of every record, and what could not be read."""
    if not is_avro(data):
        raise Unscannable(f"{what}: not an Avro file")
    try:
        metadata, pos = _metadata(data, 4)
        schema = json.loads(metadata.get("avro.schema", b"null").decode("utf-8"))
        codec = metadata.get("avro.codec", b"null").decode("ascii", "replace")
        if codec not in _CODECS:
            raise Unscannable(f"{what}: an Avro file compressed with {codec}, which is not read")
        names, reader = _compile(schema)
        sync = data[pos:pos + 16]
        pos += 16
        if len(sync) != 16:
            raise _Damaged("the sync marker is cut short")
    except (_Damaged, ValueError, UnicodeDecodeError, RecursionError, KeyError, TypeError) as exc:
        raise Unscannable(f"{what}: damaged Avro file ({exc})") from None
    lines = ["Avro records\n\n" + "\t".join(names) + "\n"]
    problems: list[str] = []
    used = 0
    try:
        while pos < len(data):
            budget.check_time()
            count, pos = _long(data, pos)
            size, pos = _long(data, pos)
            if count < 0 or size < 0 or pos + size + 16 > len(data):
                raise _Damaged(f"a block of {count} records and {size} bytes runs past the file")
            block = _CODECS[codec](data[pos:pos + size], budget)
            pos += size
            if data[pos:pos + 16] != sync:
                raise _Damaged("a block's sync marker does not match the file's")
            pos += 16
            at = 0
            for _ in range(count):
                text, at = reader(block, at)
                line = text + "\n"
                lines.append(line)
                used += len(line)
            if used > budget.limits.max_text_chars:
                raise Unscannable(f"text beyond {budget.limits.max_text_chars} characters")
    except (_Damaged, struct.error, IndexError, ValueError, zlib.error, lzma.LZMAError, OSError, EOFError,
            RecursionError) as exc:
        problems.append(f"{what}: damaged Avro block ({exc}); the records before it were read")
    except Unscannable as exc:
        problems.append(f"{what}: {exc}")
    return "".join(lines) + "\n", problems


def _metadata(data: bytes, pos: int) -> tuple[dict[str, bytes], int]:
    out: dict[str, bytes] = {}
    while True:
        count, pos = _long(data, pos)
        if count == 0:
            return out, pos
        if count < 0:
            count = -count
            _, pos = _long(data, pos)
        if count > len(data) - pos:
            raise _Damaged("metadata longer than the file")
        for _ in range(count):
            key, pos = _bytes(data, pos)
            value, pos = _bytes(data, pos)
            out[key.decode("utf-8", "replace")] = value


# -- the schema, compiled into readers: a record's fields as cells, anything else as one cell --


def _compile(schema: Any) -> tuple[list[str], Reader]:
    named: dict[str, Any] = {}
    if isinstance(schema, dict) and schema.get("type") == "record":
        names, cells = _fields(schema, named, "", 0, set())

        def record(data: bytes, pos: int) -> tuple[str, int]:
            out: list[str] = []
            pos = cells(data, pos, out)
            return "\t".join(out), pos

        return names, record
    value = _value(schema, named, 0)
    return ["value"], lambda data, pos: value(data, pos)


CellsReader = Callable[[bytes, int, list[str]], int]


def _fields(schema: dict[str, Any], named: dict[str, Any], prefix: str, depth: int,
            open_records: set[str]) -> tuple[list[str], CellsReader]:
    """A record's leaf names and a reader appending one cell a leaf: nested records (plain, or
    in a union with null) are flattened; anything else is one cell."""
    if depth > _MAX_DEPTH:
        raise _Damaged("a schema nested too deeply")
    _register(schema, named)
    name = str(schema.get("name", ""))
    open_records = open_records | {name}
    names: list[str] = []
    readers: list[CellsReader] = []
    for field in schema.get("fields", []):
        label = f"{prefix}{field['name']}"
        kind = _resolve(field["type"], named)
        record = _nested_record(kind, named, open_records)
        if record is not None:
            branch, record_schema = record
            inner_names, inner = _fields(record_schema, named, f"{label}.", depth + 1, open_records)
            names += inner_names
            readers.append(_optional(branch, inner, len(inner_names)))
            continue
        names.append(_cell(label))
        readers.append(_as_cell(_value(kind, named, depth + 1)))

    def cells(data: bytes, pos: int, out: list[str]) -> int:
        for reader in readers:
            pos = reader(data, pos, out)
        return pos

    return names, cells


def _nested_record(kind: Any, named: dict[str, Any], open_records: set[str]) -> tuple[int | None, dict[str, Any]] | None:
    """A record to flatten, and its branch when it is one of two in a union with null."""
    if isinstance(kind, dict) and kind.get("type") == "record" and kind.get("name") not in open_records:
        return None, kind
    if isinstance(kind, list) and len(kind) == 2 and "null" in kind:
        other = _resolve(kind[1 - kind.index("null")], named)
        if isinstance(other, dict) and other.get("type") == "record" and other.get("name") not in open_records:
            return 1 - kind.index("null"), other
    return None


def _optional(branch: int | None, inner: CellsReader, width: int) -> CellsReader:
    if branch is None:
        return inner

    def read(data: bytes, pos: int, out: list[str]) -> int:
        index, pos = _long(data, pos)
        if index == branch:
            return inner(data, pos, out)
        if index != 1 - branch:
            raise _Damaged(f"a union branch {index} the schema lacks")
        out.extend([""] * width)  # null: every leaf of the record empty
        return pos

    return read


def _as_cell(reader: Reader) -> CellsReader:
    def read(data: bytes, pos: int, out: list[str]) -> int:
        text, pos = reader(data, pos)
        out.append(_cell(text))
        return pos

    return read


def _register(schema: Any, named: dict[str, Any]) -> None:
    if isinstance(schema, dict) and schema.get("type") in ("record", "enum", "fixed", "error") and "name" in schema:
        name = str(schema["name"])
        named[name] = schema
        if "namespace" in schema and "." not in name:
            named[f"{schema['namespace']}.{name}"] = schema


def _resolve(kind: Any, named: dict[str, Any]) -> Any:
    if isinstance(kind, str) and kind in named:
        return named[kind]
    if isinstance(kind, dict) and isinstance(kind.get("type"), str | list) and kind.get("type") not in (
            "record", "enum", "fixed", "array", "map", "error") and not kind.get("logicalType"):
        return _resolve(kind["type"], named)  # {"type": "string"} and the like
    return kind


def _value(kind: Any, named: dict[str, Any], depth: int) -> Reader:
    """A reader of one value as text."""
    if depth > _MAX_DEPTH:
        raise _Damaged("a schema nested too deeply")
    if isinstance(kind, str) and kind not in _PRIMITIVES:
        return _late(kind, named, depth)  # a named type: compiled when first met (it may be recursive)
    kind = _resolve(kind, named)
    if isinstance(kind, list):
        branches = [_value(k, named, depth + 1) for k in kind]

        def union(data: bytes, pos: int) -> tuple[str, int]:
            index, pos = _long(data, pos)
            if not 0 <= index < len(branches):
                raise _Damaged(f"a union branch {index} the schema lacks")
            return branches[index](data, pos)

        return union
    if isinstance(kind, str):
        return _PRIMITIVES[kind]
    if not isinstance(kind, dict):
        raise _Damaged(f"a schema of {type(kind).__name__}")
    _register(kind, named)
    logical = kind.get("logicalType")
    base = kind.get("type")
    if logical == "decimal" and base in ("bytes", "fixed"):
        return _decimal(kind, int(kind.get("scale", 0)))
    if logical in _LOGICAL and base in ("int", "long"):
        convert = _LOGICAL[logical]
        return lambda data, pos: _converted(data, pos, convert)
    if base == "record" or base == "error":
        names, cells = _fields(kind, named, "", depth + 1, set())

        def record(data: bytes, pos: int) -> tuple[str, int]:
            out: list[str] = []
            pos = cells(data, pos, out)
            return ", ".join(f"{n}: {v}" for n, v in zip(names, out, strict=True) if v), pos

        return record
    if base == "enum":
        symbols = [str(s) for s in kind.get("symbols", [])]

        def enum(data: bytes, pos: int) -> tuple[str, int]:
            index, pos = _long(data, pos)
            return (symbols[index] if 0 <= index < len(symbols) else ""), pos

        return enum
    if base == "fixed":
        size = int(kind.get("size", 0))
        if size < 0:
            raise _Damaged("a fixed of negative size")

        def fixed(data: bytes, pos: int) -> tuple[str, int]:
            if pos + size > len(data):
                raise _Damaged("a fixed value runs past its block")
            raw = data[pos:pos + size]
            if logical == "uuid" and size == 16:
                return str(uuid.UUID(bytes=raw)), pos + size
            return _printable(raw), pos + size

        return fixed
    if base in ("array", "map"):
        item = _value(kind.get("items" if base == "array" else "values"), named, depth + 1)
        return _blocks(item, base == "map")
    return _value(base, named, depth + 1)


def _late(name: str, named: dict[str, Any], depth: int) -> Reader:
    """A named type, compiled on first use: a recursive record is compiled as deep as the data
    goes (to `_MAX_DEPTH`), not forever."""
    cache: list[Reader] = []

    def read(data: bytes, pos: int) -> tuple[str, int]:
        if not cache:
            if name not in named:
                raise _Damaged(f"an unknown type {name!r}")
            cache.append(_value(named[name], named, depth + 1))
        return cache[0](data, pos)

    return read


def _blocks(item: Reader, keyed: bool) -> Reader:
    def read(data: bytes, pos: int) -> tuple[str, int]:
        parts: list[str] = []
        while True:
            count, pos = _long(data, pos)
            if count == 0:
                return ", ".join(p for p in parts if p), pos
            if count < 0:
                count = -count
                _, pos = _long(data, pos)
            if count > len(data) - pos + 1:
                raise _Damaged("a block of more items than its data holds")
            for _ in range(count):
                if keyed:
                    key, pos = _bytes(data, pos)
                    text, pos = item(data, pos)
                    parts.append(f"{key.decode('utf-8', 'replace')}: {text}")
                else:
                    text, pos = item(data, pos)
                    parts.append(text)

    return read


def _converted(data: bytes, pos: int, convert: Callable[[int], str]) -> tuple[str, int]:
    number, pos = _long(data, pos)
    try:
        return convert(number), pos
    except (OverflowError, ValueError):
        return str(number), pos


def _timestamp(per_second: int) -> Callable[[int], str]:
    def convert(value: int) -> str:
        seconds, fraction = divmod(value, per_second)
        moment = _EPOCH + timedelta(seconds=seconds, microseconds=fraction * 10**6 // per_second)
        shown = moment.isoformat(" ")
        return shown if moment.microsecond else shown[:19]

    return convert


_LOGICAL: dict[str, Callable[[int], str]] = {
    "date": lambda days: (date(1970, 1, 1) + timedelta(days=days)).isoformat(),
    "timestamp-millis": _timestamp(1000), "timestamp-micros": _timestamp(10**6),
    "timestamp-nanos": _timestamp(10**9), "local-timestamp-millis": _timestamp(1000),
    "local-timestamp-micros": _timestamp(10**6), "local-timestamp-nanos": _timestamp(10**9),
}


def _decimal(kind: dict[str, Any], scale: int) -> Reader:
    size = int(kind.get("size", -1)) if kind.get("type") == "fixed" else -1

    def read(data: bytes, pos: int) -> tuple[str, int]:
        if size >= 0:
            raw, pos = data[pos:pos + size], pos + size
        else:
            raw, pos = _bytes(data, pos)
        number = int.from_bytes(raw, "big", signed=True)
        return (f"{Decimal(f'{number}e-{scale}'):f}" if 0 <= scale <= 76 else str(number)), pos

    return read


def _printable(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return ""  # bytes that are not text: left out


def _float(width: int) -> Reader:
    form = "<f" if width == 4 else "<d"

    def read(data: bytes, pos: int) -> tuple[str, int]:
        if pos + width > len(data):
            raise _Damaged("a number runs past its block")
        number = struct.unpack_from(form, data, pos)[0]
        if number == number and abs(number) < 1e17 and number.is_integer():
            return str(int(number)), pos + width
        return format(number, ".7g" if width == 4 else ".15g"), pos + width

    return read


def _string(data: bytes, pos: int) -> tuple[str, int]:
    raw, pos = _bytes(data, pos)
    return raw.decode("utf-8", "replace"), pos


def _binary(data: bytes, pos: int) -> tuple[str, int]:
    raw, pos = _bytes(data, pos)
    return _printable(raw), pos


def _number(data: bytes, pos: int) -> tuple[str, int]:
    value, pos = _long(data, pos)
    return str(value), pos


def _boolean(data: bytes, pos: int) -> tuple[str, int]:
    if pos >= len(data):
        raise _Damaged("a boolean runs past its block")
    return ("true" if data[pos] else "false"), pos + 1


_PRIMITIVES: dict[str, Reader] = {
    "null": lambda data, pos: ("", pos), "boolean": _boolean, "int": _number, "long": _number,
    "float": _float(4), "double": _float(8), "bytes": _binary, "string": _string,
}


def _cell(text: str) -> str:
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


# -- codecs, each bounded by the budget --


def _deflate(block: bytes, budget: Budget) -> bytes:
    cap = budget.allowance()
    out = zlib.decompressobj(-15).decompress(block, cap + 1)
    budget.spend(len(out), "an Avro block")
    return out


def _snappy(block: bytes, budget: Budget) -> bytes:
    from rules.extract.iwork import unsnappy

    if len(block) < 4:
        raise _Damaged("a Snappy block without its checksum")
    out = unsnappy(block[:-4], budget, "an Avro block")
    if zlib.crc32(out) != struct.unpack(">I", block[-4:])[0]:
        raise _Damaged("a Snappy block whose checksum does not match")
    return out


def _stream(opener: Callable[[io.BytesIO], Any]) -> Callable[[bytes, Budget], bytes]:
    def inflate(block: bytes, budget: Budget) -> bytes:
        cap = budget.allowance()
        with opener(io.BytesIO(block)) as stream:
            out: bytes = stream.read(cap + 1)
        budget.spend(len(out), "an Avro block")
        return out

    return inflate


def _zstd(block: bytes, budget: Budget) -> bytes:
    import zstandard

    cap = budget.allowance()
    try:
        out: bytes = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(block)).read(cap + 1)
    except zstandard.ZstdError as exc:
        raise _Damaged(f"damaged zstd data ({exc})") from None
    budget.spend(len(out), "an Avro block")
    return out


_CODECS: dict[str, Callable[[bytes, Budget], bytes]] = {
    "null": lambda block, budget: block, "deflate": _deflate, "snappy": _snappy,
    "zstandard": _zstd, "bzip2": _stream(bz2.BZ2File), "xz": _stream(lzma.LZMAFile),
}
