"""Apache Parquet files, every one written by pyarrow (Apache Arrow's C++ Parquet writer, the one
pandas, Spark exports and most data tools use), read back by `rules.extract.parquet`.

Expected texts are built from the Python values by the reader's contract, not from the reader: a
cell is formatted by `cell` below, a file's text laid out by `text_of`.
"""

from __future__ import annotations

import base64
import functools
import random
import struct
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pe
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.extract import Limits, extract
from rules.extract.budget import DEFAULT_LIMITS, Budget
from rules.extract.parquet import is_parquet, parquet_content
from rules.extract.sniff import sniff
from tests.rules.columnar import CARDS, peak_while, plain_cell, wide

EPOCH = datetime(1970, 1, 1)


def parquet(table: pa.Table, **options: Any) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **options)
    return bytes(sink.getvalue().to_pybytes())


def read(data: bytes) -> str:
    """The reader's text, its trailing blank lines aside; a file written by pyarrow has no problems."""
    text, problems = parquet_content(data, Budget(DEFAULT_LIMITS, len(data)), "x.parquet")
    assert problems == []
    return text.rstrip("\n")


def text_of(groups: Sequence[dict[str, list[str]]]) -> str:
    """The contract's layout: per row group a heading, a blank line, the header and the rows."""
    blocks = []
    for n, columns in enumerate(groups, 1):
        lines = ["\t".join(columns), *("\t".join(row) for row in zip(*columns.values(), strict=True))]
        blocks.append(f"row group {n} of {len(groups)}\n\n" + "\n".join(lines))
    return "\n\n".join(blocks)


def cell(value: Any, kind: pa.DataType) -> str:
    """A scalar cell by the contract, from the value pyarrow holds."""
    shown = plain_cell(value, kind)
    if shown is not None:
        return shown
    if pa.types.is_decimal(kind):
        return format(value, "f")
    if pa.types.is_date(kind):
        return str(value.isoformat())
    if pa.types.is_binary(kind) or pa.types.is_fixed_size_binary(kind):
        try:
            return str(value.decode()).replace("\t", " ").replace("\n", " ")
        except UnicodeDecodeError:
            return ""
    return str(value).replace("\t", " ").replace("\n", " ")


def cells(array: pa.Array) -> list[str]:
    return [cell(v, array.type) for v in array.to_pylist()]


def groups_of(table: pa.Table, size: int) -> list[dict[str, list[str]]]:
    """The expected cells of a flat table written with `row_group_size=size`."""
    return [{name: cells(table.column(name).slice(at, size).combine_chunks()) for name in table.column_names}
            for at in range(0, max(table.num_rows, 1), size)]


def float32(value: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def at_micros(micros: int) -> str:
    return (EPOCH + timedelta(microseconds=micros)).isoformat(sep=" ")


# --- a flat table, cell for cell ------------------------------------------------------------------

FLAT = pa.schema([("name", pa.string()), ("id32", pa.int32()), ("id64", pa.int64()), ("active", pa.bool_()),
                  ("balance", pa.float64()), ("ratio", pa.float32()), ("born", pa.date32()),
                  ("seen", pa.timestamp("us")), ("amount", pa.decimal128(12, 2)), ("note", pa.binary())])
FLAT_ROWS = [
    ("Anna Müller", -7, 9007199254740993, True, 4111111111111111.0, 0.1, date(1987, 6, 5),
     datetime(2024, 1, 2, 3, 4, 5), Decimal("-123.45"), b"called on Monday"),
    (None, 2147483647, -9223372036854775808, False, -2.0, 1.5, date(1970, 1, 1),
     datetime(2024, 1, 2, 3, 4, 5, 678901), Decimal("7.00"), b"\x00\xff\xfe\x80"),
    ("tab\there\nnewline", None, None, None, None, None, None, None, None, None),
    ("张伟", -2147483648, 0, True, 3.141592653589793, 16777216.0, date(2000, 2, 29),
     datetime(1969, 12, 31, 23, 59, 59, 500000), Decimal("0.05"), b""),
    ("O'Brien", 0, 1, False, 2.5e-07, -0.25, date(9999, 12, 31), datetime(1, 1, 1), Decimal("9999999999.99"), None),
]
FLAT_LINES = [
    "Anna Müller\t-7\t9007199254740993\ttrue\t4111111111111111\t0.1\t1987-06-05\t2024-01-02 03:04:05\t-123.45\tcalled on Monday",
    "\t2147483647\t-9223372036854775808\tfalse\t-2\t1.5\t1970-01-01\t2024-01-02 03:04:05.678901\t7.00\t",
    "tab here newline\t\t\t\t\t\t\t\t\t",
    "张伟\t-2147483648\t0\ttrue\t3.14159265358979\t16777216\t2000-02-29\t1969-12-31 23:59:59.500000\t0.05\t",
    "O'Brien\t0\t1\tfalse\t2.5e-07\t-0.25\t9999-12-31\t0001-01-01 00:00:00\t9999999999.99\t",
]


def flat_table() -> pa.Table:
    return pa.Table.from_pylist([dict(zip(FLAT.names, row, strict=True)) for row in FLAT_ROWS], schema=FLAT)


def test_a_flat_table_is_read_cell_for_cell() -> None:
    data = parquet(flat_table())
    assert is_parquet(data) and sniff(data, "export.bin") == "parquet"
    header = "name\tid32\tid64\tactive\tbalance\tratio\tborn\tseen\tamount\tnote"
    assert read(data) == "row group 1 of 1\n\n" + "\n".join([header, *FLAT_LINES])
    result = extract(data, "x.parquet")
    assert (result.status, result.file_type) == ("ok", "parquet") and result.text.rstrip("\n") == read(data)


def test_a_file_framed_by_the_magic_or_cut_after_its_first_page_header_is_parquet() -> None:
    data = parquet(flat_table())
    assert not is_parquet(b"PAR1 and some text") and sniff(b"PAR1 and some text", "a.txt") == "text"
    assert is_parquet(data[:-4] + b"PARE")  # an encrypted footer's magic
    cut = extract(data[:-1], "x.parquet")  # the first page's header still says what it is
    assert is_parquet(data[:-1]) and cut.file_type == "parquet" and cut.status == "unscannable"
    assert "cut short" in (cut.reason or "")


@pytest.mark.parametrize(("kind", "values"), [
    (pa.int8(), [-128, 127, None, 0]), (pa.int16(), [-32768, 32767, None, 1]),
    (pa.uint8(), [255, 0, None, 1]), (pa.uint16(), [65535, 0, None, 1]),
    (pa.uint32(), [4294967295, 2147483648, None, 1]), (pa.uint64(), [18446744073709551615, 9223372036854775808, None, 1]),
])
def test_integers_keep_their_sign(kind: pa.DataType, values: list[int | None]) -> None:
    table = pa.table({"n": pa.array(range(4), pa.int32()), "v": pa.array(values, kind)})
    assert read(parquet(table)) == text_of([{"n": ["0", "1", "2", "3"], "v": [cell(v, kind) for v in values]}])


DECIMALS = {  # type, values written, their cells, writer options
    "d10_2": (pa.decimal128(10, 2), ["-123.45", "0.05", "7", None, "99999999.99", "-0.01"],
              ["-123.45", "0.05", "7.00", "", "99999999.99", "-0.01"], {}),
    "d5_0": (pa.decimal128(5, 0), ["42", "-7", None, "0", "99999", "-99999"], ["42", "-7", "", "0", "99999", "-99999"], {}),
    "d38_10": (pa.decimal128(38, 10), ["-1234567890123456789012345678.0123456789", "0", None, "1.5", "5", "-5"],
               ["-1234567890123456789012345678.0123456789", "0.0000000000", "", "1.5000000000", "5.0000000000",
                "-5.0000000000"], {}),
    "d256": (pa.decimal256(50, 5), ["123456789012345678901234567890123456789012345.00001", "-1.5", None, "0", "1", "-2"],
             ["123456789012345678901234567890123456789012345.00001", "-1.50000", "", "0.00000", "1.00000", "-2.00000"], {}),
    "int32": (pa.decimal128(9, 3), ["-123456.789", "0.001", None, "999999.999", "1", "-2"],
              ["-123456.789", "0.001", "", "999999.999", "1.000", "-2.000"], {"store_decimal_as_integer": True}),
    "int64": (pa.decimal128(18, 4), ["-12345678901234.5678", "0.0001", None, "1", "2", "-3"],
              ["-12345678901234.5678", "0.0001", "", "1.0000", "2.0000", "-3.0000"], {"store_decimal_as_integer": True}),
}


@pytest.mark.parametrize("case", DECIMALS)
def test_decimals_are_exact_with_their_scale(case: str) -> None:
    kind, values, exact, options = DECIMALS[case]
    table = pa.table({"n": pa.array(range(6), pa.int32()),
                      "d": pa.array([None if v is None else Decimal(v) for v in values], kind)})
    assert cells(table.column("d").chunk(0)) == exact  # the oracle agrees with the contract's examples
    assert read(parquet(table, **options)) == text_of([{"n": [str(i) for i in range(6)], "d": exact}])


# --- codecs, page versions, dictionaries, pages, row groups ---------------------------------------

NAMES = ["Anna Müller", "张伟", "O'Brien", "Zoë Ω"]


def customers(count: int) -> pa.Table:
    ids = range(count)
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "name": pa.array([NAMES[i % 4] if i % 11 else None for i in ids], pa.string()),
        "card": pa.array([f"4{i * 7919:015d}" for i in ids], pa.string()),
        "amount": pa.array([i / 8 - 100 if i % 13 else None for i in ids], pa.float64()),
        "ratio": pa.array([i / 7 for i in ids], pa.float32()),
        "flag": pa.array([None if i % 17 == 0 else i % 3 == 0 for i in ids], pa.bool_()),
        "day": pa.array([date(2020, 1, 1) + timedelta(days=i) for i in ids], pa.date32()),
        "price": pa.array([Decimal(i * 37 - 5000).scaleb(-2) for i in ids], pa.decimal128(12, 2)),
    })


def test_the_oracle_formats_float32_as_the_contract_says() -> None:
    assert cells(pa.array([1 / 7, 3.0], pa.float32())) == [format(float32(1 / 7), ".7g"), "3"] == ["0.1428571", "3"]


@pytest.mark.parametrize("dictionary", [True, False], ids=["dictionary", "plain"])
@pytest.mark.parametrize("version", ["1.0", "2.0"], ids=["v1", "v2"])
@pytest.mark.parametrize("codec", ["none", "snappy", "gzip", "zstd", "lz4"])
def test_every_codec_page_version_and_dictionary_setting_is_read(codec: str, version: str, dictionary: bool) -> None:
    """3,000 rows in three row groups, pages of 2 KB; a dictionary page of 4 KB at most, so
    the unique columns fall back to plain pages part of the way through a column chunk."""
    table = customers(3000)
    data = parquet(table, compression=codec, data_page_version=version, use_dictionary=dictionary,
                   row_group_size=1000, data_page_size=2048, dictionary_pagesize_limit=4096)
    meta = pq.ParquetFile(pa.BufferReader(data)).metadata
    assert meta.num_row_groups == 3 and meta.row_group(0).column(2).total_uncompressed_size > 4 * 4096
    assert read(data) == text_of(groups_of(table, 1000))


@pytest.mark.parametrize("options", [
    {"write_statistics": False}, {"write_statistics": ["id"]}, {"write_page_index": True},
    {"write_page_checksum": True}, {"version": "1.0"}, {"store_schema": False}, {"max_rows_per_page": 7},
], ids=["no_statistics", "some_statistics", "page_index", "checksums", "format_1_0", "no_arrow_schema", "tiny_pages"])
def test_writer_options_do_not_change_the_text(options: dict[str, Any]) -> None:
    table = customers(300)
    assert read(parquet(table, row_group_size=100, **options)) == text_of(groups_of(table, 100))


def test_dictionary_typed_columns_read_as_their_values() -> None:
    words = pa.array(["visa", "amex", None, "visa", "mastercard"] * 40).dictionary_encode()
    table = pa.table({"n": pa.array(range(200), pa.int32()), "brand": words})
    expected = {"n": [str(i) for i in range(200)], "brand": ["visa", "amex", "", "visa", "mastercard"] * 40}
    assert read(parquet(table)) == text_of([expected])


# --- the non-default encodings --------------------------------------------------------------------

def _random_ints(bits: int, count: int) -> list[int | None]:
    rng = random.Random(bits)
    top = 1 << (bits - 1)
    walk = [1_000 + i * 3 + rng.randint(-2, 2) for i in range(count // 2)]  # small deltas: narrow miniblocks
    wide = [rng.randint(-top, top - 1) for _ in range(count // 2 - 6)]
    values: list[int | None] = [*walk, top - 1, -top, 0, top - 1, -top, -1, *wide]  # deltas that wrap
    return [None if i % 29 == 5 else v for i, v in enumerate(values)]


def _texts(count: int) -> list[str | None]:
    rng = random.Random(3)
    words = ["", "a", "Müller", "tab\tand\nbreak", "x" * 300, "张伟"]
    return [None if i % 31 == 7 else words[i % 6] + "".join(rng.choices("abc", k=rng.randint(0, 9)))
            for i in range(count)]


ENCODED = {
    "delta_int32": (pa.int32(), _random_ints(32, 1000), "DELTA_BINARY_PACKED"),
    "delta_int64": (pa.int64(), _random_ints(64, 1000), "DELTA_BINARY_PACKED"),
    "delta_length": (pa.string(), _texts(1000), "DELTA_LENGTH_BYTE_ARRAY"),
    "delta_length_binary": (pa.binary(), [None if v is None else v.encode() for v in _texts(1000)], "DELTA_LENGTH_BYTE_ARRAY"),
    "delta_byte_array": (pa.string(), [None if i % 37 == 1 else f"https://example.com/customers/{i // 3:05d}/card{i % 3}"
                                       for i in range(1000)] + ["zzz", ""], "DELTA_BYTE_ARRAY"),
    "delta_byte_array_fixed": (pa.decimal128(12, 2), [Decimal(i * 101 - 7000).scaleb(-2) for i in range(1000)], "DELTA_BYTE_ARRAY"),
    "split_float": (pa.float32(), [None if i % 23 == 0 else i / 3 - 50 for i in range(1000)], "BYTE_STREAM_SPLIT"),
    "split_double": (pa.float64(), [None if i % 23 == 0 else i / 3 - 50 for i in range(1000)], "BYTE_STREAM_SPLIT"),
    "split_int32": (pa.int32(), _random_ints(32, 1000), "BYTE_STREAM_SPLIT"),
    "split_int64": (pa.int64(), _random_ints(64, 1000), "BYTE_STREAM_SPLIT"),
    "split_fixed": (pa.decimal128(12, 2), [Decimal(i * 101 - 7000).scaleb(-2) for i in range(1000)], "BYTE_STREAM_SPLIT"),
}


@pytest.mark.parametrize("version", ["1.0", "2.0"], ids=["v1", "v2"])
@pytest.mark.parametrize("case", ENCODED)
def test_each_encoding_is_read(case: str, version: str) -> None:
    kind, values, encoding = ENCODED[case]
    table = pa.table({"n": pa.array(range(len(values)), pa.int32()), "v": pa.array(values, kind)})
    data = parquet(table, use_dictionary=False, column_encoding={"v": encoding}, data_page_size=1024,
                   data_page_version=version)
    assert encoding in pq.ParquetFile(pa.BufferReader(data)).metadata.row_group(0).column(1).encodings
    assert read(data) == text_of([{"n": [str(i) for i in range(len(values))], "v": cells(table.column("v").chunk(0))}])


# --- nested columns -------------------------------------------------------------------------------

def test_lists_structs_and_maps_are_read_under_their_dotted_names() -> None:
    table = pa.table({
        "id": pa.array([1, 2, 3, 4], pa.int32()),
        "cards": pa.array([["4111111111111111", "5500000000000004"], None, [], ["a\tb"]], pa.list_(pa.string())),
        "counts": pa.array([[1, None, 3], None, [], [None]], pa.list_(pa.int64())),
        "s": pa.array([{"a": "x", "b": 1}, None, {"a": None, "b": 2}, {"a": "tab\tin", "b": None}],
                      pa.struct([("a", pa.string()), ("b", pa.int32())])),
        "m": pa.array([[("k1", "v1"), ("k2", "v2")], None, [], [("k3", None)]], pa.map_(pa.string(), pa.string())),
        "ls": pa.array([[{"x": "a", "y": 1}, {"x": "b", "y": None}], None, [], [{"x": None, "y": 3}]],
                       pa.list_(pa.struct([("x", pa.string()), ("y", pa.int64())]))),
    })
    expected = {
        "id": ["1", "2", "3", "4"], "cards": ["4111111111111111, 5500000000000004", "", "", "a b"],
        "counts": ["1, 3", "", "", ""], "s.a": ["x", "", "", "tab in"], "s.b": ["1", "", "2", ""],
        "m.key": ["k1, k2", "", "", "k3"], "m.value": ["v1, v2", "", "", ""],
        "ls.x": ["a, b", "", "", ""], "ls.y": ["1", "", "", "3"],
    }
    for options in ({}, {"use_compliant_nested_type": False}, {"data_page_version": "2.0", "compression": "zstd"}):
        assert read(parquet(table, **options)) == text_of([expected]), options


def test_required_columns_and_lists_are_read() -> None:
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False),
                        pa.field("ids", pa.list_(pa.field("item", pa.int64(), nullable=False)), nullable=False),
                        pa.field("who", pa.struct([pa.field("name", pa.string(), nullable=False)]), nullable=False)])
    table = pa.Table.from_pylist([{"id": i, "ids": list(range(i)), "who": {"name": f"p{i}"}} for i in range(300)],
                                 schema=schema)
    expected = {"id": [str(i) for i in range(300)], "ids": [", ".join(map(str, range(i))) for i in range(300)],
                "who.name": [f"p{i}" for i in range(300)]}
    assert read(parquet(table, data_page_size=1024)) == text_of([expected])


# --- timestamps and UUIDs -------------------------------------------------------------------------

MICROS = {"ms": 1000, "us": 1, "ns": 1}
STAMPS = {  # values in the unit, and their micro-seconds since the epoch
    "ms": ([0, 1_709_970_000_123, -1, 1_700_000_000_000], lambda v: v * 1000),
    "us": ([0, 1_709_970_000_123_456, -1, -86_400_000_000 * 365], lambda v: v),
    "ns": ([0, 1_709_970_000_123_456_789, 999, 1_700_000_000_000_000_000], lambda v: v // 1000),
}


@pytest.mark.parametrize("int96", [False, True], ids=["int64", "int96"])
@pytest.mark.parametrize("zone", [None, "UTC", "America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("unit", ["ms", "us", "ns"])
def test_timestamps_are_utc_as_stored(unit: str, zone: str | None, int96: bool) -> None:
    values, to_micros = STAMPS[unit]
    table = pa.table({"n": pa.array(range(5), pa.int32()), "at": pa.array([*values, None], pa.timestamp(unit, zone))})
    data = parquet(table, use_deprecated_int96_timestamps=int96)
    physical = pq.ParquetFile(pa.BufferReader(data)).schema.column(1).physical_type
    assert physical == ("INT96" if int96 else "INT64")
    expected = [at_micros(to_micros(v)) for v in values] + [""]
    assert expected[1].endswith((".123000", ".123456"))
    assert read(data) == text_of([{"n": ["0", "1", "2", "3", "4"], "at": expected}])


def test_uuids_read_in_their_canonical_form() -> None:
    assert hasattr(pa, "uuid")  # pyarrow >= 18; this test is the reason for the floor in the test extras
    ids = [uuid.UUID("12345678-1234-5678-9abc-def012345678"), None, uuid.UUID(int=0), uuid.UUID(int=(1 << 128) - 1)]
    table = pa.table({"n": pa.array(range(4), pa.int32()),
                      "u": pa.array([None if u is None else u.bytes for u in ids], pa.uuid())})
    assert read(parquet(table)) == text_of([{"n": ["0", "1", "2", "3"], "u": ["" if u is None else str(u) for u in ids]}])


# --- what cannot be read --------------------------------------------------------------------------

def test_a_brotli_column_is_named_and_the_others_read() -> None:
    table = pa.table({"id": pa.array([1, 2], pa.int64()), "secret": ["4111111111111111", "x"], "note": ["a", "b"]})
    data = parquet(table, compression={"id": "snappy", "secret": "brotli", "note": "gzip"})
    text, problems = parquet_content(data, Budget(DEFAULT_LIMITS, len(data)), "x.parquet")
    assert text.rstrip("\n") == text_of([{"id": ["1", "2"], "secret": ["", ""], "note": ["a", "b"]}])
    assert problems and all(p.startswith("x.parquet") for p in problems) and any("BROTLI" in p for p in problems)
    result = extract(data, "x.parquet")
    assert result.status == "unscannable" and "BROTLI" in (result.reason or "")
    assert result.text.rstrip("\n") == text.rstrip("\n")


class _PlainKms(pe.KmsClient):  # type: ignore[misc]
    """Keys "wrapped" by base64: enough for pyarrow to write real modular encryption (AES-GCM)."""

    def __init__(self, config: pe.KmsConnectionConfig) -> None:
        super().__init__()

    def wrap_key(self, key_bytes: bytes, master_key_identifier: str) -> bytes:
        return base64.b64encode(key_bytes)

    def unwrap_key(self, wrapped_key: bytes, master_key_identifier: str) -> bytes:
        return base64.b64decode(wrapped_key)


def encrypted(table: pa.Table, *, plaintext_footer: bool) -> bytes:
    settings = pe.EncryptionConfiguration(footer_key="footer", column_keys={"column": ["secret"]},
                                          plaintext_footer=plaintext_footer, double_wrapping=False)
    properties = pe.CryptoFactory(_PlainKms).file_encryption_properties(pe.KmsConnectionConfig(), settings)
    return parquet(table, encryption_properties=properties)


def test_an_encrypted_footer_is_encrypted() -> None:
    data = encrypted(pa.table({"secret": [CARDS[0]], "other": ["x"]}), plaintext_footer=False)
    assert data[:4] == data[-4:] == b"PARE" and is_parquet(data)
    result = extract(data, "x.parquet")
    assert (result.status, result.file_type) == ("encrypted", "parquet") and CARDS[0] not in result.text


def test_encrypted_columns_under_a_plain_footer_are_not_passed_as_read() -> None:
    """Beyond the contract: the footer is readable (PAR1), one column is encrypted."""
    data = encrypted(pa.table({"secret": [CARDS[0]], "other": ["x"]}), plaintext_footer=True)
    assert data[:4] == data[-4:] == b"PAR1"
    assert extract(data, "x.parquet").status in ("encrypted", "unscannable")


# --- damage ---------------------------------------------------------------------------------------

@functools.cache
def two_groups() -> tuple[bytes, str]:
    """A snappy file of two row groups, no dictionaries (each chunk starts with a data page), and its text."""
    table = customers(40)
    return parquet(table, row_group_size=20, use_dictionary=False), text_of(groups_of(table, 20))


def chunk(data: bytes, group: int, column: int) -> tuple[int, int]:
    meta = pq.ParquetFile(pa.BufferReader(data)).metadata.row_group(group).column(column)
    start = meta.dictionary_page_offset if meta.has_dictionary_page else meta.data_page_offset
    return start, start + meta.total_compressed_size


def page_sizes(data: bytes, at: int) -> list[tuple[int, int, int]]:
    """(start, end, value) of a page header's first three fields: type, uncompressed and compressed
    size, each a thrift compact i32 (field header 0x15, then a zigzag varint)."""
    fields = []
    for _ in range(3):
        assert data[at] == 0x15
        start = at = at + 1
        value = shift = 0
        while True:
            value |= (data[at] & 0x7F) << shift
            shift, at = shift + 7, at + 1
            if data[at - 1] < 0x80:
                break
        fields.append((start, at, (value >> 1) ^ -(value & 1)))
    return fields


def varint(value: int) -> bytes:
    zigzag, out = (value << 1) ^ (value >> 63), bytearray()
    while zigzag >= 0x80:
        out.append(zigzag & 0x7F | 0x80)
        zigzag >>= 7
    return bytes([*out, zigzag])


def footer_span(data: bytes) -> tuple[int, int]:
    size = int.from_bytes(data[-8:-4], "little")
    return len(data) - 8 - size, len(data) - 8


def _overwrite(data: bytes, at: int, junk: bytes) -> bytes:
    return data[:at] + junk + data[at + len(junk):]


def _footer_length(value: int) -> Callable[[bytes], bytes]:
    return lambda data: data[:-8] + value.to_bytes(4, "little") + data[-4:]


def _second_group_header(data: bytes) -> bytes:
    return _overwrite(data, chunk(data, 1, 0)[0], b"\xff" * 12)


def _page_past_the_end(data: bytes) -> bytes:
    start, end, _ = page_sizes(data, chunk(data, 1, 7)[0])[2]
    return data[:start] + varint(1 << 30) + data[end:]


def _arrow_schema_byte(data: bytes) -> bytes:
    at = data.index(b"ARROW:schema") + 40  # inside the base64 value after the key
    return _overwrite(data, at, b"A" if data[at:at + 1] != b"A" else b"B")


DAMAGE: dict[str, tuple[Callable[[bytes], bytes], set[str]]] = {
    "footer_length_huge": (_footer_length(0xFFFFFFFF), {"unscannable"}),
    "footer_length_whole_file": (lambda d: _footer_length(len(d))(d), {"unscannable"}),
    "footer_length_zero": (_footer_length(0), {"unscannable"}),
    "footer_junk": (lambda d: _overwrite(d, footer_span(d)[0], b"\xff" * 16), {"unscannable"}),
    "footer_half_gone": (lambda d: d[:footer_span(d)[0]] + d[sum(footer_span(d)) // 2:], {"unscannable"}),
    "middle_cut_out": (lambda d: d[:len(d) // 3] + d[len(d) // 2:], {"unscannable"}),
    "magic_only": (lambda d: b"PAR1\x00\x00\x00\x00PAR1", {"unscannable"}),
    "second_group_page_header": (_second_group_header, {"unscannable"}),
    "page_past_the_end": (_page_past_the_end, {"unscannable"}),
    "page_data_junk": (lambda d: _overwrite(d, chunk(d, 1, 1)[0] + 24, b"\xa5" * 40), {"ok", "unscannable"}),
    "cut_in_half": (lambda d: d[:len(d) // 2], {"ok", "unscannable"}),
    "last_byte_cut": (lambda d: d[:-1], {"ok", "unscannable"}),
    "arrow_schema_byte": (_arrow_schema_byte, {"ok"}),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damage_never_raises(damage: str) -> None:
    mutate, statuses = DAMAGE[damage]
    good, text = two_groups()
    data = mutate(good)
    assert data != good
    result = extract(data, "x.parquet")
    assert result.status in statuses, (result.status, result.reason)
    assert result.status == "ok" or result.reason
    if damage == "arrow_schema_byte":
        assert result.text.rstrip("\n") == text
    if damage in ("second_group_page_header", "page_past_the_end"):
        first = text[:text.index("\n\nrow group 2 of 2")]
        assert result.text.startswith(first + "\n"), result.text[:300]


def test_the_damage_helpers_find_the_pages() -> None:
    data, _ = two_groups()
    kind, uncompressed, compressed = (value for _, _, value in page_sizes(data, chunk(data, 1, 7)[0]))
    assert kind == 0 and uncompressed > 0 and compressed > 0  # DATA_PAGE


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=10),
       st.none() | st.tuples(st.integers(0, 1 << 20), st.integers(1, 600)))
def test_mutated_files_never_raise(changes: list[tuple[int, int]], cut: tuple[int, int] | None) -> None:
    good, _ = two_groups()
    data = bytearray(good)
    for offset, value in changes:  # anywhere between the two magic numbers, footer length included
        data[4 + offset % (len(data) - 8)] = value
    if cut is not None:
        at = 4 + cut[0] % (len(data) - 8)
        del data[at:min(at + cut[1], len(data) - 8)]
    result = extract(bytes(data), "x.parquet")
    assert isinstance(result.text, str) and result.status in ("ok", "unscannable", "encrypted")


# --- bombs ----------------------------------------------------------------------------------------

@functools.cache
def bomb() -> bytes:
    """One GZIP page of one 32 MB value of zeros: 32 KB on disk."""
    table = pa.table({"n": pa.array([1], pa.int32()), "blob": pa.array([bytes(32 << 20)], pa.binary())})
    return parquet(table, compression="gzip", use_dictionary=False)


def test_a_page_that_inflates_past_the_limit_is_a_bomb() -> None:
    data = bomb()
    assert len(data) < 200_000
    result, peak = peak_while(lambda: extract(data, "x.parquet", limits=Limits(max_expanded_bytes=1 << 20)))
    assert result.status == "unscannable" and "expands beyond" in (result.reason or ""), result.reason
    assert peak < 12 << 20


def test_a_page_that_lies_about_its_size_is_not_inflated_past_it() -> None:
    data = bomb()
    _, (start, end, claimed), _ = page_sizes(data, chunk(data, 0, 1)[0])
    assert claimed > 32 << 20 and len(varint(1 << 20)) == end - start
    lying = data[:start] + varint(1 << 20) + data[end:]
    result, peak = peak_while(lambda: extract(lying, "x.parquet", limits=Limits(max_expanded_bytes=1 << 20)))
    assert result.status == "unscannable" and result.reason
    assert peak < 12 << 20


# --- wide and empty tables (detectors: test_columnar_readers.py) -------------------------------------------------------------

def test_a_wide_table_is_read() -> None:
    table, expected = wide(lambda i: f"c{i:03d}")
    assert read(parquet(table)) == text_of([expected])


def test_a_table_without_rows_is_its_header() -> None:
    table = pa.table({"name": pa.array([], pa.string()), "id": pa.array([], pa.int64())})
    data = parquet(table)
    assert pq.ParquetFile(pa.BufferReader(data)).metadata.num_row_groups == 1
    assert read(data) == "row group 1 of 1\n\nname\tid"


def test_a_file_without_row_groups_has_no_text() -> None:
    sink = pa.BufferOutputStream()
    pq.ParquetWriter(sink, pa.schema([("name", pa.string())])).close()
    data = bytes(sink.getvalue().to_pybytes())
    assert pq.ParquetFile(pa.BufferReader(data)).metadata.num_row_groups == 0
    result = extract(data, "x.parquet")
    assert (result.status, result.file_type, result.text.strip()) == ("ok", "parquet", "")
