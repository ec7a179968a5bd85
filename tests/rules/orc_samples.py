"""ORC files for `test_extract_orc`: the tables pyarrow writes (and values for random ones), and
where things are in a file for the tests that damage one or check what the writer chose (a
protobuf reader just big enough for the postscript, the footer and the stripe footers, ORC
specification v1 "File Tail" and "Stripes", and a walk over an RLE v2 stream's run headers)."""

from __future__ import annotations

import functools
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Context, Decimal
from itertools import accumulate
from typing import Any

import pyarrow as pa
import pyarrow.orc as orc
from hypothesis import strategies as st

NONE, ZLIB = 0, 1  # CompressionKind
DATA = 1  # Stream.Kind
DIRECT, DICTIONARY, DIRECT_V2, DICTIONARY_V2 = range(4)  # ColumnEncoding.Kind
_WIDTHS = [*range(1, 25), 26, 28, 30, 32, 40, 48, 56, 64]  # RLE v2's five-bit width codes
NAMES = ["Anna Müller", "张伟", "O'Brien", "Zoë Ω"]


def orc_file(table: pa.Table, **options: Any) -> bytes:
    sink = pa.BufferOutputStream()
    orc.write_table(table, sink, **options)
    return bytes(sink.getvalue().to_pybytes())


def scaled(digits: int, scale: int) -> Decimal:
    return Decimal(digits).scaleb(-scale, Context(prec=100))  # the default context keeps 28 digits


def pyarrow_read(data: bytes) -> pa.Table:
    """The table as pyarrow's own ORC reader reads it."""
    return orc.ORCFile(pa.BufferReader(data)).read()


def decimals(precision: int, scale: int) -> list[Decimal | None]:
    top, unit = scaled(10**precision - 1, scale), scaled(1, scale)
    whole = [Decimal(12), Decimal(-3)] if precision - scale >= 2 else []
    return [top, top.copy_negate(), Decimal(0), None, unit, scaled(-5, scale), *whole]


def mixed_ints(count: int, bits: int, seed: int) -> list[int | None]:
    """Runs for each of RLE v2's sub-encodings: short repeats; long runs and steps (delta); full-width
    random values (direct); small values with rare huge outliers (patched base); negatives; nulls."""
    rng, top = random.Random(seed), (1 << (bits - 1)) - 1
    out: list[int] = []
    while len(out) < count:
        out += [rng.randint(-top, top)] * rng.randint(3, 10)
        out += [rng.randint(-99, 99)] * 300
        out += accumulate((rng.randint(1, 9) for _ in range(600)), initial=rng.randint(-top // 2, 0))
        out += [rng.randint(-top - 1, top) for _ in range(100)]
        out += [top if i % 40 == 7 else rng.randint(0, 1000) for i in range(1100)]
        out += [rng.randint(-1000, -1) for _ in range(150)]
    return [None if i % 97 == 13 else max(-top - 1, min(top, v)) for i, v in enumerate(out[:count])]


def customers(count: int) -> pa.Table:
    """Every scalar type, some nulls, strings long enough for several compression blocks, a column
    null in its first rows (whole stripes of it) and one never set."""
    rng, ids = random.Random(count), range(count)
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "n64": pa.array(mixed_ints(count, 64, 1), pa.int64()),
        "n32": pa.array(mixed_ints(count, 32, 2), pa.int32()),
        "n16": pa.array(mixed_ints(count, 16, 3), pa.int16()),
        "n8": pa.array(mixed_ints(count, 8, 4), pa.int8()),
        "name": pa.array([NAMES[i % 4] if i % 11 else None for i in ids], pa.string()),
        "card": pa.array([f"4{i * 7919:015d}" for i in ids], pa.string()),
        "note": pa.array([f"called {rng.random()} back\tabout {rng.choice(NAMES)}" for _ in ids], pa.string()),
        "amount": pa.array([rng.uniform(-1e6, 1e6) if i % 13 else None for i in ids], pa.float64()),
        "ratio": pa.array([i / 7 for i in ids], pa.float32()),
        "flag": pa.array([None if i % 17 == 0 else rng.random() < 0.3 for i in ids], pa.bool_()),
        "day": pa.array([date(1960, 1, 1) + timedelta(days=rng.randint(0, 40000)) for _ in ids], pa.date32()),
        "seen": pa.array([rng.choice([rng.randint(-2 * 10**18, 4 * 10**18), rng.randint(-10**9, 2 * 10**9) * 10**9])
                          for _ in ids], pa.timestamp("ns")),
        "price": pa.array([scaled(rng.randint(-10**11, 10**11), 2) for _ in ids], pa.decimal128(12, 2)),
        "big": pa.array([scaled(rng.randint(-10**38 + 1, 10**38 - 1), 10) for _ in ids], pa.decimal128(38, 10)),
        "blob": pa.array([rng.randbytes(rng.randint(0, 12)) for _ in ids], pa.binary()),
        "late": pa.array([None if i < count * 2 // 5 else i * 31 for i in ids], pa.int64()),
        "never": pa.array([None] * count, pa.string()),
    })


SCALARS: dict[str, tuple[pa.DataType, st.SearchStrategy[Any]]] = {
    "long": (pa.int64(), st.integers(-(1 << 63), (1 << 63) - 1)), "byte": (pa.int8(), st.integers(-128, 127)),
    "double": (pa.float64(), st.floats()), "float": (pa.float32(), st.floats(width=32)),
    "string": (pa.string(), st.text(st.characters(exclude_categories=["Cs"]))), "binary": (pa.binary(), st.binary()),
    "date": (pa.date32(), st.dates()), "stamp": (pa.timestamp("ns"), st.integers(-(1 << 63) + 1, (1 << 63) - 1)),
    "decimal": (pa.decimal128(20, 5), st.integers(-10**20 + 1, 10**20 - 1).map(lambda n: scaled(n, 5))),
    "boolean": (pa.bool_(), st.booleans()),
}


@functools.cache
def two_stripes() -> bytes:
    """A ZLIB file of two stripes: ids, cards (compressed chunks) and random blobs (chunks stored
    as they are, ZLIB making them no smaller)."""
    rng = random.Random(5)
    table = pa.table({"id": pa.array(range(120), pa.int64()), "card": [f"4{i * 7919:015d}" for i in range(120)],
                      "blob": pa.array([rng.randbytes(700) for _ in range(120)], pa.binary())})
    return orc_file(table, compression="zlib", batch_size=20, stripe_size=1)


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        value |= (data[at] & 0x7F) << shift
        shift, at = shift + 7, at + 1
        if data[at - 1] < 0x80:
            return value, at


def fields(message: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) of a protobuf message: varints as ints, length-delimited as bytes."""
    out: list[tuple[int, int | bytes]] = []
    at = 0
    while at < len(message):
        key, at = _varint(message, at)
        if key & 7 == 0:
            value, at = _varint(message, at)
            out.append((key >> 3, value))
        elif key & 7 == 2:
            size, at = _varint(message, at)
            out.append((key >> 3, message[at:at + size]))
            at += size
        else:
            at += 8 if key & 7 == 1 else 4
    return out


def inflate(data: bytes, codec: int) -> bytes:
    """A stream's bytes without its compression chunks (three-byte headers: length << 1 | original)."""
    if codec == NONE:
        return data
    assert codec == ZLIB, codec
    out, at = bytearray(), 0
    while at < len(data):
        header = int.from_bytes(data[at:at + 3], "little")
        body = data[at + 3:at + 3 + (header >> 1)]
        out += body if header & 1 else zlib.decompress(body, -15)
        at += 3 + (header >> 1)
    return bytes(out)


@dataclass(frozen=True)
class Stripe:
    offset: int
    index_length: int
    data_length: int
    footer_length: int

    @property
    def footer_at(self) -> int:
        return self.offset + self.index_length + self.data_length


@dataclass(frozen=True)
class Tail:
    postscript_at: int
    footer_at: int
    codec: int
    stripes: list[Stripe]


def tail(data: bytes) -> Tail:
    size = data[-1]
    postscript = dict(fields(data[-1 - size:-1]))
    footer_at = len(data) - 1 - size - int(postscript[1])
    footer = fields(inflate(data[footer_at:len(data) - 1 - size], int(postscript.get(2, 0))))
    stripes = []
    for number, value in footer:
        if number == 3:
            info = dict(fields(bytes(value)))
            stripes.append(Stripe(*(int(info.get(n, 0)) for n in (1, 2, 3, 4))))
    return Tail(len(data) - 1 - size, footer_at, int(postscript.get(2, 0)), stripes)


@dataclass(frozen=True)
class Stream:
    kind: int
    column: int
    at: int
    length: int


def stripe_footer(data: bytes, codec: int, stripe: Stripe) -> tuple[list[Stream], list[int]]:
    """The stripe's streams, where each starts in the file, and each column's encoding kind."""
    body = inflate(data[stripe.footer_at:stripe.footer_at + stripe.footer_length], codec)
    streams, encodings, at = [], [], stripe.offset
    for number, value in fields(body):
        if number in (1, 2):
            info = dict(fields(bytes(value)))
            if number == 1:
                streams.append(Stream(int(info.get(1, 0)), int(info.get(2, 0)), at, int(info.get(3, 0))))
                at += int(info.get(3, 0))
            else:
                encodings.append(int(info.get(1, 0)))
    return streams, encodings


def _put(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes([*out, value])


def message(items: list[tuple[int, int | bytes]]) -> bytes:
    """A protobuf message of varint and length-delimited fields."""
    out = b""
    for number, value in items:
        if isinstance(value, int):
            out += _put(number << 3) + _put(value)
        else:
            out += _put(number << 3 | 2) + _put(len(value)) + value
    return out


def with_encryption(data: bytes, roots: list[int]) -> bytes:
    """An uncompressed file whose footer says ORC 1.6's column encryption covers the columns under
    `roots`, as a writer with a key would (Footer.encryption = 10: Encryption's mask = 1, key = 2,
    variants = 3, keyProvider = 4). The streams stay as they are; a real file's hold the masked values."""
    found = tail(data)
    assert found.codec == NONE
    mask = message([(1, b"nullify"), (3, b"".join(map(_put, roots)))])  # DataMask: name, columns
    key = message([(1, b"pii"), (2, 1), (3, 1)])  # EncryptionKey: keyName, keyVersion, AES_CTR_128
    variants = [(3, message([(1, root), (2, 0), (3, bytes(16))])) for root in roots]  # root, key, encryptedKey
    encryption = message([(1, mask), (2, key), *variants, (4, 1)])  # keyProvider HADOOP
    footer = data[found.footer_at:found.postscript_at] + message([(10, encryption)])
    postscript = message([(n, len(footer) if n == 1 else v) for n, v in fields(data[found.postscript_at:-1])])
    return data[:found.footer_at] + footer + postscript + bytes([len(postscript)])


def with_writer_zone(data: bytes, zone: str) -> bytes:
    """An uncompressed one-stripe file whose stripe footer names `zone` as the writer's time zone
    (StripeFooter.writerTimezone = 3), the stripe's and the file's lengths moved to match."""
    found = tail(data)
    (stripe,) = found.stripes
    old = data[stripe.footer_at:stripe.footer_at + stripe.footer_length]
    new = message([(n, zone.encode() if n == 3 else v) for n, v in fields(old)])
    grow, footer = len(new) - len(old), []
    for n, v in fields(data[found.footer_at:found.postscript_at]):
        if n == 2:  # contentLength
            v = int(v) + grow
        elif n == 3:  # the stripe's footerLength
            v = message([(k, int(x) + grow if k == 4 else x) for k, x in fields(bytes(v))])
        footer.append((n, v))
    body = message(footer)
    postscript = message([(n, len(body) if n == 1 else v) for n, v in fields(data[found.postscript_at:-1])])
    rest = data[stripe.footer_at + stripe.footer_length:found.footer_at]
    return data[:stripe.footer_at] + new + rest + body + postscript + bytes([len(postscript)])


def overwrite(data: bytes, at: int, junk: bytes) -> bytes:
    return data[:at] + junk + data[at + len(junk):]


def data_stream(data: bytes, column: int) -> int:
    """Where a column's data stream starts in a ZLIB file's first stripe: at a chunk header."""
    streams, _ = stripe_footer(data, ZLIB, tail(data).stripes[0])
    return next(s.at for s in streams if s.kind == DATA and s.column == column)


def flip_chunk_kind(column: int) -> Callable[[bytes], bytes]:
    """A file whose first chunk of a column's data stream says stored if compressed, or the reverse."""
    return lambda d: overwrite(d, data_stream(d, column), bytes([d[data_stream(d, column)] ^ 1]))


def rle_v2_runs(stream: bytes) -> set[str]:
    """The sub-encodings of an RLE v2 integer stream's runs, found by walking their headers."""
    kinds, at = set(), 0
    while at < len(stream):
        first = stream[at]
        kind = ("short repeat", "direct", "patched base", "delta")[first >> 6]
        kinds.add(kind)
        if kind == "short repeat":
            at += 2 + (first >> 3 & 7)
            continue
        width = _WIDTHS[first >> 1 & 31]
        length = ((first & 1) << 8 | stream[at + 1]) + 1
        if kind == "direct":
            at += 2 + (length * width + 7) // 8
        elif kind == "patched base":
            third, fourth = stream[at + 2], stream[at + 3]
            base, patch = (third >> 5) + 1, _WIDTHS[third & 31]
            gap, patches = (fourth >> 5) + 1, fourth & 31
            entry = next(w for w in _WIDTHS if w >= gap + patch)
            at += 4 + base + (length * width + 7) // 8 + (patches * entry + 7) // 8
        else:
            at = _varint(stream, _varint(stream, at + 2)[1])[1]  # the base and the first delta
            at += 0 if first >> 1 & 31 == 0 else ((length - 2) * width + 7) // 8
    assert at == len(stream), "the walk ends where the stream does"
    return kinds
