"""dBASE tables (`rules/extract/dbase.py`), written by two independent writers: the `dbf` package
(dBASE III, FoxPro and Visual FoxPro tables) and pyshp (the attribute table of an ESRI
shapefile); dbfread, a third, reads the same files back as a check of what we expect."""

from __future__ import annotations

import datetime
import decimal
import io
import pathlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.detectors import scan_text
from rules.extract import Limits, extract
from rules.extract.budget import Budget
from rules.extract.dbase import dbase_content, is_dbase
from rules.extract.sniff import sniff

dbf = pytest.importorskip("dbf", reason="the `dbf` package writes the tables (test extras)")
CARDS = ["4111111111111111", "5500005555555559", "340000000000009", "6011000990139424", "3530111333300000"]


def _table(tmp_path: pathlib.Path, spec: str, rows: list[tuple[object, ...]], *, kind: str = "db3",
           code_page: str = "cp1252", delete: tuple[int, ...] = ()) -> bytes:
    path = tmp_path / f"t_{kind}.dbf"
    table = dbf.Table(str(path), spec, dbf_type=kind, codepage=code_page)
    table.open(dbf.READ_WRITE)
    for row in rows:
        table.append(row)
    for index in delete:
        dbf.delete(table[index])
    table.close()
    return path.read_bytes()


def _rows(text: str, heading: str = "dBASE table") -> list[list[str]]:
    block = text.split(f"{heading}\n\n", 1)[1].split("\n\n", 1)[0]
    return [line.split("\t") for line in block.removesuffix("\n").split("\n")]


def test_a_dbase_iii_table_is_a_header_row_and_a_record_a_line(tmp_path: pathlib.Path) -> None:
    rows = [(f"Customer {n}", CARDS[n], decimal.Decimal(n * 100 + 5) / 10, datetime.date(1980 + n, n + 1, 2 * n + 1),
             n % 2 == 0) for n in range(5)]
    data = _table(tmp_path, "name C(30); card_no C(20); amount N(10,2); born D; active L", rows)
    assert is_dbase(data) and sniff(data, "x.bin") == "dbase"
    extraction = extract(data, "customers.dbf")
    assert extraction.status == "ok" and extraction.file_type == "dbase"
    table = _rows(extraction.text)
    assert table[0] == ["NAME", "CARD_NO", "AMOUNT", "BORN", "ACTIVE"]
    assert table[1:] == [[f"Customer {n}", CARDS[n], f"{decimal.Decimal(n * 100 + 5) / 10:.2f}",
                          f"{1980 + n}-{n + 1:02d}-{2 * n + 1:02d}", "true" if n % 2 == 0 else "false"] for n in range(5)]
    found = {extraction.text[f.start:f.end] for f in scan_text(extraction.text) if f.detector == "credit_card"}
    assert found == set(CARDS)


def test_visual_foxpro_numbers_currency_doubles_and_datetimes(tmp_path: pathlib.Path) -> None:
    rows = [("张三", 7, decimal.Decimal("12.3456"), datetime.datetime(2020, 1, 2, 3, 4, 5), 4111111111111111.0, 1.25),
            ("李四", -2_000_000_000, decimal.Decimal("-0.5"), datetime.datetime(1999, 12, 31, 23, 59, 58), 0.1, -3.5)]
    data = _table(tmp_path, "name C(30); n I; cur Y; ts T; dbl B; f F(10,3)", rows, kind="vfp", code_page="cp936")
    table = _rows(extract(data, "vfp.dbf").text)
    assert table[0] == ["NAME", "N", "CUR", "TS", "DBL", "F"]
    assert table[1] == ["张三", "7", "12.3456", "2020-01-02 03:04:05", "4111111111111111", "1.250"]
    assert table[2] == ["李四", "-2000000000", "-0.5000", "1999-12-31 23:59:58", "0.1", "-3.500"]


def test_text_in_the_code_page_the_header_names_or_in_utf8(tmp_path: pathlib.Path) -> None:
    latin = _table(tmp_path, "name C(20)", [("Müller Straße",)], kind="db3", code_page="cp1252")
    assert _rows(extract(latin, "a.dbf").text)[1] == ["Müller Straße"]
    shapefile = pytest.importorskip("shapefile", reason="pyshp writes shapefiles (test extras)")
    shp, shx, dbf_file = io.BytesIO(), io.BytesIO(), io.BytesIO()
    with shapefile.Writer(shp=shp, shx=shx, dbf=dbf_file, shapeType=shapefile.POINT, encoding="utf-8") as writer:
        writer.field("OWNER", "C", 40)
        writer.field("PARCEL", "N", 12, 0)
        writer.field("SSN", "C", 11)
        writer.point(1.0, 2.0)
        writer.record("王小明 Wang", 123456789012, "123-45-6789")
        writer.point(3.0, 4.0)
        writer.record("Zoë Ångström", 42, "078-05-1120")
    data = dbf_file.getvalue()
    table = _rows(extract(data, "parcels.dbf").text)
    assert table == [["OWNER", "PARCEL", "SSN"], ["王小明 Wang", "123456789012", "123-45-6789"],
                     ["Zoë Ångström", "42", "078-05-1120"]]


def test_deleted_records_are_read_after_the_live_ones(tmp_path: pathlib.Path) -> None:
    data = _table(tmp_path, "card C(20)", [(c,) for c in CARDS], delete=(1, 3))
    text = extract(data, "a.dbf").text
    assert [r[0] for r in _rows(text)[1:]] == [CARDS[0], CARDS[2], CARDS[4]]
    assert [r[0] for r in _rows(text, "dBASE table (deleted records)")[1:]] == [CARDS[1], CARDS[3]]


def test_the_table_agrees_with_dbfread(tmp_path: pathlib.Path) -> None:
    dbfread = pytest.importorskip("dbfread", reason="dbfread checks our expectations (test extras)")
    rng = random.Random(5)
    rows = [("".join(rng.choice("abcdef XYZ") for _ in range(rng.randint(0, 25))).strip(), rng.randint(-10**8, 10**8),
             datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randint(0, 30000))) for _ in range(300)]
    data = _table(tmp_path, "label C(25); qty N(10,0); day D", rows)
    path = tmp_path / "t_db3.dbf"
    theirs = [[str(v) for v in r.values()] for r in dbfread.DBF(str(path), encoding="cp1252")]
    ours = _rows(extract(data, "t.dbf").text)[1:]
    assert ours == [[label, str(qty), day] for label, qty, day in theirs]


def test_a_table_cut_short_gives_the_records_it_holds(tmp_path: pathlib.Path) -> None:
    data = _table(tmp_path, "card C(20)", [(c,) for c in CARDS])
    header = int.from_bytes(data[8:10], "little")
    cut = data[:header + 3 * 21 + 5]
    text, problems = dbase_content(cut, Budget(Limits(), len(cut)), "cut.dbf")
    assert [r[0] for r in _rows(text)[1:]] == CARDS[:3]
    assert problems == ["cut.dbf: a dBASE table cut short (3 of its 5 records are in the file)"]


def test_files_that_only_look_like_a_table_are_not_taken_for_one() -> None:
    assert not is_dbase(b"\x03" + bytes(100))
    assert not is_dbase(b"\x03\x7e\x0c\x07" + bytes(4) + (97).to_bytes(2, "little") + (10).to_bytes(2, "little")
                        + bytes(20) + b"NAME" + bytes(7) + b"C" + bytes(4) + b"\x05" + bytes(15) + b"\x0d" + bytes(50))
    assert sniff(b"\x03hello world, a text file", "a.txt") == "text"


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_tables_never_raise(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    base = _BASE.setdefault("table", _table(tmp_path_factory.mktemp("dbf"), "name C(20); n N(8,2); d D; l L",
                                            [(f"n{i}", i / 4, datetime.date(2000, 1, 1 + i), i % 2 == 0)
                                             for i in range(20)]))
    mutated = bytearray(base)
    for _ in range(data.draw(st.integers(1, 10))):
        mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        mutated = mutated[: data.draw(st.integers(0, len(mutated)))]
    extraction = extract(bytes(mutated), "m.dbf")
    assert extraction.status in ("ok", "unscannable")


_BASE: dict[str, bytes] = {}


def test_memo_files_beside_the_table_are_read(tmp_path: pathlib.Path) -> None:
    """The memo fields' text lives in a .dbt (dBASE) or .fpt (FoxPro) file of its own."""
    long_note = "Customer asked to change card 4111 1111 1111 1111 " + "x" * 700  # over a block
    _table(tmp_path, "name C(10); notes M", [("Ada", long_note), ("Bob", "second memo")], kind="db3")
    _table(tmp_path, "name C(10); notes M", [("张三", "备注：身份证 11010519491231002X"), ("Li", "plain")], kind="vfp",
           code_page="cp936")
    dbt = extract((tmp_path / "t_db3.dbt").read_bytes(), "t_db3.dbt")
    fpt = extract((tmp_path / "t_vfp.fpt").read_bytes(), "t_vfp.fpt")
    assert dbt.file_type == fpt.file_type == "dbase-memo" and dbt.status == fpt.status == "ok"
    assert dbt.text == f"dBASE memo file\n\n{long_note}\n\nsecond memo\n\n"
    assert fpt.text == "dBASE memo file\n\n备注：身份证 11010519491231002X\n\nplain\n\n"
    assert {f.detector for f in scan_text(fpt.text)} >= {"cn_resident_id"}
    assert sniff((tmp_path / "t_vfp.fpt").read_bytes(), "notes.bin") != "dbase-memo"  # the name says what it is
    latin = _table(tmp_path, "name C(10); notes M", [("Hans", "Müller zahlt mit Karte")], kind="vfp", code_page="cp1252")
    assert latin and "Müller zahlt mit Karte" in extract((tmp_path / "t_vfp.fpt").read_bytes(), "t.fpt").text
