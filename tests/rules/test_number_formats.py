"""Worksheet numbers read as Excel shows them: identifiers stored as integers under a custom number
format that pads them with zeros or punctuates them (`rules.extract.numfmt`)."""

from __future__ import annotations

import io
import zipfile

import pytest

from rules.detectors import scan_text
from rules.extract import extract
from rules.extract.numfmt import _parse, _render
from tests.rules import samples


def _parts(data: bytes) -> dict[str, str]:
    """A built workbook's parts as text, to be changed and packed again (`samples._package`)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist() if name != "[Content_Types].xml"}


@pytest.mark.parametrize(("code", "stored", "shown"), [
    ("000000000", "21000021", "021000021"),  # a routing number typed as a number
    ("000000000", "2.1000021E7", "021000021"),  # the same, written in exponent form
    ("000000000", "21000021.0", "021000021"),
    ("000-00-0000", "78051120", "078-05-1120"),  # Excel's "Social Security Number" special format
    ("00000", "2134", "02134"),  # ZIP code
    ("0000 0000 0000", "234123412346", "2341 2341 2346"),
    ('"ID "000000', "42", "ID 000042"),
    ("\\#0000", "7", "#0007"),  # an escaped placeholder is a literal
    ("(###) ###-####", "5551234567", "(555) 123-4567"),
    ("000", "123456", "123456"),  # more digits than placeholders: all of them shown
    ("000;-000", "7", "007"),  # the first section is the one for positive numbers
    ("000000000", "-5", "-5"),  # not a whole non-negative number: as stored
    ("00000", "12.5", "12.5"),
    ("000000000", "1e300", "1e300"),
    ("000000000", "nan", "nan"),
])
def test_rendering(code: str, stored: str, shown: str) -> None:
    parts = _parse(code)
    assert parts is not None
    assert _render(parts, stored) == shown


@pytest.mark.parametrize("code", ["0", "#0", "#,##0", "0.00", "0%", "[Red]000", "yyyy-mm-dd", "@", "0.00E+00",
                                  '"unterminated 000', "0" * 80, ""])
def test_formats_that_keep_the_stored_digits(code: str) -> None:
    assert _parse(code) is None


def test_padded_routing_numbers_are_found_in_a_real_extraction() -> None:
    """Without the format the cell reads 21000021, eight digits, and no routing number is there."""
    data = samples.xlsx_number_formats(
        ["Name", "Routing Number", "Amount"],
        [[("1", None), ("21000021", "000000000"), ("1200.5", None)],
         [("2", None), ("11000015", "000000000"), ("300", None)]])
    text = extract(data, "payroll.xlsx").text
    assert "021000021" in text and "011000015" in text and "1200.5" in text
    found = [(text[f.start : f.end], f.level) for f in scan_text(text, detectors=["us_aba_routing"])]
    assert found == [("021000021", "medium"), ("011000015", "medium")]  # named by their column header


def test_ssn_special_format_is_read_as_an_ssn() -> None:
    data = samples.xlsx_number_formats(["Employee", "SSN"], [[("1001", None), ("78051120", "000-00-0000")]])
    text = extract(data, "staff.xlsx").text
    assert [text[f.start : f.end] for f in scan_text(text, detectors=["us_ssn"])] == ["078-05-1120"]


def test_styles_that_are_missing_or_out_of_range_leave_the_value() -> None:
    data = samples.xlsx_number_formats(["Routing Number"], [[("21000021", "000000000")]])
    parts = _parts(data)
    sheet = parts["xl/worksheets/sheet1.xml"]
    parts["xl/worksheets/sheet1.xml"] = sheet.replace('<c r="A2" s="1">', '<c r="A2" s="9">')
    assert parts["xl/worksheets/sheet1.xml"] != sheet
    broken = samples._package(parts)
    assert "\t" not in extract(broken, "x.xlsx").text
    assert "21000021" in extract(broken, "x.xlsx").text.split()


def test_a_format_shared_by_a_hundred_thousand_styles_is_parsed_once() -> None:
    """A hostile styles part repeats one style 100,000 times: one renderer serves them all."""
    from rules.extract.markup import parse_xml
    from rules.extract.numfmt import formats_by_style

    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    xfs = '<xf numFmtId="164"/>' * 100_000
    root = parse_xml(f'<styleSheet {ns}><numFmts><numFmt numFmtId="164" formatCode="000000000"/></numFmts>'
                     f"<cellXfs>{xfs}</cellXfs></styleSheet>".encode(), "styles.xml")
    formats = formats_by_style(root)
    assert len(formats) == 100_000 and len({id(f) for f in formats}) == 1
    assert formats[99_999] is not None and formats[99_999]("21000021") == "021000021"


@pytest.mark.parametrize("styles", ["<styleSheet><cellXfs>", '<!DOCTYPE x [<!ENTITY a "aaaa">]><styleSheet>&a;</styleSheet>'])
def test_a_broken_styles_part_costs_the_formats_not_the_text(styles: str) -> None:
    data = samples.xlsx_number_formats(["Routing Number"], [[("21000021", "000000000")]])
    parts = _parts(data)
    parts["xl/styles.xml"] = styles
    result = extract(samples._package(parts), "x.xlsx")
    assert result.status == "ok" and "Routing Number" in result.text and "21000021" in result.text.split()
