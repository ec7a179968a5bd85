"""Excel 2003 XML spreadsheets: SheetJS's "xlml" output (`data/xlml/make_xlml.js`) and hand-made
edge cases after the SpreadsheetML 2003 schema."""

from __future__ import annotations

from pathlib import Path

from rules.detectors import scan_text
from rules.extract import extract

DATA = Path(__file__).parent / "data" / "xlml"
HEAD = ('<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="S"><Table>')
TAIL = "</Table></Worksheet></Workbook>"


def test_a_workbook_reads_as_its_sheets_with_their_headers() -> None:
    result = extract((DATA / "payroll_2003.xml").read_bytes(), "payroll.xml")
    assert result.status == "ok", result.reason
    lines = result.text.split("\n")
    assert lines[:2] == ["Name\tRouting\tSSN\tCard", "Anna Müller\t021000021\t078-05-1120\t4111 1111 1111 1111"]
    assert "after a gap\t\t\t\t5" in lines and "IBAN DE89370400440532013000 on file" in lines
    assert lines[-3:-1] == ["身份证号", "11010519491231002X"]
    findings = scan_text(result.text)
    routing = [f for f in findings if f.detector == "us_aba_routing"]
    assert len(routing) == 3 and all(f.level != "low" for f in routing)  # padded by the style, named by the header
    assert {"us_ssn", "credit_card", "iban", "cn_resident_id"} <= {f.detector for f in findings}


def test_skipped_and_merged_cells_keep_columns_in_place() -> None:
    rows = ('<Row><Cell ss:MergeAcross="1"><Data ss:Type="String">Name</Data></Cell>'
            '<Cell><Data ss:Type="String">SSN</Data></Cell></Row>'
            '<Row ss:Index="3"><Cell><Data ss:Type="String">Ann</Data></Cell>'
            '<Cell ss:Index="3"><Data ss:Type="String"><B>078-05-1120</B></Data></Cell></Row>')
    result = extract((HEAD + rows + TAIL).encode(), "x.xml")
    assert result.text.rstrip("\n").split("\n") == ["Name\t\tSSN", "", "Ann\t\t078-05-1120"]


def test_absurd_indexes_are_bounded() -> None:
    rows = '<Row ss:Index="999999999999"><Cell ss:Index="99999999999"><Data ss:Type="String">x</Data></Cell></Row>'
    result = extract((HEAD + rows + TAIL).encode(), "x.xml")
    assert result.status == "ok" and len(result.text) < 100


def test_other_xml_is_read_as_before() -> None:
    result = extract(b"<?xml version='1.0'?><a><b>card 4111 1111 1111 1111</b></a>", "x.xml")
    assert "4111 1111 1111 1111" in result.text
