"""Tables in docx, pptx, HTML and markdown come out of extraction as delimited rows, so their
column headers name their cells (`rules.extract.grid`); hostile tables stay bounded."""

from __future__ import annotations

import pytest

from rules.detectors import scan_text
from rules.edm import build_edm_index
from rules.extract import extract
from rules.extract.grid import FILL_CELLS, FILL_PER_CELL
from rules.fingerprint import FingerprintIndex
from tests.rules import samples

ROUTING = "021000021"
SALT = bytes(range(16))


def routing_levels(text: str) -> list[str]:
    return [f.level for f in scan_text(text, detectors=["us_aba_routing"])]


def html(body: str) -> str:
    return extract(f"<html><body><p>Payroll</p>{body}<p>Signed</p></body></html>".encode(), "t.html").text


def test_docx_table_rows_are_tab_separated_lines() -> None:
    data = samples.docx_with_table([["Name", "RTN", "Ticket"], ["Bob\nJr", ROUTING, ROUTING]])
    assert extract(data, "t.docx").text == f"Payroll\nName\tRTN\tTicket\nBob Jr\t{ROUTING}\t{ROUTING}\nSigned\n\n"


def test_docx_header_names_the_column() -> None:
    rows = [["Name", "RTN", "Ticket"], *[[f"n{i}", ROUTING, ROUTING] for i in range(50)]]
    text = extract(samples.docx_with_table(rows), "t.docx").text
    assert routing_levels(text) == ["medium", "low"] * 50


def test_docx_text_around_a_table_is_unchanged() -> None:
    with_table = extract(samples.docx_with_table([["Name", "RTN"], ["Bob", ROUTING]]), "t.docx").text
    without = extract(samples.docx(["Payroll", "Signed"]), "t.docx").text
    assert "".join(line + "\n" for line in with_table.split("\n")[:-1] if "\t" not in line) == without


def test_docx_merged_cells_keep_columns() -> None:
    rows = [["Name", ("Bank", 2), "RTN"], ["Bob", "Chase", "NY", ROUTING], [("Ann", 3), ROUTING]]
    text = extract(samples.docx_with_table(rows), "t.docx").text
    assert f"Ann\t\t\t{ROUTING}" in text
    assert routing_levels(text) == ["medium", "medium"]


def test_docx_ragged_rows() -> None:
    rows = [["Name", "RTN"], ["Bob"], ["Ann", ROUTING, ROUTING], [ROUTING]]
    text = extract(samples.docx_with_table(rows), "t.docx").text
    # a short row stays a row (it keeps a tab); a cell past the header's last column has no header
    assert routing_levels(text) == ["medium", "low", "low"]


def test_docx_nested_table_is_a_table_of_its_own() -> None:
    inner = [["Name", "RTN"], ["Bob", ROUTING]]
    rows = [["Layout", "Side"], [[*inner], "note"]]
    text = extract(samples.docx_with_table(rows), "t.docx").text
    assert f"Name\tRTN\nBob\t{ROUTING}\n" in text  # the inner table keeps its rows
    assert "Layout\tSide" not in text  # the outer one is layout: a cell per line
    assert routing_levels(text) == ["medium"]


def test_docx_deeply_nested_tables_are_flattened() -> None:
    depth = 5_000
    opening = "<w:tbl><w:tr><w:tc>"
    closing = "<w:p/></w:tc><w:tc><w:p><w:r><w:t>x</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
    inner = samples.docx_table_xml([["Name", "RTN"], ["Bob", ROUTING]])
    result = extract(samples.docx_body(opening * depth + inner + closing * depth), "t.docx")
    assert result.status == "ok" and ROUTING in result.text
    assert len(result.text) < 4 * depth  # each level costs a few characters, not a copy of the levels inside it


def test_docx_table_of_100k_cells() -> None:
    rows = [["Name", "RTN", *(f"c{i}" for i in range(8))],
            *[[f"n{r}", "", *(str(r * 10 + i) for i in range(8))] for r in range(10_000)], ["Bob", ROUTING]]
    result = extract(samples.docx_with_table(rows), "t.docx")
    assert result.status == "ok"
    lines = result.text.split("\n")
    assert sum(line.count("\t") == 9 for line in lines) == 10_001
    assert routing_levels(result.text) == ["medium"]  # the header is 10,000 rows above


def test_docx_hostile_spans_are_bounded() -> None:
    cells = 5_000
    rows: list[list[samples.DocxCell]] = [[("x", 1000) for _ in range(10)] for _ in range(cells // 10)]
    text = extract(samples.docx_with_table(rows), "t.docx").text
    assert text.count("\t") <= FILL_CELLS + (FILL_PER_CELL + 1) * cells
    huge = samples.docx_with_table([[("x", 99_999_999), ROUTING]])  # not a number we believe
    assert extract(huge, "t.docx").text.count("\t") == 1


def test_pptx_table() -> None:
    text = extract(samples.pptx_table([["Name", "RTN"], ["Bob", ROUTING]]), "t.pptx").text
    assert f"Name\tRTN\nBob\t{ROUTING}" in text and routing_levels(text) == ["medium"]


def test_html_table_with_caption_spans_and_omitted_end_tags() -> None:
    text = html(f"<table><caption>Staff</caption><thead><tr><th>Name<th colspan=2>Bank<th>RTN</thead>"
                f"<tr><td rowspan=2>Bob<br>Jr<td>Chase<td>NY<td>{ROUTING}"
                f"<tr><td>Citi<td>LA<td>{ROUTING}</table>")
    assert f"Staff\nName\tBank\t\tRTN\nBob Jr\tChase\tNY\t{ROUTING}\n\tCiti\tLA\t{ROUTING}\n" in text
    assert routing_levels(text) == ["medium", "medium"]


def test_html_layout_table_around_a_data_table() -> None:
    text = html(f"<table><tr><td><p>Hello</p><table><tr><th>Name</th><th>RTN</th></tr>"
                f"<tr><td>Bob</td><td>{ROUTING}</td></tr></table></td><td>side</td></tr></table>")
    assert f"Hello\nName\tRTN\nBob\t{ROUTING}\nside\n" in text
    assert routing_levels(text) == ["medium"]


def test_html_truncated_table_is_still_read() -> None:
    text = extract(f"<table><tr><th>Name<th>RTN<tr><td>Bob<td>{ROUTING}".encode(), "t.html").text
    assert routing_levels(text) == ["medium"]


def test_html_hostile_rowspans_are_bounded() -> None:
    head = "<tr>" + '<td colspan="1000" rowspan="65534">x</td>' * 50 + "</tr>"
    text = extract(("<table>" + head + "<tr></tr>" * 20_000 + "</table>").encode(), "t.html").text
    assert text.count("\t") <= FILL_CELLS + (FILL_PER_CELL + 1) * 50


def test_markdown_pipe_table() -> None:
    text = extract(f"# Staff\n\n| Name | RTN |\n|:---|---:|\n| Bob | {ROUTING} |\n".encode(), "t.md").text
    assert routing_levels(text) == ["medium"]


def test_fingerprint_of_the_old_extraction_matches_the_new() -> None:
    """Prints registered when table cells came out one per line still match: only whitespace changed."""
    rows = [["Name", "Role", "Project"], *[[f"person{i} smith", "engineer", f"phoenix stage {i}"] for i in range(40)]]
    data = samples.docx_with_table(rows)
    old_text = "Payroll\n" + "".join(cell + "\n" for row in rows for cell in row) + "Signed\n"
    index = FingerprintIndex(SALT).add("plan", "plan.docx", b"other bytes", old_text)
    match = index.match(extract(data, "copy.docx").text)[0]
    assert match.doc_id == "plan" and match.exact


@pytest.mark.parametrize("build", [
    lambda rows: extract(samples.docx_with_table(rows), "t.docx").text,
    lambda rows: html("<table>" + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
                      + "</table>"),
])
def test_edm_finds_records_in_document_tables(build: object) -> None:
    rows = [["name", "phone", "routing"], ["Zhang San", "138 1234 5678", ROUTING], ["Li Si", "139 8765 4321", "111000025"]]
    index = build_edm_index("\n".join(",".join(r) for r in rows), salt=SALT, min_fields=2)
    matches = index.match(build(rows))  # type: ignore[operator]
    assert sorted(m.record for m in matches) == [0, 1]
