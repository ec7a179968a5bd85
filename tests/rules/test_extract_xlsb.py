"""Excel binary workbooks (.xlsb).

The fixtures in `data/xlsb/` were written by SheetJS (`make_xlsb.js`), a writer independent of
the reader. SheetJS writes a row's later cells as the short records (ids 12-18, no column);
Excel writes the full ones. `full_records` turns the first into the second, and the result is
read by calamine (python-calamine), a reader independent of ours that knows only the full form:
every cell must agree.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.detectors import scan_text
from rules.extract import extract
from rules.extract.budget import DEFAULT_LIMITS, Budget
from rules.extract.sniff import sniff
from rules.extract.xlsb import records, xlsb_content

DATA = Path(__file__).parent / "data" / "xlsb"
_SHORT_TO_FULL = {12: 1, 13: 2, 14: 3, 15: 4, 16: 5, 17: 6, 18: 7}


def _header(kind: int, size: int) -> bytes:
    out = bytearray()
    for value, most in ((kind, 2), (size, 4)):
        for _ in range(most):
            byte, value = value & 0x7F, value >> 7
            out.append(byte | (0x80 if value else 0))
            if not value:
                break
    return bytes(out)


def write_records(items: list[tuple[int, bytes]]) -> bytes:
    return b"".join(_header(kind, len(data)) + data for kind, data in items)


def full_records(part: bytes) -> bytes:
    """A worksheet part with every short cell record replaced by its full form, as Excel writes."""
    out, column = [], -1
    for kind, data in records(part):
        if kind == 0:
            column = -1
        elif kind in _SHORT_TO_FULL:
            column += 1
            kind, data = _SHORT_TO_FULL[kind], struct.pack("<I", column) + data
        elif kind in range(1, 12) or kind == 62:
            column = struct.unpack_from("<I", data)[0]
        out.append((kind, data))
    return write_records(out)


def rezip(data: bytes, change: dict[str, bytes]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, change.get(info.filename, source.read(info.filename)))
    return out.getvalue()


def excel_form(data: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    sheets = [n for n in source.namelist() if n.startswith("xl/worksheets/sheet") and n.endswith(".bin")]
    return rezip(data, {name: full_records(source.read(name)) for name in sheets})


def _rows(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.split("\n")]


@pytest.mark.parametrize("name", ["payroll.xlsb", "payroll_inline.xlsb"])
def test_a_payroll_workbook_is_read_as_its_sheets_show_it(name: str) -> None:
    data = (DATA / name).read_bytes()
    assert sniff(data, "book.bin") == "xlsb"
    result = extract(data, name)
    assert result.status == "ok", result.reason
    rows = _rows(result.text)
    assert rows[0] == ["Name", "SSN", "Card", "Routing", "Amount", "Active"]
    assert rows[1] == ["Müller, Anna", "078-05-1120", "4111 1111 1111 1111", "021000021", "1234.5", "TRUE"]
    assert rows[2] == ["张伟", "219-09-9999", "5500 0000 0000 0004", "011000015", "-7", "FALSE"]
    assert ["身份证号", "姓名"] in rows and ["11010519491231002X", "李娜"] in rows
    found = {f.detector for f in scan_text(result.text)}
    assert {"us_ssn", "credit_card", "us_aba_routing", "cn_resident_id"} <= found  # routing named by its header


def test_comments_sparse_cells_and_small_numbers() -> None:
    result = extract((DATA / "notes.xlsb").read_bytes(), "notes.xlsb")
    assert result.status == "ok", result.reason
    rows = _rows(result.text)
    assert ["Anna", "DE89370400440532013000", "3"] in rows
    assert ["far below", "", "", "", "1e-07"] in rows  # E9 in its column, after a gap of rows
    assert rows[rows.index(["far below", "", "", "", "1e-07"]) - 1] == [""]  # the skipped rows end the table
    assert "card 4111 1111 1111 1111 on file" in result.text  # the comment
    assert {"iban", "credit_card"} <= {f.detector for f in scan_text(result.text)}


@pytest.mark.parametrize("name", ["payroll.xlsb", "payroll_inline.xlsb", "notes.xlsb"])
def test_excels_full_records_read_the_same_and_agree_with_calamine(name: str) -> None:
    import python_calamine as calamine  # a test dependency (pyproject.toml), so never skipped
    original = (DATA / name).read_bytes()
    data = excel_form(original)
    part = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.bin")
    assert not {kind for kind, _ in records(part)} & set(_SHORT_TO_FULL)  # no short record is left
    ours = extract(data, name)
    assert ours.status == "ok" and ours.text == extract(original, name).text
    book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    seen = set(ours.text.split("\n"))
    for sheet in book.sheet_names:
        for row in book.get_sheet_by_name(sheet).to_python(skip_empty_area=True):
            cells = [_calamine_text(v) for v in row]
            while cells and cells[-1] == "":
                cells.pop()
            if not cells:
                continue
            line = "\t".join(cells)
            padded = line.replace("21000021", "021000021").replace("11000015", "011000015").replace("26009593", "026009593")
            assert line in seen or padded in seen or line + "\t" in seen, (sheet, line)


def _calamine_text(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def test_an_xlsb_file_in_a_zip_and_named_otherwise_is_still_read() -> None:
    import tests.rules.samples as samples

    data = (DATA / "payroll.xlsb").read_bytes()
    result = extract(samples.zip_of({"finance/Q3 model.bin": data}), "out.zip")
    assert result.status == "ok", result.reason
    assert "078-05-1120" in result.text


# Hostile workbooks


def _with_sheet(sheet: bytes) -> bytes:
    return rezip((DATA / "payroll.xlsb").read_bytes(), {"xl/worksheets/sheet1.bin": sheet})


def test_a_truncated_sheet_gives_what_it_holds_and_is_named() -> None:
    part = zipfile.ZipFile(DATA / "payroll.xlsb").read("xl/worksheets/sheet1.bin")
    cut = part[: len(part) * 2 // 3]
    result = extract(_with_sheet(cut), "cut.xlsb")
    assert result.status == "unscannable" and "damaged xlsb" in (result.reason or "")
    assert "078-05-1120" in result.text and "11010519491231002X" in result.text  # the rest of the book is read


@pytest.mark.parametrize(("label", "sheet"), [
    ("string longer than its record", write_records([(0, bytes(25)), (6, struct.pack("<II", 0, 0) + struct.pack("<I", 10**9) + b"ab")])),
    ("column past XFD", write_records([(0, bytes(25)), (7, struct.pack("<III", 1 << 30, 0, 0))])),
    ("record runs past the part", _header(6, 1000) + b"x" * 10),
    ("size of five bytes", b"\x06\xff\xff\xff\xff\x7f"),
    ("cell shorter than its column", write_records([(0, bytes(25)), (5, b"\x01\x02")])),
])
def test_damaged_records_are_named_never_a_crash(label: str, sheet: bytes) -> None:
    result = extract(_with_sheet(sheet), "bad.xlsb")
    assert result.status == "unscannable" and "damaged xlsb" in (result.reason or ""), label
    assert "11010519491231002X" in result.text  # the other sheet is still read


def test_a_column_far_to_the_right_is_not_a_tab_bomb() -> None:
    """16,384 columns: a cell at XFD is 20 bytes; its text must not be 16,383 tabs per row."""
    rows = []
    for row in range(2000):
        rows += [(0, struct.pack("<I", row) + bytes(21)), (6, struct.pack("<II", 16383, 0) + struct.pack("<I", 1) + b"x\x00")]
    result = extract(_with_sheet(write_records(rows)), "wide.xlsb")
    assert result.status == "ok"
    assert len(result.text) < 200_000


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_sheets_never_crash_the_reader(sheet: bytes) -> None:
    data = _with_sheet(sheet)
    text, problem = xlsb_content(data, Budget(DEFAULT_LIMITS, len(data)), "x.xlsb")
    assert "11010519491231002X" in text and (problem is None or "damaged xlsb" in problem)
