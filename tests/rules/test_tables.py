"""Column headers of delimited tables stand in for the proximity window (`rules.tables`)."""

from __future__ import annotations

import pytest

from rules.detectors import scan_text, scanner_for
from rules.extract import extract
from rules.tables import MAX_COLUMNS, TableIndex
from tests.rules import samples

ROUTING = "021000021"  # valid 3-7-1 check digit, Federal Reserve district 02
NHS = "450 557 7104"  # mod 11, England's 4xx range
SIN = "146 454 285"  # Luhn, first digit 1
ROWS = [f"Alice {i},Main St {i},2025-01-{i % 28 + 1:02d}\n" for i in range(5000)]
FILLER = "".join(ROWS)


def far_below(header: str, row: str, sep: str = ",") -> str:
    """`header`, 5,000 rows of three cells, then `row`: the header is ~170 KB above the row."""
    return header + "\n" + FILLER.replace(",", sep) + row + "\n"


def levels(text: str, detector: str) -> list[str]:
    return [f.level for f in scan_text(text, detectors=[detector])]


# (case, text, detector, levels of its findings)
CASES = [
    ("bare routing number in prose", f"wire it to {ROUTING} today", "us_aba_routing", ["low"]),
    ("csv, header 5,000 rows above", far_below("name,routing number,date", f"Bob,{ROUTING},2025-02-01"),
     "us_aba_routing", ["medium"]),
    ("csv, header names something else", far_below("name,customer id,date", f"Bob,{ROUTING},2025-02-01"),
     "us_aba_routing", ["low"]),
    ("csv, header with a negative word", far_below("name,order id,date", f"Bob,{ROUTING},2025-02-01"),
     "us_aba_routing", ["low"]),
    ("tsv", far_below("name\tABA\tdate", f"Bob\t{ROUTING}\t2025-02-01", "\t"), "us_aba_routing", ["medium"]),
    ("semicolon", f"name;Routing;date\nBob;{ROUTING};x\n", "us_aba_routing", ["medium"]),
    ("markdown pipes", f"| name | routing |\n|---|---|\n| Bob | {ROUTING} |\n", "us_aba_routing", ["medium"]),
    ("quoted cells with commas", f'name,note,routing\n"Smith, John","a, b, c","{ROUTING}"\n',
     "us_aba_routing", ["medium"]),
    ("quoted header cell", f'"Name","Bank Routing #","Date"\r\nBob,{ROUTING},x\r\n', "us_aba_routing", ["medium"]),
    ("table without a header: first row is data", f"Bob,{ROUTING},x\nAnn,{ROUTING},y\n", "us_aba_routing",
     ["low", "low"]),
    ("the header row itself is not labelled by itself", f"routing,{ROUTING}\n", "us_aba_routing", ["medium"]),
    ("second table after a blank line has its own header",
     f"name,routing\nBob,{ROUTING}\n\nname,ticket\nAnn,{ROUTING}\n", "us_aba_routing", ["medium", "low"]),
    ("second table after a title line", f"name,routing\nBob,{ROUTING}\nTickets\nname,ticket\nAnn,{ROUTING}\n",
     "us_aba_routing", ["medium", "low"]),
    ("ragged rows: a cell right of the header's last column",
     far_below("name,routing", f"Ann,{ROUTING},{ROUTING}\nBob,{ROUTING}"), "us_aba_routing", ["medium", "low", "medium"]),
    ("a neighbouring column's header does not name the cell", f"routing number,ticket\nx,{ROUTING}\n",
     "us_aba_routing", ["low"]),
    ("the value must be the whole cell", far_below("name,routing", f"Bob,acct {ROUTING}"), "us_aba_routing", ["low"]),
    ("needs context: NHS header far above", far_below("NHS number,name,date", f"{NHS},Bob,2025-02-01"), "uk_nhs",
     ["medium"]),
    ("needs context: phone header", far_below("phone,name,date", f"{NHS},Bob,2025-02-01"), "uk_nhs", []),
    ("needs context: SIN in a TSV", far_below("Name\tSIN\tDate", f"Bob\t{SIN}\t2025-02-01", "\t"), "ca_sin",
     ["medium"]),
    ("needs context: header 200 rows above, same chunk",
     "NHS number,name,date\n" + "".join(ROWS[:200]) + f"{NHS},Bob,2025-02-01\n", "uk_nhs", ["medium"]),
    ("needs context: a word in prose above names no column",
     "Our NHS policy changed.\nname,phone\n" + "".join(ROWS[:200]) + f"Bob,{NHS}\n", "uk_nhs", []),
    ("date of birth column, 5,000 rows below", "name,date of birth,city\n" + FILLER.replace("2025-01-", "Leeds ")
     + "Bob,1990-03-07,Leeds\n", "date_of_birth", ["medium"]),
    ("Chinese header", far_below("姓名,手机号码,日期", "张三,13812345678,2025-02-01"), "cn_mobile", ["high"]),
    ("Chinese negative header", far_below("姓名,订单号,日期", "张三,13812345678,2025-02-01"), "cn_mobile", ["low"]),
]


@pytest.mark.parametrize(("case", "text", "detector", "expected"), CASES, ids=[c[0] for c in CASES])
def test_column_header_context(case: str, text: str, detector: str, expected: list[str]) -> None:
    assert levels(text, detector) == expected


def test_xlsx_through_the_real_extractor() -> None:
    rows = [["Name", "Routing Number", "Ticket"], *[[f"n{i}", ROUTING, ROUTING] for i in range(200)]]
    other = [["Name", "Customer ID"], ["Ann", ROUTING]]
    text = extract(samples.xlsx(rows, other), "payroll.xlsx").text
    found = scan_text(text, detectors=["us_aba_routing"])
    sheet2 = text.index("Customer ID")
    assert [f.level for f in found if f.start < sheet2] == ["medium", "low"] * 200  # routing, then ticket
    assert [f.level for f in found if f.start > sheet2] == ["low"]  # each sheet is its own table


def test_xlsx_empty_cells_keep_columns() -> None:
    rows = [["Name", "Note", "Routing"], ["", "", ROUTING], ["Bob", "", ROUTING]]
    text = extract(samples.xlsx(rows), "gaps.xlsx").text
    assert levels(text, "us_aba_routing") == ["medium", "medium"]


@pytest.mark.parametrize(("text", "value", "expected"), [
    ("a,b\nx,V\n", "V", "b"),
    ("a,b\nV,x\n", "V", "a"),
    ("a,b\r\nx,V\r\n", "V", "b"),
    ("a,b\nx, V ,y\n", "V", "b"),
    ('a,"b, c",d\n"x,y","z",V\n', "V", "d"),
    ("a,b\nx,y,V\n", "V", ""),  # past the header's last cell
    ("a,b\nx,yV\n", "V", None),  # not a whole cell
    ("intro\nx,V\n", "V", None),  # first line of its run: no header above
    ('a,b\n"x,V",y\n', "V", None),  # inside a quoted cell
    ("a;b\nx,V\n", "V", None),  # the header has no comma: a different table
    ("\ufeffA,B\nx,V\n", "V", "b"),
])
def test_header_cell_lookup(text: str, value: str, expected: str | None) -> None:
    data = text.encode()
    start = data.rindex(value.encode())
    assert TableIndex(data).header(start, start + len(value)) == expected


def test_hostile_wide_and_ragged_tables_stay_bounded() -> None:
    wide_header = ",".join(["routing"] * 1_000_000)
    wide_row = ",".join([ROUTING] * 20_000)
    ragged = "".join(f"routing,x\n{ROUTING}{',' * (i % 7)}\n\n" for i in range(2000))
    text = wide_header + "\n" + wide_row + "\n" + ragged
    result = scanner_for(["us_aba_routing", "uk_nhs", "ca_sin"]).scan_report(text)
    found = [(f.start, f.level) for f in result.findings]
    row_start = len(wide_header) + 1
    near = [level for start, level in found if row_start <= start < row_start + MAX_COLUMNS * 10]
    far = [level for start, level in found if row_start + (MAX_COLUMNS + 1) * 10 <= start < row_start + len(wide_row)]
    assert near and set(near) == {"medium"}  # columns within MAX_COLUMNS are named
    assert set(far) <= {"low"}  # beyond it, no header is read
    assert "us_aba_routing" in result.truncated  # and the per-text caps still hold


def test_xlsx_far_columns_do_not_blow_up_the_text() -> None:
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rows = "".join(f'<row r="{r}"><c r="XFD{r}" t="inlineStr"><is><t>x</t></is></c></row>' for r in range(1, 2001))
    data = samples._package({"xl/workbook.xml": f"<workbook {ns}/>",
                             "xl/worksheets/sheet1.xml": f"<worksheet {ns}><sheetData>{rows}</sheetData></worksheet>"})
    text = extract(data, "wide.xlsx").text
    assert text.count("x") == 2000 and len(text) < 60_000  # not 2,000 x 16,384 tabs
