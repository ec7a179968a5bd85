"""Apache ORC files: how Hive, Presto/Trino and Spark keep tables. A customer table exported as
`.orc` and copied or uploaded was an `unscannable` binary; it is now read as a table of text, as
Parquet is: for each stripe, a heading ("stripe 2 of 5"), a blank line, a header row of the
columns' names and a row a line, cells by tabs, so that a column's name names the values below
it for the detectors ("card_number", "routing_number").

The format is Apache ORC's specification (v1: the protobuf messages of orc_proto.proto and the
encodings). The file ends with a postscript (its length the last byte) that gives the codec and
the footer's length; the footer gives the type tree and the stripes; each stripe ends with a
footer listing its streams (kind, column, length, in file order) and each column's encoding. A
stream is a run of chunks, each with a 3-byte header (its length, and whether it is stored).

What is read:
- **Codecs**: none, zlib (raw deflate), Snappy, LZ4 and zstd. LZO is not read: the file is named.
- **Encodings**: byte RLE, boolean RLE, integer RLE version 1 and 2 (short repeat, direct,
  patched base, delta), direct and dictionary strings, decimals as varints with their scale,
  timestamps as seconds from 2015 and nanoseconds.
- **Types**: every one. A struct's fields are columns `a.b`; a list is one cell, its elements
  joined by ", " (a list of structs: a column per field, `l.x`); a map gives `m.key` and `m.value`;
  a union's cell is its chosen value's. Values are written as `rules.extract.cells` says;
  timestamps as the wall-clock time written (with the writer's time zone from its stripe footer),
  timestamps with a time zone in UTC.
- **Encryption** (ORC 1.6's column encryption): encrypted columns are named, the others read; a
  file whose every column is encrypted is `encrypted`.

Memory: a stream is inflated a chunk at a time, as its decoder needs bytes, and rows are read in
batches, so memory holds a chunk per stream and a batch of rows, not a stripe. Every length,
offset and count is checked against the file before it is used; each chunk's inflated size is
bounded by the file's block size and spent from the budget; the time is checked between
batches. A damaged stripe is named in the problems with the rows read before it kept.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from rules.extract.budget import Budget, EncryptedContent, Unscannable
from rules.extract.cells import dates, decimals, floats, one_line, texts, timestamps
from rules.extract.iwork import protobuf_fields

MAGIC = b"ORC"
_MAX_TAIL = 64 << 20  # footer and metadata: the footer of a file of a million stripes is far less
_MAX_BLOCK = 64 << 20  # a chunk inflates to at most the file's block size (256 KiB by default)
_BATCH = 4096  # rows a batch
_MAX_ELEMENTS = 1 << 24  # list elements in a batch of rows (a batch of 4,096 embeddings of 1,536 floats is 6.3 M)
_DECIMAL_BYTES = 20  # a decimal's varint: 128 bits and a sign
_MAX_DEPTH = 64  # nesting of types

# type kinds
(_BOOLEAN, _BYTE, _SHORT, _INT, _LONG, _FLOAT, _DOUBLE, _STRING, _BINARY, _TIMESTAMP, _LIST, _MAP,
 _STRUCT, _UNION, _DECIMAL, _DATE, _VARCHAR, _CHAR, _TIMESTAMP_INSTANT) = range(19)
# stream kinds
_PRESENT, _DATA, _LENGTH, _DICTIONARY_DATA, _SECONDARY = 0, 1, 2, 3, 5
# column encodings
_DIRECT, _DICTIONARY, _DIRECT_V2, _DICTIONARY_V2 = range(4)
_CODECS = {0: "none", 1: "zlib", 2: "snappy", 3: "lzo", 4: "lz4", 5: "zstd"}
_ORC_EPOCH = 1_420_070_400  # 2015-01-01 00:00:00 UTC, in seconds from 1970
_WIDTHS: list[int] = [*range(1, 25), 26, 28, 30, 32, 40, 48, 56, 64]  # integer RLE v2's 5-bit width codes


class _Damaged(Exception):
    """Bytes that do not hold what the format says they must."""


def is_orc(data: bytes) -> bool:
    """ORC's magic at the start, and a postscript at the end (its last field the magic again);
    or binary bytes right after the magic (a file cut short has lost its end; a text that starts
    "ORC" is still text)."""
    if len(data) < 4 or bytes(data[:3]) != MAGIC:
        return False
    if _postscript(data) is not None:
        return True
    head = bytes(data[3:64])
    return any(byte < 9 or 13 < byte < 32 for byte in head)


def _postscript(data: bytes) -> dict[int, object] | None:
    size = data[-1]
    if not 0 < size < len(data) - 3:
        return None
    raw = bytes(data[len(data) - 1 - size:len(data) - 1])
    fields = protobuf_fields(raw)
    if fields is None:
        return None
    message = _message(fields)
    return message if message.get(8000) == [MAGIC] else None


def _message(fields: list[tuple[int, int | bytes]]) -> dict[int, object]:
    """Each field number's values, in order (protobuf's repeated fields; a single one is a list
    of one)."""
    message: dict[int, object] = {}
    for number, value in fields:
        message.setdefault(number, [])
        message[number].append(value)  # type: ignore[attr-defined]
    return message


def _one(message: dict[int, object], number: int, default: int = 0) -> int:
    values = message.get(number)
    value = values[-1] if isinstance(values, list) and values else default
    if not isinstance(value, int):
        raise _Damaged(f"field {number} is not a number")
    return value


def _bytes_field(message: dict[int, object], number: int) -> bytes:
    values = message.get(number)
    value = values[-1] if isinstance(values, list) and values else b""
    if not isinstance(value, bytes):
        raise _Damaged(f"field {number} is not bytes")
    return value


def _parts(message: dict[int, object], number: int) -> list[dict[int, object]]:
    """A repeated message field's messages."""
    out = []
    for value in message.get(number, []):  # type: ignore[attr-defined]
        fields = protobuf_fields(value) if isinstance(value, bytes) else None
        if fields is None:
            raise _Damaged(f"field {number} is not a message")
        out.append(_message(fields))
    return out


def _numbers(message: dict[int, object], number: int) -> list[int]:
    """A repeated number field, packed or not."""
    out: list[int] = []
    for value in message.get(number, []):  # type: ignore[attr-defined]
        if isinstance(value, int):
            out.append(value)
        else:
            pos = 0
            while pos < len(value):
                item, pos = _varint(value, pos)
                out.append(item)
    return out


def _varint(data: bytes, pos: int, most: int = 10) -> tuple[int, int]:
    """A base-128 varint of at most `most` bytes (19 for a decimal of 38 digits)."""
    value = shift = 0
    while True:
        if pos >= len(data) or shift >= 7 * most:
            raise _Damaged("a varint runs past its bytes")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7


# --- reading the file ------------------------------------------------------------------------

class _File:
    def __init__(self, data: bytes, budget: Budget, what: str) -> None:
        self.data, self.budget, self.what = data, budget, what
        postscript = _postscript(data)
        if postscript is None:
            raise Unscannable(f"{what}: an ORC file cut short (its postscript, which says how it is laid out, is gone)")
        self.codec = _one(postscript, 2)
        self.block = _one(postscript, 3, 256 << 10)
        if self.codec not in _CODECS:
            raise _Damaged(f"an unknown codec ({self.codec})")
        if self.codec == 3:
            raise Unscannable(f"{what}: an ORC file compressed with LZO, which is not read")
        if self.codec and not 0 < self.block <= _MAX_BLOCK:
            raise _Damaged(f"a block size of {self.block}")
        footer_size = _one(postscript, 1)
        end = len(data) - 1 - data[-1]
        if not 0 < footer_size <= min(end - 3, _MAX_TAIL):
            raise _Damaged(f"a footer of {footer_size} bytes")
        footer = protobuf_fields(_Stream(self, end - footer_size, end).read_all())
        if footer is None:
            raise _Damaged("its footer is not a footer")
        self.footer = _message(footer)
        self.types = _parts(self.footer, 4)
        self.stripes = _parts(self.footer, 3)
        if not self.types:
            raise _Damaged("no types")
        self.encrypted = self._encrypted_columns()

    def _encrypted_columns(self) -> set[int]:
        """Columns under ORC 1.6's column encryption (the footer's encryption: its variants, each
        a root column whose subtree is encrypted)."""
        columns: set[int] = set()
        for encryption in _parts(self.footer, 10):
            for variant in _parts(encryption, 3):  # its variants (1: masks, 2: keys)
                root = _one(variant, 1)
                columns.update(range(root, self._last(root) + 1))
        return columns

    def _last(self, column: int, depth: int = 0) -> int:
        if depth > _MAX_DEPTH or column >= len(self.types):
            raise _Damaged("a type tree too deep or out of range")
        children = _numbers(self.types[column], 2)
        return self._last(children[-1], depth + 1) if children else column


class _Stream:
    """A stream's bytes, inflated a chunk at a time as its reader asks for them."""

    def __init__(self, file: _File, start: int, end: int) -> None:
        if not 0 <= start <= end <= len(file.data):
            raise _Damaged("a stream past the end of the file")
        self.file, self.at, self.end = file, start, end
        self.buffer, self.pos = b"", 0

    def fill(self, size: int) -> bool:
        """At least `size` bytes from `pos` in `buffer`; False when the stream has fewer left."""
        if len(self.buffer) - self.pos >= size:
            return True
        parts = [self.buffer[self.pos:]]
        have = len(parts[0])
        while have < size and self.at < self.end:
            chunk = self._chunk()
            parts.append(chunk)
            have += len(chunk)
        self.buffer, self.pos = b"".join(parts), 0
        return have >= size

    def take(self, size: int) -> bytes:
        if not self.fill(size):
            raise _Damaged("a stream ends before its values")
        out = self.buffer[self.pos:self.pos + size]
        self.pos += size
        return out

    def byte(self) -> int:
        if self.pos >= len(self.buffer) and not self.fill(1):
            raise _Damaged("a stream ends before its values")
        value = self.buffer[self.pos]
        self.pos += 1
        return value

    def varint(self, most: int = 10) -> int:
        self.fill(most)
        value, self.pos = _varint(self.buffer, self.pos, most)
        return value

    def read_all(self) -> bytes:
        parts = [self.buffer[self.pos:]]
        while self.at < self.end:
            parts.append(self._chunk())
        self.buffer, self.pos = b"", 0
        return b"".join(parts)

    def _chunk(self) -> bytes:
        file, data = self.file, self.file.data
        if file.codec == 0:
            size = min(self.end - self.at, 1 << 20)
            self.at += size
            return bytes(data[self.at - size:self.at])
        if self.at + 3 > self.end:
            raise _Damaged("a chunk header past its stream")
        header = data[self.at] | data[self.at + 1] << 8 | data[self.at + 2] << 16
        size, stored = header >> 1, header & 1
        body = bytes(data[self.at + 3:self.at + 3 + size])
        if len(body) != size or self.at + 3 + size > self.end:
            raise _Damaged("a chunk past its stream")
        self.at += 3 + size
        # zlib and zstd stop inflating past what may be spent (Snappy and LZ4 blocks are bounded by
        # the block size), so a bomb is named by the budget below without being inflated
        room = min(file.block, file.budget.allowance() + 1) if file.codec in (1, 5) else file.block
        out = body if stored else _INFLATE[file.codec](body, room)
        if len(out) > file.block:
            raise _Damaged(f"a chunk of {len(out)} bytes in a file of {file.block}-byte blocks")
        file.budget.spend(len(out), "an ORC chunk")
        return out


def _zlib(body: bytes, block: int) -> bytes:
    inflater = zlib.decompressobj(-15)
    try:
        return inflater.decompress(body, block + 1)
    except zlib.error as exc:
        raise _Damaged(f"damaged zlib data ({exc})") from None


def _snappy(body: bytes, block: int) -> bytes:
    import cramjam

    said, _ = _varint(body, 0)
    if said > block:
        raise _Damaged(f"Snappy data of {said} bytes in {block}-byte blocks")
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError as exc:
        raise _Damaged(f"damaged Snappy data ({exc})") from None


def _lz4(body: bytes, block: int) -> bytes:
    import lz4.block

    try:
        return bytes(lz4.block.decompress(body, uncompressed_size=block))
    except lz4.block.LZ4BlockError as exc:
        raise _Damaged(f"damaged LZ4 data ({exc})") from None


def _zstd(body: bytes, block: int) -> bytes:
    import io

    import zstandard

    try:
        return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body)).read(block + 1)
    except zstandard.ZstdError as exc:
        raise _Damaged(f"damaged zstd data ({exc})") from None


_INFLATE: dict[int, Callable[[bytes, int], bytes]] = {1: _zlib, 2: _snappy, 4: _lz4, 5: _zstd}


# --- run-length encodings ----------------------------------------------------------------------

class _Bytes:
    """Byte RLE: runs of 3-130 copies, or 1-128 literal bytes."""

    def __init__(self, stream: _Stream) -> None:
        self.stream, self.left = stream, b""

    def read(self, count: int) -> bytes:
        parts, have = [self.left[:count]], min(count, len(self.left))
        self.left = self.left[count:]
        while have < count:
            header = self.stream.byte()
            run = self.stream.byte().to_bytes(1, "little") * (header + 3) if header < 128 else self.stream.take(256 - header)
            parts.append(run[:count - have])
            self.left = run[count - have:]
            have += len(parts[-1])
        return b"".join(parts)


class _Booleans:
    """Boolean RLE: byte RLE of bytes whose bits, most significant first, are the values."""

    def __init__(self, stream: _Stream) -> None:
        self.bytes, self.left = _Bytes(stream), np.zeros(0, dtype=bool)

    def read(self, count: int) -> np.ndarray:
        need = count - len(self.left)
        if need > 0:
            fresh = np.unpackbits(np.frombuffer(self.bytes.read((need + 7) // 8), dtype=np.uint8)).astype(bool)
            self.left = np.concatenate([self.left, fresh])
        out, self.left = self.left[:count], self.left[count:]
        return out


class _Ints:
    """Integer RLE, version 1 or 2, signed (zigzag) or not."""

    def __init__(self, stream: _Stream, signed: bool, version: int) -> None:
        self.stream, self.signed, self.version = stream, signed, version
        self.left: list[int] = []

    def read(self, count: int) -> list[int]:
        out = self.left[:count]
        self.left = self.left[count:]
        while len(out) < count:
            run = self._run_v2() if self.version == 2 else self._run_v1()
            take = count - len(out)
            out.extend(run[:take])
            self.left = run[take:]
        return out

    def _signed(self, value: int) -> int:
        return (value >> 1) ^ -(value & 1) if self.signed else value

    def _run_v1(self) -> list[int]:
        stream = self.stream
        header = stream.byte()
        if header < 128:
            delta = stream.byte()
            delta -= 256 if delta > 127 else 0
            base = self._signed(stream.varint())
            return [base + i * delta for i in range(header + 3)]
        return [self._signed(stream.varint()) for _ in range(256 - header)]

    def _run_v2(self) -> list[int]:
        stream = self.stream
        header = stream.byte()
        kind = header >> 6
        if kind == 0:  # short repeat
            width, count = (header >> 3 & 7) + 1, (header & 7) + 3
            return [self._signed(int.from_bytes(stream.take(width), "big"))] * count
        width = _WIDTHS[header >> 1 & 0x1F]
        count = ((header & 1) << 8 | stream.byte()) + 1
        if kind == 1:  # direct
            return self._zigzag(_unpack(stream, count, width))
        if kind == 2:
            return self._patched(width, count)
        return self._delta(header >> 1 & 0x1F, count)

    def _zigzag(self, values: np.ndarray) -> list[int]:
        if not self.signed:
            return values.tolist()  # type: ignore[no-any-return]
        half = (values >> np.uint64(1)).astype(np.int64)
        return (half ^ -(values & np.uint64(1)).astype(np.int64)).tolist()  # type: ignore[no-any-return]

    def _patched(self, width: int, count: int) -> list[int]:
        """Patched base: a base, values of `width` bits above it, and patches of their high bits
        for the few outliers, each at a gap from the last."""
        stream = self.stream
        third, fourth = stream.byte(), stream.byte()
        base_bytes, patch_width = (third >> 5) + 1, _WIDTHS[third & 0x1F]
        gap_width, patches = (fourth >> 5) + 1, fourth & 0x1F
        base = int.from_bytes(stream.take(base_bytes), "big")
        sign = 1 << (base_bytes * 8 - 1)
        if base & sign:
            base = -(base & ~sign)
        values = _unpack(stream, count, width).tolist()
        if gap_width + patch_width > 64:
            raise _Damaged("patches wider than 64 bits")
        entries = _unpack(stream, patches, _closest_width(gap_width + patch_width)).tolist()
        at, mask = 0, (1 << patch_width) - 1
        for entry in entries:
            at += entry >> patch_width
            patch = entry & mask
            if patch == 0:
                continue  # a gap of 255 with no patch: only moves on
            if at >= count:
                raise _Damaged("a patch past its run")
            values[at] |= patch << width
        return [base + value for value in values]

    def _delta(self, code: int, count: int) -> list[int]:
        stream = self.stream
        first = self._signed(stream.varint())
        step = stream.varint()
        step = (step >> 1) ^ -(step & 1)
        if code == 0 or count < 3:  # a fixed step (width 0)
            return [first + i * step for i in range(count)]
        deltas = _unpack(stream, count - 2, _WIDTHS[code]).tolist()
        out = [first, first + step]
        value, sign = first + step, -1 if step < 0 else 1
        for delta in deltas:
            value += sign * delta
            out.append(value)
        return out


def _varints(stream: _Stream, count: int) -> list[int]:
    """`count` zigzag varints of up to 128 bits (decimals), in numpy when none is over 63 bits."""
    stream.fill(count * _DECIMAL_BYTES)  # as much as is left, when less
    raw = np.frombuffer(stream.buffer, dtype=np.uint8)[stream.pos:]
    ends = np.flatnonzero(raw < 0x80)[:count]
    if len(ends) < count:
        raise _Damaged("a stream ends before its values")
    if not count:
        return []
    starts = np.concatenate([[0], ends[:-1] + 1])
    widths = ends - starts + 1
    if widths.max() > 9:
        buffer, pos, out = stream.buffer, stream.pos, []
        for _ in range(count):
            value, pos = _varint(buffer, pos, _DECIMAL_BYTES)
            out.append((value >> 1) ^ -(value & 1))
        stream.pos = pos
        return out
    steps = np.arange(int(widths.max()))
    taken = np.where(steps < widths[:, None], raw[np.minimum(starts[:, None] + steps, len(raw) - 1)], 0)
    values = ((taken.astype(np.uint64) & np.uint64(0x7F)) << (steps * 7).astype(np.uint64)).sum(axis=1, dtype=np.uint64)
    stream.pos += int(ends[-1]) + 1
    half = (values >> np.uint64(1)).astype(np.int64)
    return (half ^ -(values & np.uint64(1)).astype(np.int64)).tolist()  # type: ignore[no-any-return]


def _closest_width(width: int) -> int:
    return next(w for w in _WIDTHS if w >= width)


def _unpack(stream: _Stream, count: int, width: int) -> np.ndarray:
    """`count` unsigned values of `width` bits, packed most significant bit first."""
    size = (count * width + 7) // 8
    raw = np.frombuffer(stream.take(size), dtype=np.uint8)
    if width in (8, 16, 32, 64):
        return raw.view(f">u{width // 8}").astype(np.uint64)
    bits = np.unpackbits(raw)[:count * width].reshape(count, width)
    padded = np.zeros((count, 64), dtype=np.uint8)
    padded[:, 64 - width:] = bits
    return np.packbits(padded, axis=1).view(">u8").ravel().astype(np.uint64)


# --- columns -------------------------------------------------------------------------------------

class _Column:
    """A column of the type tree: reads `count` rows (those its parent holds) as its output
    columns' cells."""

    def __init__(self, stripe: _Stripe, column: int) -> None:
        self.stripe, self.column = stripe, column
        present = stripe.stream(column, _PRESENT)
        self.present = _Booleans(present) if present is not None else None

    def read(self, count: int) -> list[list[str]]:
        if self.present is None:
            return self.values(count)
        mask = self.present.read(count)
        held = int(mask.sum())
        if held == count:
            return self.values(count)
        columns = self.values(held)
        out = []
        where = np.flatnonzero(mask)
        for cells in columns:
            spread = [""] * count
            for at, cell in zip(where.tolist(), cells, strict=True):
                spread[at] = cell
            out.append(spread)
        return out

    def values(self, count: int) -> list[list[str]]:
        raise NotImplementedError

    def ints(self, kind: int, signed: bool) -> _Ints:
        return _Ints(self.stripe.need(self.column, kind), signed, self.stripe.version(self.column))


def _shown(values: list[str | None]) -> list[str]:
    """Cells from formatted values: None empty, each on one line."""
    cells = ["" if value is None else value for value in values] if None in values else values
    joined = "".join(cells)  # type: ignore[arg-type]
    if "\t" in joined or "\n" in joined or "\r" in joined:
        return [one_line(cell) for cell in cells]  # type: ignore[arg-type]
    return cells  # type: ignore[return-value]


class _Numbers(_Column):
    def __init__(self, stripe: _Stripe, column: int, kind: int) -> None:
        super().__init__(stripe, column)
        self.kind = kind
        if kind == _BYTE:
            self.bytes = _Bytes(stripe.need(column, _DATA))
        elif kind == _BOOLEAN:
            self.booleans = _Booleans(stripe.need(column, _DATA))
        elif kind in (_FLOAT, _DOUBLE):
            self.raw = stripe.need(column, _DATA)
        else:
            self.numbers = self.ints(_DATA, signed=True)

    def values(self, count: int) -> list[list[str]]:
        kind = self.kind
        if kind == _BOOLEAN:
            return [["true" if v else "false" for v in self.booleans.read(count).tolist()]]
        if kind == _BYTE:
            return [[str(v) for v in np.frombuffer(self.bytes.read(count), dtype=np.int8).tolist()]]
        if kind in (_FLOAT, _DOUBLE):
            width = 4 if kind == _FLOAT else 8
            numbers = np.frombuffer(self.raw.take(width * count), dtype=f"<f{width}").tolist()
            return [_shown(floats(numbers, ".7g" if kind == _FLOAT else ".15g"))]
        numbers = self.numbers.read(count)
        if kind == _DATE:
            return [_shown(dates(numbers))]  # type: ignore[arg-type]
        return [list(map(str, numbers))]


class _Texts(_Column):
    def __init__(self, stripe: _Stripe, column: int) -> None:
        super().__init__(stripe, column)
        self.dictionary: list[str] | None = None
        encoding = stripe.encoding(column)
        self.lengths = self.ints(_LENGTH, signed=False)
        if encoding in (_DICTIONARY, _DICTIONARY_V2):
            self.indices = self.ints(_DATA, signed=False)
            self.size = stripe.dictionary_size(column)
            self.data = stripe.need(column, _DICTIONARY_DATA)
        else:
            self.data = stripe.need(column, _DATA)

    def _read(self, count: int) -> list[str]:
        lengths = self.lengths.read(count)
        if any(length < 0 for length in lengths):
            raise _Damaged("a negative length")
        blob = self.data.take(sum(lengths))
        ends = np.cumsum(lengths).tolist()
        return _shown(texts([blob[end - length:end] for end, length in zip(ends, lengths, strict=True)]))

    def values(self, count: int) -> list[list[str]]:
        if not hasattr(self, "indices"):
            return [self._read(count)]
        if self.dictionary is None:
            self.dictionary = self._read(self.size)
        indices = self.indices.read(count)
        if indices and max(indices) >= len(self.dictionary):
            raise _Damaged("a dictionary index past the dictionary")
        return [[self.dictionary[i] for i in indices]]


class _Timestamps(_Column):
    def __init__(self, stripe: _Stripe, column: int, instant: bool) -> None:
        super().__init__(stripe, column)
        self.seconds = self.ints(_DATA, signed=True)
        self.nanos = self.ints(_SECONDARY, signed=False)
        self.zone = None if instant else stripe.zone

    def values(self, count: int) -> list[list[str]]:
        micros = []
        for seconds, code in zip(self.seconds.read(count), self.nanos.read(count), strict=True):
            if code >= 1 << 63:  # Arrow's writer keeps a time before 1970 negative in both parts
                code -= 1 << 64
            zeros = code & 7
            nanos = (code >> 3) * 10 ** (zeros + 1) if zeros else code >> 3
            seconds += _ORC_EPOCH
            if seconds < 0 and nanos > 999_999:  # writers store whole seconds toward zero
                seconds -= 1
            micros.append(seconds * 10**6 + nanos // 1000)
        if self.zone is not None:
            micros = [self.zone(value) for value in micros]
        return [_shown(timestamps(micros, 10**6))]  # type: ignore[arg-type]


class _Decimals(_Column):
    def __init__(self, stripe: _Stripe, column: int, scale: int) -> None:
        super().__init__(stripe, column)
        self.scale = scale
        self.data = stripe.need(column, _DATA)
        self.scales = self.ints(_SECONDARY, signed=True)

    def values(self, count: int) -> list[list[str]]:
        scales = self.scales.read(count)
        numbers = _varints(self.data, count)
        if all(scale == self.scale for scale in scales):
            return [_shown(decimals(numbers, self.scale))]  # type: ignore[arg-type]
        out = [decimals([value * 10 ** (self.scale - scale)], self.scale)[0] if scale <= self.scale
               else decimals([value], scale)[0] for value, scale in zip(numbers, scales, strict=True)]
        return [_shown(out)]


class _Struct(_Column):
    def __init__(self, stripe: _Stripe, column: int, children: list[_Column]) -> None:
        super().__init__(stripe, column)
        self.children = children

    def values(self, count: int) -> list[list[str]]:
        return [cells for child in self.children for cells in child.read(count)]


class _List(_Column):
    """A list, or a map (its keys and its values, each a list)."""

    def __init__(self, stripe: _Stripe, column: int, children: list[_Column]) -> None:
        super().__init__(stripe, column)
        self.children = children
        self.lengths = self.ints(_LENGTH, signed=False)

    def values(self, count: int) -> list[list[str]]:
        lengths = self.lengths.read(count)
        total = sum(lengths)
        if total > _MAX_ELEMENTS:
            raise _Damaged(f"lists of {total} elements in {count} rows")
        out = []
        for child in self.children:
            for cells in child.read(total):
                joined, pos = [], 0
                for length in lengths:
                    joined.append(", ".join(cell for cell in cells[pos:pos + length] if cell))
                    pos += length
                out.append(joined)
        return out


class _Union(_Column):
    def __init__(self, stripe: _Stripe, column: int, children: list[_Column]) -> None:
        super().__init__(stripe, column)
        self.children = children
        self.tags = _Bytes(stripe.need(column, _DATA))

    def values(self, count: int) -> list[list[str]]:
        tags = list(self.tags.read(count))
        if any(tag >= len(self.children) for tag in tags):
            raise _Damaged("a union tag past its variants")
        chosen = []
        for number, child in enumerate(self.children):
            cells = child.read(tags.count(number))
            chosen.append(iter([", ".join(cell for cell in row if cell) for row in zip(*cells, strict=True)]
                               if cells else [""] * tags.count(number)))
        return [[next(chosen[tag]) for tag in tags]]


class _Empty(_Column):
    """An encrypted column (its streams are not readable): empty cells."""

    def __init__(self, stripe: _Stripe, column: int, width: int) -> None:
        self.stripe, self.column, self.present, self.width = stripe, column, None, width

    def values(self, count: int) -> list[list[str]]:
        return [[""] * count for _ in range(self.width)]


class _Stripe:
    def __init__(self, file: _File, info: dict[int, object]) -> None:
        self.file = file
        offset, index, data, footer = (_one(info, n) for n in (1, 2, 3, 4))
        self.rows = _one(info, 5)
        end = offset + index + data + footer
        if not 3 <= offset <= end <= len(file.data):
            raise _Damaged("a stripe past the end of the file")
        fields = protobuf_fields(_Stream(file, offset + index + data, end).read_all())
        if fields is None:
            raise _Damaged("a stripe footer that is not one")
        message = _message(fields)
        self.streams: dict[tuple[int, int], tuple[int, int]] = {}
        at = offset
        for stream in _parts(message, 1):
            kind, column, length = _one(stream, 1), _one(stream, 2), _one(stream, 3)
            if at + length > end:
                raise _Damaged("a stream past its stripe")
            self.streams.setdefault((column, kind), (at, at + length))
            at += length
        self.encodings = _parts(message, 2)
        zone = _bytes_field(message, 3).decode("utf-8", "replace")
        self.zone = _wall_clock(zone)

    def stream(self, column: int, kind: int) -> _Stream | None:
        where = self.streams.get((column, kind))
        return _Stream(self.file, *where) if where else None

    def need(self, column: int, kind: int) -> _Stream:
        stream = self.stream(column, kind)
        if stream is None:
            return _Stream(self.file, 0, 0)  # no values written (a column of nulls): reading any is damage
        return stream

    def encoding(self, column: int) -> int:
        return _one(self.encodings[column], 1) if column < len(self.encodings) else _DIRECT

    def version(self, column: int) -> int:
        return 2 if self.encoding(column) in (_DIRECT_V2, _DICTIONARY_V2) else 1

    def dictionary_size(self, column: int) -> int:
        size = _one(self.encodings[column], 2) if column < len(self.encodings) else 0
        if size > self.rows + (1 << 20):
            raise _Damaged(f"a dictionary of {size} entries")
        return size


def _wall_clock(zone: str) -> Callable[[int], int] | None:
    """How a timestamp's microseconds from 1970, counted from 2015-01-01 00:00 UTC as stored,
    become the wall-clock time the writer wrote: its seconds are counted from 2015-01-01 00:00
    on the writer's clock, so the instant is shifted by that zone's offset then, and shown at the
    zone's offset at that instant. None for UTC (and for a zone this machine does not know,
    which is read as UTC)."""
    if zone in ("", "UTC", "GMT", "Etc/UTC", "Etc/GMT", "Z"):
        return None
    try:
        from zoneinfo import ZoneInfo

        where = ZoneInfo(zone)
    except (ValueError, OSError, KeyError, ImportError):
        return None
    base = datetime(2015, 1, 1, tzinfo=where).utcoffset() or timedelta(0)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)

    def wall(micros: int) -> int:
        instant = micros - base // timedelta(microseconds=1)
        try:
            offset = (epoch + timedelta(microseconds=instant)).astimezone(where).utcoffset() or timedelta(0)
        except (OverflowError, ValueError):
            return micros
        return instant + offset // timedelta(microseconds=1)

    return wall


# --- the file as text ----------------------------------------------------------------------------

def orc_content(data: bytes, budget: Budget, what: str) -> tuple[str, list[str]]:
    """The text of every stripe, and what could not be read."""
    if not is_orc(data):
        raise Unscannable(f"{what}: not an ORC file")
    try:
        file = _File(data, budget, what)
        names = _names(file, 0, "", 0)
    except (_Damaged, struct.error, RecursionError, IndexError, ValueError) as exc:
        raise Unscannable(f"{what}: damaged ORC file ({exc})") from None
    problems: list[str] = []
    if file.encrypted:
        leaves = [column for column in range(1, len(file.types)) if not _numbers(file.types[column], 2)]
        if all(column in file.encrypted for column in leaves):
            raise EncryptedContent(f"{what}: an ORC file whose every column is encrypted")
        problems.append(f"{what}: {len(file.encrypted)} encrypted columns are not read")
    header = "\t".join(one_line(name) for name in names) + "\n"
    out: list[str] = []
    used = 0
    try:
        for number, info in enumerate(file.stripes, start=1):
            out.append(f"stripe {number} of {len(file.stripes)}\n\n{header}")
            try:
                stripe = _Stripe(file, info)
                root = _build(stripe, 0, 0)
                left = stripe.rows
                while left > 0:
                    take = min(_BATCH, left)
                    columns = root.read(take)
                    left -= take
                    block = "\n".join("\t".join(row) for row in zip(*columns, strict=True)) + "\n"
                    out.append(block)
                    used += len(block)
                    budget.check_time()
                    if used > budget.limits.max_text_chars:
                        raise Unscannable(f"text beyond {budget.limits.max_text_chars} characters")
            except (_Damaged, struct.error, IndexError, ValueError, OverflowError, RecursionError) as exc:
                problems.append(f"{what}: stripe {number} is damaged ({exc}); its rows from there are not read")
            out.append("\n")
    except Unscannable as exc:  # the time limit, the text limit, the budget: what was read is kept
        problems.append(f"{what}: {exc}")
    return "".join(out), problems


def _type(file: _File, column: int, depth: int) -> tuple[int, list[int]]:
    if depth > _MAX_DEPTH or not 0 <= column < len(file.types):
        raise _Damaged("a type tree too deep or out of range")
    kind, children = _one(file.types[column], 1), _numbers(file.types[column], 2)
    if any(child <= column for child in children):
        raise _Damaged("a type whose children come before it")
    return kind, children


def _names(file: _File, column: int, prefix: str, depth: int) -> list[str]:
    """The output columns of a type: a struct's fields by dotted names, a list's elements under
    its own, a map's keys and values, any other type one column."""
    kind, children = _type(file, column, depth)
    if kind == _STRUCT:
        fields = [name.decode("utf-8", "replace") if isinstance(name, bytes) else ""
                  for name in file.types[column].get(3, [])]  # type: ignore[attr-defined]
        if len(fields) != len(children):
            raise _Damaged("a struct whose names and fields differ in number")
        return [name for child, field in zip(children, fields, strict=True)
                for name in _names(file, child, f"{prefix}.{field}" if prefix else field, depth + 1)]
    if kind == _LIST and len(children) == 1:
        return _names(file, children[0], prefix, depth + 1)
    if kind == _MAP and len(children) == 2:
        return (_names(file, children[0], f"{prefix}.key", depth + 1)
                + _names(file, children[1], f"{prefix}.value", depth + 1))
    if kind in (_LIST, _MAP):
        raise _Damaged("a list or map without its element types")
    return [prefix or "value"]


def _build(stripe: _Stripe, column: int, depth: int) -> _Column:
    file = stripe.file
    kind, children = _type(file, column, depth)
    if column in file.encrypted:
        return _Empty(stripe, column, len(_names(file, column, "", depth)))
    if kind in (_STRUCT, _LIST, _MAP, _UNION):
        built = [_build(stripe, child, depth + 1) for child in children]
        if kind == _STRUCT:
            return _Struct(stripe, column, built)
        return _Union(stripe, column, built) if kind == _UNION else _List(stripe, column, built)
    if kind in (_STRING, _VARCHAR, _CHAR, _BINARY):
        return _Texts(stripe, column)
    if kind in (_TIMESTAMP, _TIMESTAMP_INSTANT):
        return _Timestamps(stripe, column, instant=kind == _TIMESTAMP_INSTANT)
    if kind == _DECIMAL:
        return _Decimals(stripe, column, _one(file.types[column], 6))
    if kind in (_BOOLEAN, _BYTE, _SHORT, _INT, _LONG, _FLOAT, _DOUBLE, _DATE):
        return _Numbers(stripe, column, kind)
    raise _Damaged(f"a column of an unknown type ({kind})")
