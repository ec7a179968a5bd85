"""Apache ORC files, every one written by pyarrow (Apache ORC's C++ writer, the one pandas and most
Arrow-based tools use), read back by `rules.extract.orc`.

Expected texts are built from the Python values by the reader's contract, not from the reader: a
cell is formatted by `cell` below, nested columns spread by `flatten`, a file's text laid out by
`text_of`; `test_the_oracle_*` hold the oracle to the contract's examples and to pyarrow's reader.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.orc as orc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.extract import Limits, extract
from rules.extract.budget import DEFAULT_LIMITS, Budget, Unscannable
from rules.extract.orc import is_orc, orc_content
from rules.extract.sniff import sniff
from tests.rules import orc_samples as samples
from tests.rules.columnar import CARDS, peak_while, plain_cell, wide
from tests.rules.orc_samples import data_stream, orc_file, overwrite, tail

EPOCH = datetime(1970, 1, 1)
NANOS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def read(data: bytes) -> str:
    """The reader's text, its trailing blank lines aside; a file written by pyarrow has no problems."""
    text, problems = orc_content(data, Budget(DEFAULT_LIMITS, len(data)), "x.orc")
    assert problems == []
    return text.rstrip("\n")


def text_of(stripes: Sequence[dict[str, list[str]]]) -> str:
    """The contract's layout: per stripe a heading, a blank line, the header and the rows; trailing
    newlines left out, as `read` leaves them (a last row of empty cells among them)."""
    blocks = []
    for n, columns in enumerate(stripes, 1):
        lines = ["\t".join(columns), *("\t".join(row) for row in zip(*columns.values(), strict=True))]
        blocks.append(f"stripe {n} of {len(stripes)}\n\n" + "\n".join(lines))
    return "\n\n".join(blocks).rstrip("\n")


def at_nanos(nanos: int) -> str:
    return (EPOCH + timedelta(microseconds=nanos // 1000)).isoformat(sep=" ")


def cell(value: Any, kind: pa.DataType) -> str:
    """A scalar cell by the contract; a top-level timestamp comes as its count of `kind.unit`, one
    in a struct or a list as pyarrow's datetime (microseconds, in the column's zone)."""
    shown = plain_cell(value, kind)
    if shown is not None:
        return shown
    if pa.types.is_decimal(kind):
        return format(value.quantize(Decimal(1).scaleb(-kind.scale), context=Context(prec=100)), "f")
    if pa.types.is_timestamp(kind) and isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ") if value.tzinfo else value.isoformat(sep=" ")
    if pa.types.is_timestamp(kind):
        return at_nanos(value * NANOS[kind.unit])
    if pa.types.is_date(kind):
        return str(value.isoformat())
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        try:
            value = value.decode()
        except UnicodeDecodeError:
            return ""
    return str(value).replace("\t", " ").replace("\r", " ").replace("\n", " ")


def joined(kind: pa.DataType, lists: list[list[Any]]) -> list[str]:
    """A list's cell: its elements' cells joined, empty ones (null, "", bytes not UTF-8) left out, as
    the Parquet reader does (the contract leaves elements that show as nothing open)."""
    return [", ".join(c for c in (cell(v, kind) for v in items) if c) for items in lists]


def flatten(name: str, kind: pa.DataType, values: list[Any]) -> dict[str, list[str]]:
    """A column's cells under the contract's names: struct fields, map keys and values, list cells."""
    if pa.types.is_struct(kind):
        out: dict[str, list[str]] = {}
        for field in kind:
            out |= flatten(f"{name}.{field.name}", field.type, [None if v is None else v[field.name] for v in values])
        return out
    if pa.types.is_map(kind):
        return {f"{name}.key": joined(kind.key_type, [[k for k, _ in v or []] for v in values]),
                f"{name}.value": joined(kind.item_type, [[x for _, x in v or []] for v in values])}
    if pa.types.is_list(kind) and pa.types.is_struct(kind.value_type):
        return {f"{name}.{f.name}": joined(f.type, [[e and e[f.name] for e in v or []] for v in values])
                for f in kind.value_type}
    if pa.types.is_list(kind):
        return {name: joined(kind.value_type, [v or [] for v in values])}
    return {name: [cell(v, kind) for v in values]}


def columns_of(table: pa.Table) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for field in table.schema:
        array = table.column(field.name).combine_chunks()
        values = array.cast(pa.int64()) if pa.types.is_timestamp(field.type) else array
        out |= flatten(field.name, field.type, values.to_pylist())
    return out


def stripes_of(table: pa.Table, data: bytes) -> list[dict[str, list[str]]]:
    """The expected cells per stripe: the table's rows, cut where pyarrow's writer cut its stripes."""
    file, at, out = orc.ORCFile(pa.BufferReader(data)), 0, []
    for n in range(file.nstripes):
        rows = file.read_stripe(n).num_rows
        out.append(columns_of(table.slice(at, rows)))
        at += rows
    return out


# --- a flat table, cell for cell ------------------------------------------------------------------

FLAT = pa.schema([("name", pa.string()), ("i8", pa.int8()), ("i16", pa.int16()), ("i32", pa.int32()),
                  ("i64", pa.int64()), ("active", pa.bool_()), ("balance", pa.float64()), ("ratio", pa.float32()),
                  ("born", pa.date32()), ("seen", pa.timestamp("us")), ("amount", pa.decimal128(12, 2)),
                  ("note", pa.binary()), ("memo", pa.large_string())])
FLAT_ROWS = [
    ("Anna Müller", -128, -32768, -7, 9007199254740993, True, 4111111111111111.0, 0.1, date(1969, 7, 20),
     datetime(2024, 1, 2, 3, 4, 5), Decimal("-0.05"), b"called on Monday", "large"),
    (None, 127, 32767, 2147483647, -9223372036854775808, False, -2.0, 1.5, date(1970, 1, 1),
     datetime(2024, 1, 2, 3, 4, 5, 678901), Decimal("12"), b"\x00\xff\xfe\x80", None),
    ("tab\there\r\nnewline", None, None, None, None, None, None, None, None, None, None, None, "cr\rlf\n"),
    ("张伟", 0, 1, -2147483648, 9223372036854775807, True, 3.141592653589793, 16777216.0, date(1, 1, 1),
     datetime(1969, 12, 31, 23, 59, 59, 500000), Decimal("9999999999.99"), b"", "a\tb"),
    ("O'Brien", -1, -2, 0, 1, False, float("inf"), float("nan"), date(9999, 12, 31), datetime(1900, 1, 1),
     Decimal("0"), b"tab\t\xe5\xbc\xa0", ""),
    ("", 1, 0, 1, -1, True, 1e17, float("-inf"), date(2000, 2, 29), datetime(2262, 4, 11), Decimal("-123.45"),
     None, "ok"),
]
FLAT_LINES = [
    "Anna Müller\t-128\t-32768\t-7\t9007199254740993\ttrue\t4111111111111111\t0.1\t1969-07-20\t2024-01-02 03:04:05\t-0.05\tcalled on Monday\tlarge",
    "\t127\t32767\t2147483647\t-9223372036854775808\tfalse\t-2\t1.5\t1970-01-01\t2024-01-02 03:04:05.678901\t12.00\t\t",
    "tab here  newline\t\t\t\t\t\t\t\t\t\t\t\tcr lf ",
    "张伟\t0\t1\t-2147483648\t9223372036854775807\ttrue\t3.14159265358979\t16777216\t0001-01-01\t1969-12-31 23:59:59.500000\t9999999999.99\t\ta b",
    "O'Brien\t-1\t-2\t0\t1\tfalse\tinf\tnan\t9999-12-31\t1900-01-01 00:00:00\t0.00\ttab 张\t",
    "\t1\t0\t1\t-1\ttrue\t1e+17\t-inf\t2000-02-29\t2262-04-11 00:00:00\t-123.45\t\tok",
]


@functools.cache
def sample_customers() -> pa.Table:
    """Enough rows for stripes of several compression blocks and stripes of more than 4,096 rows."""
    return samples.customers(5000)


def flat_table() -> pa.Table:
    return pa.Table.from_pylist([dict(zip(FLAT.names, row, strict=True)) for row in FLAT_ROWS], schema=FLAT)


def test_the_oracle_formats_the_contracts_examples_as_pyarrow_reads_them() -> None:
    table, header = flat_table(), "\t".join(FLAT.names)
    expected = "stripe 1 of 1\n\n" + "\n".join([header, *FLAT_LINES])
    assert text_of([columns_of(table)]) == expected
    assert text_of([columns_of(samples.pyarrow_read(orc_file(table)))]) == expected  # large_string, ns stamps back
    many = sample_customers()  # every scalar type, thousands of random values
    assert columns_of(many) == columns_of(samples.pyarrow_read(orc_file(many, compression="zstd")))


def test_a_flat_table_is_read_cell_for_cell() -> None:
    data = orc_file(flat_table())
    assert is_orc(data) and sniff(data, "export.bin") == "orc"
    assert read(data) == "stripe 1 of 1\n\n" + "\n".join(["\t".join(FLAT.names), *FLAT_LINES])
    result = extract(data, "x.orc")
    assert (result.status, result.file_type) == ("ok", "orc") and result.text.rstrip("\n") == read(data)


def test_only_a_file_with_an_orc_tail_or_binary_after_the_magic_is_orc() -> None:
    data, notes = orc_file(flat_table()), b"ORC meeting notes\n"
    assert not is_orc(notes) and sniff(notes, "a.txt") == "text" and is_orc(data[:-1])
    cut = extract(data[:-1], "x.orc")
    assert (cut.file_type, cut.status) == ("orc", "unscannable") and "cut short" in (cut.reason or ""), cut.reason
    for bad in (notes, data[:-1], data[:len(data) // 2]):
        with pytest.raises(Unscannable):
            orc_content(bad, Budget(DEFAULT_LIMITS, len(bad)), "x.orc")


FLOATS = [0.1, 1 / 3, -2.0, 123456789.0, 1e16, 1e17, -1e17, 2.0**70, 1e-45, 2.5e-07, -0.0, 3.4028234663852886e38,
          float("inf"), float("nan"), None]
FLOAT_CELLS = {
    "float": ["0.1", "0.3333333", "-2", "123456792", "10000000272564224", "99999998430674944", "-99999998430674944",
              "1.180592e+21", "1.401298e-45", "2.5e-07", "0", "3.402823e+38", "inf", "nan", ""],
    "double": ["0.1", "0.333333333333333", "-2", "123456789", "10000000000000000", "1e+17", "-1e+17",
               "1.18059162071741e+21", "1e-45", "2.5e-07", "0", "3.40282346638529e+38", "inf", "nan", ""],
}


@pytest.mark.parametrize("kind", [pa.float32(), pa.float64()], ids=["float", "double"])
def test_floats_are_whole_below_1e17_else_significant_digits(kind: pa.DataType) -> None:
    table = pa.table({"n": pa.array(range(len(FLOATS)), pa.int32()), "v": pa.array(FLOATS, kind)})
    data = orc_file(table)
    expected = columns_of(table)
    assert expected["v"] == FLOAT_CELLS[str(kind)] and expected == columns_of(samples.pyarrow_read(data))
    assert read(data) == text_of([expected])


# --- decimals and timestamps ----------------------------------------------------------------------

@pytest.mark.parametrize(("precision", "scale"), [(1, 0), (5, 2), (10, 2), (18, 6), (19, 4), (28, 0), (38, 10),
                                                  (38, 0), (38, 38)])
def test_decimals_are_exact_with_their_scale(precision: int, scale: int) -> None:
    values = samples.decimals(precision, scale)
    table = pa.table({"n": pa.array(range(len(values)), pa.int32()), "d": pa.array(values, pa.decimal128(precision, scale))})
    data = orc_file(table)
    expected = columns_of(table)
    assert expected == columns_of(samples.pyarrow_read(data))
    assert all(c == "" or len(c.partition(".")[2]) == scale for c in expected["d"])
    assert read(data) == text_of([expected])


STAMPS = {  # in the unit: the epoch, fractions, before 1970, around ORC's 2015 base; year 1 is out of ns range
    "s": [0, 1_709_970_000, -1, -2_208_988_800, 1_420_070_400],
    "ms": [0, 1_709_970_000_123, -1, -2_208_988_800_001, 1_420_070_399_999],
    "us": [0, 1_709_970_000_123_456, -1, -86_400_000_000 * 365 * 70 - 1, 1_420_070_399_500_000],
    "ns": [0, 1_709_970_000_123_456_789, 999, -1, -1_500, -2_208_988_800_000_000_001, 1_420_070_400_000_000_001],
}


@pytest.mark.parametrize("zone", [None, "UTC", "America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_timestamps_read_as_written_and_zoned_ones_in_utc(unit: str, zone: str | None) -> None:
    values = STAMPS[unit]
    table = pa.table({"n": pa.array(range(len(values) + 1), pa.int32()),
                      "at": pa.array([*values, None], pa.timestamp(unit, zone))})
    data = orc_file(table)
    expected = {"n": [str(i) for i in range(len(values) + 1)], "at": [at_nanos(v * NANOS[unit]) for v in values] + [""]}
    assert columns_of(table) == expected == columns_of(samples.pyarrow_read(data))
    assert read(data) == text_of([expected])


def shown_in(zone: str, wall: datetime) -> str:
    """A wall-clock time written as if in GMT, read from a file that says it was written in `zone`:
    ORC keeps seconds from 2015-01-01 00:00 in the writer's zone, shown in that zone."""
    instant = datetime(2015, 1, 1, tzinfo=ZoneInfo(zone)).astimezone(UTC) + (wall - datetime(2015, 1, 1))
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None).isoformat(sep=" ")


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"])
def test_naive_timestamps_follow_the_writers_time_zone_and_zoned_ones_do_not(zone: str) -> None:
    walls = [datetime(2024, 1, 15, 12), datetime(2024, 7, 15, 12, 0, 0, 250000), datetime(1960, 7, 1), datetime(2015, 1, 1)]
    table = pa.table({"at": pa.array(walls, pa.timestamp("us")), "utc": pa.array(walls, pa.timestamp("us", "UTC"))})
    data = samples.with_writer_zone(orc_file(table), zone)
    expected = {"at": [shown_in(zone, w) for w in walls], "utc": [str(w) for w in walls]}
    assert shown_in("America/New_York", walls[1]) == "2024-07-15 13:00:00.250000"  # written in EDT, based in EST
    assert columns_of(samples.pyarrow_read(data)) == expected
    assert read(data) == text_of([expected])


# --- codecs, versions, dictionaries, stripes ------------------------------------------------------

def test_the_samples_make_the_encodings_the_codec_tests_are_for() -> None:
    """RLE v2's four integer sub-encodings, dictionaries forced and off, RLE v1 under version 0.11."""
    table = sample_customers()
    for threshold, version, string_encoding in [(1, "0.12", samples.DICTIONARY_V2), (0, "0.12", samples.DIRECT_V2),
                                                (1, "0.11", samples.DICTIONARY), (0, "0.11", samples.DIRECT)]:
        data = orc_file(table, dictionary_key_size_threshold=threshold, file_version=version)
        streams, encodings = samples.stripe_footer(data, samples.NONE, tail(data).stripes[0])
        assert encodings[6] == encodings[7] == string_encoding  # name, card
        if version == "0.12":
            for column in (2, 3):  # n64, n32
                (run,) = [s for s in streams if s.kind == samples.DATA and s.column == column]
                runs = samples.rle_v2_runs(data[run.at:run.at + run.length])
                assert runs == {"short repeat", "direct", "patched base", "delta"}


@pytest.mark.parametrize("version", ["0.11", "0.12"])
@pytest.mark.parametrize("dictionary", [1, 0], ids=["dictionary", "direct"])
@pytest.mark.parametrize("block", [65536, 262144])
@pytest.mark.parametrize("codec", ["uncompressed", "zlib", "snappy", "lz4", "zstd"])
def test_every_codec_block_size_version_and_dictionary_setting_is_read(codec: str, block: int, dictionary: int,
                                                                       version: str) -> None:
    table = sample_customers()
    data = orc_file(table, compression=codec, compression_block_size=block, dictionary_key_size_threshold=dictionary,
                    file_version=version, batch_size=500, stripe_size=1)
    assert read(data) == text_of(stripes_of(table, data))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_random_tables_read_as_the_oracle_says(draw: st.DataObject) -> None:
    rows, kinds = draw.draw(st.integers(0, 100)), draw.draw(st.lists(st.sampled_from(sorted(samples.SCALARS)), min_size=1, max_size=4))
    table = pa.table({f"{kind}{i}": pa.array(draw.draw(st.lists(st.none() | samples.SCALARS[kind][1], min_size=rows, max_size=rows)),
                                             samples.SCALARS[kind][0]) for i, kind in enumerate(kinds)})
    data = orc_file(table, compression=draw.draw(st.sampled_from(["uncompressed", "zlib", "snappy", "lz4", "zstd"])),
                    dictionary_key_size_threshold=draw.draw(st.sampled_from([0, 1])),
                    file_version=draw.draw(st.sampled_from(["0.11", "0.12"])))
    assert columns_of(table) == columns_of(samples.pyarrow_read(data))
    assert read(data) == text_of(stripes_of(table, data))


def test_each_stripe_is_its_own_block() -> None:
    table = samples.customers(700)
    data = orc_file(table, batch_size=100, stripe_size=1)
    stripes = stripes_of(table, data)
    assert len(stripes) == 7 and text_of(stripes).count("\n\nstripe ") == 6
    assert set(stripes[0]["late"] + stripes[-1]["never"]) == {""} and "" not in stripes[-1]["late"]
    assert read(data) == text_of(stripes)


@pytest.mark.parametrize("options", [
    {"row_index_stride": 64}, {"bloom_filter_columns": [0, 6, 7], "compression": "zlib"}, {"batch_size": 7},
    {"compression": "zstd", "compression_strategy": "compression"}, {"padding_tolerance": 0.9, "stripe_size": 1},
], ids=["small_row_groups", "bloom_filters", "tiny_batches", "strategy_compression", "padding"])
def test_writer_options_do_not_change_the_text(options: dict[str, Any]) -> None:
    table = samples.customers(500)
    data = orc_file(table, **options)
    assert read(data) == text_of(stripes_of(table, data))


# --- nested columns -------------------------------------------------------------------------------

def test_structs_lists_and_maps_are_read_under_their_dotted_names() -> None:
    inner = pa.struct([("c", pa.int32())])
    item = pa.struct([("x", pa.string()), ("y", pa.int64())])
    event = pa.struct([("at", pa.timestamp("us", "Asia/Kolkata")), ("day", pa.date32()), ("amount", pa.decimal128(10, 2)),
                       ("ok", pa.bool_()), ("f", pa.float32()), ("who", pa.binary())])
    first = {"at": datetime(2024, 1, 2, 3, 4, 5, 6), "day": date(1, 1, 1), "amount": Decimal("-0.05"), "ok": True,
             "f": 0.1, "who": "张伟".encode()}
    second = {"at": datetime(1969, 12, 31, 23, 59, 59), "day": date(9999, 12, 31), "amount": Decimal("12"),
              "ok": False, "f": 2.0, "who": b"\xff"}
    table = pa.table({
        "id": pa.array([1, 2, 3, 4], pa.int32()),
        "cards": pa.array([[CARDS[0], CARDS[1]], None, [], ["a\tb", ""]], pa.list_(pa.string())),
        "counts": pa.array([[1, None, -2, 3], None, [], [None]], pa.list_(pa.int64())),
        "s": pa.array([{"a": "x", "b": {"c": 1}, "tags": ["p", "q"]}, None, {"a": None, "b": None, "tags": []},
                       {"a": "tab\tin", "b": {"c": None}, "tags": None}],
                      pa.struct([("a", pa.string()), ("b", inner), ("tags", pa.list_(pa.string()))])),
        "m": pa.array([[("k1", 1.5), ("k2", 2.0)], None, [], [("k3", None)]], pa.map_(pa.string(), pa.float64())),
        "ls": pa.array([[{"x": "a", "y": 1}, {"x": "b", "y": -2}], None, [], [{"x": None, "y": 3}]], pa.list_(item)),
        "events": pa.array([[first, second], None, [], [dict.fromkeys(first)]], pa.list_(event)),
        "when": pa.array([{"at": datetime(1900, 1, 1, 0, 0, 1, 5)}, None, {"at": None}, {"at": datetime(2038, 1, 19)}],
                         pa.struct([("at", pa.timestamp("us"))])),
    })
    expected = {
        "id": ["1", "2", "3", "4"], "cards": [f"{CARDS[0]}, {CARDS[1]}", "", "", "a b"], "counts": ["1, -2, 3", "", "", ""],
        "s.a": ["x", "", "", "tab in"], "s.b.c": ["1", "", "", ""], "s.tags": ["p, q", "", "", ""],
        "m.key": ["k1, k2", "", "", "k3"], "m.value": ["1.5, 2", "", "", ""],
        "ls.x": ["a, b", "", "", ""], "ls.y": ["1, -2", "", "", "3"],
        "events.at": ["2024-01-02 03:04:05.000006, 1969-12-31 23:59:59", "", "", ""],
        "events.day": ["0001-01-01, 9999-12-31", "", "", ""], "events.amount": ["-0.05, 12.00", "", "", ""],
        "events.ok": ["true, false", "", "", ""], "events.f": ["0.1, 2", "", "", ""], "events.who": ["张伟", "", "", ""],
        "when.at": ["1900-01-01 00:00:01.000005", "", "", "2038-01-19 00:00:00"],
    }
    assert columns_of(table) == expected
    for options in ({}, {"compression": "zstd", "file_version": "0.11"}, {"compression": "zlib", "dictionary_key_size_threshold": 1}):
        data = orc_file(table, **options)
        assert columns_of(samples.pyarrow_read(data)) == expected
        assert read(data) == text_of([expected]), options


# --- column encryption (ORC 1.6), which pyarrow does not write: a footer that says so -------------

def test_a_file_whose_every_column_is_encrypted_is_encrypted() -> None:
    data = samples.with_encryption(orc_file(pa.table({"id": pa.array([1, 2], pa.int64()), "card": CARDS[:2]})), [1, 2])
    assert samples.pyarrow_read(data).num_rows == 2  # still a well-formed file
    result = extract(data, "x.orc")
    assert (result.status, result.file_type) == ("encrypted", "orc"), result.reason
    assert CARDS[0] not in result.text


def test_encrypted_columns_are_not_passed_as_read() -> None:
    data = samples.with_encryption(orc_file(pa.table({"id": pa.array([1, 2], pa.int64()), "card": CARDS[:2]})), [2])
    result = extract(data, "x.orc")
    assert result.status in ("encrypted", "unscannable") and "encrypted" in (result.reason or ""), result.reason


# --- damage ---------------------------------------------------------------------------------------

DAMAGE: dict[str, tuple[Callable[[bytes], bytes], set[str]]] = {
    "last_byte_cut": (lambda d: d[:-1], {"unscannable"}),
    "postscript_cut": (lambda d: d[:-10], {"unscannable"}),
    "footer_cut": (lambda d: d[:tail(d).footer_at + 5], {"unscannable"}),
    "cut_after_the_first_stripe": (lambda d: d[:tail(d).stripes[1].offset], {"unscannable"}),
    "cut_in_half": (lambda d: d[:len(d) // 2], {"unscannable"}),
    "cut_after_the_magic": (lambda d: d[:20], {"unscannable"}),
    "postscript_length_zero": (lambda d: d[:-1] + b"\x00", {"unscannable"}),
    "postscript_junk": (lambda d: overwrite(d, tail(d).postscript_at, b"\xff" * 6), {"unscannable"}),
    "postscript_magic": (lambda d: d[:-4] + b"ORX" + d[-1:], {"unscannable"}),
    "footer_junk": (lambda d: overwrite(d, tail(d).footer_at, b"\xff" * 16), {"unscannable"}),
    "footer_middle": (lambda d: overwrite(d, (tail(d).footer_at + tail(d).postscript_at) // 2, b"\xa5" * 8),
                      {"ok", "unscannable"}),
    "stripe_footer_junk": (lambda d: overwrite(d, tail(d).stripes[1].footer_at, b"\xff" * 8), {"unscannable"}),
    "chunk_header_too_long": (lambda d: overwrite(d, data_stream(d, 2), b"\xff\xff\xff"), {"unscannable"}),
    "stored_chunk_said_compressed": (samples.flip_chunk_kind(3), {"unscannable"}),
    "compressed_chunk_said_stored": (samples.flip_chunk_kind(2), {"ok", "unscannable"}),
    "data_byte": (lambda d: overwrite(d, data_stream(d, 2) + 40, b"\xa5"), {"ok", "unscannable"}),
    "magic_only": (lambda d: b"ORC", {"ok", "unscannable"}),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damage_never_raises(damage: str) -> None:
    mutate, statuses = DAMAGE[damage]
    good = samples.two_stripes()
    data = mutate(good)
    assert data != good
    result = extract(data, "x.orc")
    assert result.status in statuses, (result.status, result.reason)
    assert result.status == "ok" or result.reason
    if "cut" in damage:
        assert "cut short" in (result.reason or ""), result.reason


def test_the_damage_helpers_find_the_tail_and_the_chunks() -> None:
    data = samples.two_stripes()
    found = tail(data)
    assert found.codec == samples.ZLIB and len(found.stripes) == 2 and found.stripes[0].offset == 3
    assert data[found.postscript_at:-1].endswith(b"ORC") and data[-1] == len(data) - 1 - found.postscript_at
    cards, blobs = (int.from_bytes(data[data_stream(data, c):data_stream(data, c) + 3], "little") for c in (2, 3))
    assert cards & 1 == 0 and blobs & 1 == 1 and blobs >> 1 == 65536  # compressed; stored, a full block
    stored = data[data_stream(data, 3) + 3:data_stream(data, 3) + 3 + 65536]
    with pytest.raises(zlib.error):
        zlib.decompress(stored, -15)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=10),
       st.none() | st.tuples(st.integers(0, 1 << 20), st.integers(1, 600)))
def test_mutated_files_never_raise(changes: list[tuple[int, int]], cut: tuple[int, int] | None) -> None:
    good = samples.two_stripes()
    data = bytearray(good)
    for offset, value in changes:  # anywhere past the magic, the postscript's length included
        data[3 + offset % (len(data) - 3)] = value
    if cut is not None:
        at = 3 + cut[0] % (len(data) - 3)
        del data[at:at + cut[1]]
    result = extract(bytes(data), "x.orc")
    assert isinstance(result.text, str) and result.status in ("ok", "unscannable", "encrypted")


# --- a bomb ---------------------------------------------------------------------------------------

def test_chunks_that_inflate_past_the_limit_are_a_bomb() -> None:
    """32 MB of one character in 64 KB ZLIB chunks: tens of KB on disk."""
    table = pa.table({"n": pa.array(range(32), pa.int32()), "blob": pa.array(["a" * (1 << 20)] * 32, pa.string())})
    data = orc_file(table, compression="zlib", dictionary_key_size_threshold=0)
    assert len(data) < 200_000
    result, peak = peak_while(lambda: extract(data, "x.orc", limits=Limits(max_expanded_bytes=1 << 20)))
    assert result.status == "unscannable" and "expands beyond" in (result.reason or ""), result.reason
    assert peak < 16 << 20


# --- wide and empty tables (detectors: test_columnar_readers.py) -------------------------------------------------------------

def test_a_wide_table_is_read() -> None:
    table, expected = wide(lambda i: f"c{i:03d} é")
    assert read(orc_file(table)) == text_of([expected])


def test_a_table_without_rows_has_no_stripes_and_no_text() -> None:
    data = orc_file(pa.table({"name": pa.array([], pa.string()), "id": pa.array([], pa.int64())}))
    assert orc.ORCFile(pa.BufferReader(data)).nstripes == 0 and is_orc(data)
    result = extract(data, "x.orc")
    assert (result.status, result.file_type, result.text.strip()) == ("ok", "orc", "")
