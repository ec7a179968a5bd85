"""Tables in PDFs come out of extraction as tab-separated rows, recovered from where their text sits
(`rules.extract.pdf_tables`), so that their column headers name their cells; prose, empty pages,
odd layouts and broken files come out as before."""

from __future__ import annotations

import math
from collections import Counter
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF
from fpdf.fonts import FontFace
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from rules.detectors import scan_text
from rules.extract import extract
from rules.extract.pdf_runs import LineStarts
from rules.extract.pdf_tables import MAX_RUNS, Run, table_text
from tests.rules import samples

ROUTINGS = ("021000021", "111000025", "026009593", "011000015", "121000358", "322271627")
PROSE = ("Payroll for the month was approved by the board after a short review. The accountant filed "
         "the receipts, and the auditors will look at them again when the quarter closes next spring.")
HEADER = ["Name", "Routing number", "Amount"]
FONTS = Path("/usr/share/fonts/truetype")
#: TrueType fonts with Chinese glyphs that fpdf2 can embed, as Debian and Ubuntu install them; the
#: Latin text around them is in DejaVu Sans (the CJK font as fallback), since some of them lack digits.
CJK_FONTS = ("droid/DroidSansFallbackFull.ttf", "droid/DroidSansFallback.ttf", "wqy/wqy-microhei.ttf",
             "arphic/uming.ttf")
LATIN_FONT = "dejavu/DejaVuSans.ttf"


def routing_levels(text: str) -> list[str]:
    return [f.level for f in scan_text(text, detectors=["us_aba_routing"])]


def table_rows(count: int) -> list[list[str]]:
    return [HEADER, *([f"Person {i}", ROUTINGS[i % len(ROUTINGS)], f"{i},250.00"] for i in range(count))]


def document(rows: list[list[str]] | None = None, *, before: str = PROSE, after: str = "Signed by the manager.",
             font: str | None = None, col_widths: tuple[int, ...] | None = None) -> bytes:
    """A real PDF as fpdf2 writes it: a paragraph, a ruled table (header row first), a paragraph."""
    pdf = FPDF()
    if font:
        pdf.add_font("latin", fname=FONTS / LATIN_FONT)
        pdf.add_font("cjk", fname=font)
        pdf.set_fallback_fonts(["cjk"])
    pdf.set_font("latin" if font else "Helvetica", size=10)
    pdf.add_page()
    if before:
        pdf.multi_cell(0, 5, before, markdown=True)
        pdf.ln(4)
    if rows:
        style = FontFace(emphasis=None) if font else FontFace(emphasis="B")
        with pdf.table(col_widths=col_widths, headings_style=style) as table:
            for row in rows:
                cells = table.row()
                for cell in row:
                    cells.cell(cell)
        pdf.ln(4)
    if after:
        pdf.multi_cell(0, 5, after)
    return bytes(pdf.output())


def plain_text(data: bytes) -> str:
    """What extraction gave before tables were recovered: pypdf's plain text, page by page."""
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages) + "\n"


def cjk_font() -> str:
    fonts = [FONTS / name for name in CJK_FONTS if (FONTS / name).is_file()]
    if not fonts or not (FONTS / LATIN_FONT).is_file():
        pytest.skip(f"needs a CJK TrueType font (one of {', '.join(CJK_FONTS)}: fonts-droid-fallback, "
                    f"fonts-wqy-microhei, fonts-arphic-uming) and {LATIN_FONT} (fonts-dejavu-core) under {FONTS}")
    return str(fonts[0])


def test_table_rows_are_tab_separated_lines() -> None:
    rows = [HEADER, ["Smith, John", ROUTINGS[0], "1,200.00"], ["Lee, Ann", "", "300.50"], ["Kim, Li", ROUTINGS[1], "7.00"]]
    result = extract(document(rows), "t.pdf")
    assert result.status == "ok"
    assert ("Name\tRouting number\tAmount\nSmith, John\t021000021\t1,200.00\nLee, Ann\t\t300.50\n"
            "Kim, Li\t111000025\t7.00\n") in result.text


def test_header_names_the_column_far_below_it() -> None:
    text = extract(document(table_rows(30)), "t.pdf").text
    assert routing_levels(text) == ["medium"] * 30
    # pypdf's own text runs the cells of a row together: only the rows near the header get its word
    assert routing_levels(plain_text(document(table_rows(30)))).count("medium") < 10


@pytest.mark.parametrize("rows", [None, [["Name", "Note"], ["Bob", "paid"], ["Ann", "late"]]],
                         ids=["paragraph only", "paragraph above a table"])
def test_bare_numbers_in_a_paragraph_stay_low(rows: list[list[str]] | None) -> None:
    paragraph = f"Payments went to {ROUTINGS[0]} and to {ROUTINGS[1]} in the spring, as agreed at the meeting."
    text = extract(document(rows, before=paragraph), "t.pdf").text
    assert paragraph in text
    assert routing_levels(text) == ["low", "low"]


def test_prose_page_is_pypdfs_text_unchanged() -> None:
    prose = f"{PROSE} Some words are **bold** and some are __underlined__, on every line. " * 6
    data = document(before=prose, after="The end of the letter, with kind regards.")
    text = extract(data, "t.pdf").text
    assert text == plain_text(data)
    assert "\t" not in text


def test_prose_around_a_table_keeps_its_words_in_order() -> None:
    prose = f"{PROSE} The **amounts** below are final."
    text = extract(document(table_rows(3), before=prose), "t.pdf").text
    outside = [line for line in text.splitlines() if "\t" not in line]
    assert " ".join(outside).split() == [*prose.replace("**", "").split(), *["Signed", "by", "the", "manager."]]
    assert text.index("Signed") > text.index("Person 2") > text.index("final")


def test_wrapped_header_cell_is_one_header_cell() -> None:
    rows = [["Name", "Routing transit number of the payee", "Amount"], *table_rows(4)[1:]]
    text = extract(document(rows, col_widths=(40, 25, 35)), "t.pdf").text
    assert "Name\tRouting transit number of the payee\tAmount\n" in text
    assert routing_levels(text) == ["medium"] * 4


def test_value_broken_inside_a_narrow_cell_is_joined_as_it_was() -> None:
    """An IBAN or a routing number longer than its cell is broken between characters: its pieces
    join without a space; words that wrapped at a space ("Routing" over "number") keep it."""
    rows = [["Name", "Routing number", "IBAN", "Amount"],
            ["Person 0", ROUTINGS[0], "GB82WEST12345698765432", "0,250.00"],
            ["Person 1", ROUTINGS[1], "DE89370400440532013000", "1,250.00"]]
    text = extract(document(rows, col_widths=(30, 8, 18, 25)), "t.pdf").text
    assert "\n02100002\n1\n" in plain_text(document(rows, col_widths=(30, 8, 18, 25)))  # broken there
    lines = text.splitlines()
    assert "Name\tRouting number\tIBAN\tAmount" in lines
    assert f"Person 0\t{ROUTINGS[0]}\tGB82WEST12345698765432\t0,250.00" in lines
    found = [(text[f.start:f.end], f.detector) for f in scan_text(text, detectors=["iban", "us_aba_routing"])]
    assert found == [(ROUTINGS[0], "us_aba_routing"), ("GB82WEST12345698765432", "iban"),
                     (ROUTINGS[1], "us_aba_routing"), ("DE89370400440532013000", "iban")]


def test_one_row_table_with_cells_centred_beside_wrapped_ones() -> None:
    """fpdf2 centres a cell vertically beside a wrapped one: with one data row the lines are all
    a line or half a line apart, and only the half-line offsets tell that they share a row."""
    rows = [["Name", "Routing number", "IBAN", "Amount"], ["Person 0", ROUTINGS[0], "GB82WEST12345698765432", "0,250.00"]]
    text = extract(document(rows, col_widths=(30, 8, 18, 25)), "t.pdf").text
    assert f"Name\tRouting number\tIBAN\tAmount\nPerson 0\t{ROUTINGS[0]}\tGB82WEST12345698765432\t0,250.00\n" in text
    assert routing_levels(text) == ["medium"]


def test_chinese_header() -> None:
    rows = [["姓名", "路由号码", "金额"], *([f"张{i}", ROUTINGS[i], "100"] for i in range(4))]
    text = extract(document(rows, before="工资表，本月已经审核。", font=cjk_font()), "t.pdf").text
    assert "姓名\t路由号码\t金额\n张0\t021000021\t100\n" in text
    assert routing_levels(text) == ["medium"] * 4


def stacked_tables(*tables: list[list[str]]) -> bytes:
    """fpdf2 tables drawn one right below the other, with no line between them."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    pdf.multi_cell(0, 5, "Staff records for the audit.")
    pdf.ln(4)
    for rows in tables:
        with pdf.table(headings_style=FontFace(emphasis="B")) as table:
            for row in rows:
                cells = table.row()
                for cell in row:
                    cells.cell(cell)
    return bytes(pdf.output())


IDS_TABLE = [["Employee", "SIN", "Aadhaar"], ["Smith, John", "146 454 285", "2341 2341 2346"],
             ["Lee, Ann", "746 454 289", "9341 2341 2340"]]


def test_a_table_right_below_another_has_its_own_header() -> None:
    """Two tables with no line between them line up as one block; the second one's header, a row
    of names between runs of numbers, starts a table of its own (before, the SINs below it were named
    by "Routing number" and were not found)."""
    text = extract(stacked_tables(table_rows(2), IDS_TABLE), "t.pdf").text
    assert "Person 1\t111000025\t1,250.00\n\nEmployee\tSIN\tAadhaar\nSmith, John\t146 454 285\t" in text
    found = [(text[f.start:f.end], f.detector, f.level) for f in scan_text(text)]
    assert found == [(ROUTINGS[0], "us_aba_routing", "medium"), (ROUTINGS[1], "us_aba_routing", "medium"),
                     ("146 454 285", "ca_sin", "medium"), ("2341 2341 2346", "in_aadhaar", "high"),
                     ("746 454 289", "ca_sin", "medium"), ("9341 2341 2340", "in_aadhaar", "high")]


@pytest.mark.parametrize("middle", [["Lee, Ann", "n/a", "pending"], ["Lee, Ann", "Paid by cheque"],
                                    ["Staff", "Routing number", "Amount"]],
                         ids=["placeholders", "fewer cells than the header", "no digits below"])
def test_a_row_without_digits_inside_a_table_does_not_split_it(middle: list[str]) -> None:
    below = [] if middle[0] == "Staff" else table_rows(4)[3:]
    text = extract(stacked_tables([*table_rows(2), middle + [""] * (3 - len(middle)), *below]), "t.pdf").text
    assert "\n\n" not in text.strip()
    assert routing_levels(text) == ["medium"] * (2 + len(below))


def pdf_of_pages(*pages: list[list[str]] | None) -> bytes:
    """One page per entry: a table of those rows, or nothing."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    for rows in pages:
        pdf.add_page()
        if rows:
            with pdf.table() as table:
                for row in rows:
                    cells = table.row()
                    for cell in row:
                        cells.cell(cell)
    return bytes(pdf.output())


def test_empty_pages() -> None:
    empty = extract(pdf_of_pages(None), "t.pdf")
    assert (empty.status, empty.text.strip()) == ("ok", "")
    result = extract(pdf_of_pages(None, table_rows(2), None), "t.pdf")
    assert result.status == "ok" and routing_levels(result.text) == ["medium", "medium"]
    assert result.text.startswith("\nName\tRouting number\tAmount\n")


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_pdf_is_unscannable(cut: float) -> None:
    data = document(table_rows(5))
    result = extract(data[: int(len(data) * cut)], "t.pdf")
    assert result.status == "unscannable" and "malformed PDF" in (result.reason or "")


def test_rotated_text_keeps_the_plain_text() -> None:
    """The layout reading leaves rotated text out: the page keeps pypdf's text, which has it."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    with pdf.table() as table:
        for row in table_rows(3):
            cells = table.row()
            for cell in row:
                cells.cell(cell)
    with pdf.rotation(90, x=100, y=200):
        pdf.text(100, 200, "CONFIDENTIAL COPY")
    data = bytes(pdf.output())
    result = extract(data, "t.pdf")
    assert result.status == "ok" and result.text == plain_text(data) and "CONFIDENTIAL COPY" in result.text


def turned(data: bytes, rotate: int, *, drawn_turned: bool) -> bytes:
    """The PDF with every page's `/Rotate` set to `rotate`. `drawn_turned`: the content is drawn
    turned the other way first, so the page still shows upright (how a landscape table is printed
    on a portrait page); otherwise upright content is shown turned (a page turned in a viewer)."""
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=PdfReader(BytesIO(data)))
    for page in writer.pages:
        if drawn_turned:
            page.rotate((360 - rotate) % 360)
            page.transfer_rotation_to_content()
        page.rotate(rotate)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("drawn_turned", [True, False])
@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_pages_with_a_rotate_entry_keep_their_tables(rotate: int, drawn_turned: bool) -> None:
    """A table on a page with `/Rotate` is read as the page shows it, whichever way it was drawn.
    (Drawn turned, pypdf's plain text ran the cells of a row together, "Person 41210003584,250.00",
    and no routing number was found at all.)"""
    data = turned(document(table_rows(6)), rotate, drawn_turned=drawn_turned)
    assert PdfReader(BytesIO(data)).pages[0].rotation == rotate
    result = extract(data, "landscape.pdf")
    assert result.status == "ok"
    assert "Name\tRouting number\tAmount\nPerson 0\t021000021\t0,250.00\n" in result.text
    assert routing_levels(result.text) == ["medium"] * 6


def test_prose_set_word_by_word_is_pypdfs_text_unchanged() -> None:
    """Each word its own text object, as some producers and OCR layers write them: the page may hold
    a table (lines start at many places), is laid out, holds none, and keeps pypdf's text."""
    pdf = FPDF(unit="pt")
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    words, y = (PROSE + " " + PROSE).split(), 100.0
    for start in range(0, len(words), 9):
        x = 60.0
        for word in words[start:start + 9]:
            pdf.text(x, y, word)
            x += pdf.get_string_width(word + " ")
        y += 14
    data = bytes(pdf.output())
    starts = LineStarts()
    PdfReader(BytesIO(data)).pages[0].extract_text(visitor_operand_after=starts.see)
    assert starts.several()
    text = extract(data, "t.pdf").text
    assert text == plain_text(data) and text.split() == words


def test_two_column_page_layout_is_no_table() -> None:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    with pdf.text_columns(ncols=2, text_align="LEFT") as columns:
        columns.write(text=(PROSE + " ") * 8)
    data = bytes(pdf.output())
    text = extract(data, "t.pdf").text
    assert "\t" not in text and text.split() == plain_text(data).split()


def test_table_in_one_text_object() -> None:
    """Cells placed with `Td` inside one BT ... ET: pypdf joins a line's cells into one run with a
    space per space width between them, split again here."""
    rows = [("Name", "RTN", "Note"), ("Bob", ROUTINGS[0], "paid"), ("Ann", ROUTINGS[1], "late")]
    lines = " ".join(f"({a}) Tj 150 0 Td ({b}) Tj 150 0 Td ({c}) Tj -300 -16 Td" for a, b, c in rows)
    text = extract(samples.pdf_page(f"BT /F1 10 Tf 50 700 Td {lines} ET"), "t.pdf").text
    assert f"Name\tRTN\tNote\nBob\t{ROUTINGS[0]}\tpaid\n" in text
    assert routing_levels(text) == ["medium", "medium"]


def test_table_spaced_by_kerning() -> None:
    """Cells apart by `TJ` kerning (as TeX writes them) are cells too."""
    rows = [("Name", "RTN"), ("Bob", ROUTINGS[0]), ("Ann", ROUTINGS[1])]
    lines = " ".join(f"[({a}) -12000 ({b})] TJ 0 -16 Td" for a, b in rows)
    text = extract(samples.pdf_page(f"BT /F1 10 Tf 50 700 Td {lines} ET"), "t.pdf").text
    assert f"Bob\t{ROUTINGS[0]}\n" in text and routing_levels(text) == ["medium", "medium"]


def test_text_without_a_font_keeps_the_plain_text() -> None:
    """No `Tf`: pypdf's layout reading cannot measure the text; the page keeps its plain text."""
    ops = "BT 50 700 Td (Name) Tj 150 0 Td (RTN) Tj -150 -16 Td (Bob) Tj 150 0 Td (021000021) Tj ET"
    result = extract(samples.pdf_page(ops), "t.pdf")
    assert result.status == "ok" and "\t" not in result.text and "021000021" in result.text


def runs(*lines: tuple[float, list[tuple[float, str]]], size: float = 10.0) -> list[Run]:
    """Runs from (baseline, [(x, text), ...]), each character half an em wide."""
    return [Run(text, x, x + len(text) * size / 2, y, size) for y, line in lines for x, text in line]


def test_two_columns_of_prose_are_no_table() -> None:
    left = ["the quarter closed with the receipts filed", "and the auditors looking at them again"]
    right = ["while the board approved the payroll of", "the month after a short and calm review"]
    page = runs(*((700 - 14 * i, [(50, a), (320, b)]) for i, (a, b) in enumerate(zip(left, right, strict=True))))
    assert table_text(page) is None


def test_columns_of_short_cells_are_a_table() -> None:
    page = runs((700, [(50, "Name"), (200, "RTN")]), (680, [(50, "Bob"), (200, ROUTINGS[0])]),
                (660, [(50, "Ann")]), (640, [(50, "Kim"), (200, ROUTINGS[1])]), (600, [(50, "Signed by us")]))
    assert table_text(page) == f"Name\tRTN\nBob\t{ROUTINGS[0]}\nAnn\t\nKim\t{ROUTINGS[1]}\nSigned by us"


def test_cells_closer_than_a_cell_gap_split_where_the_header_has_columns() -> None:
    # Positions of a LibreOffice Writer PDF (7.4, an HTML table exported): centred header cells,
    # right-aligned amounts 0.35 em after the account number, "Carol White" 0.445 em before hers.
    page = [Run(t, x0, x1, y, 12.0) for t, x0, x1, y in [
        ("Transfers for December are listed below.", 0.0, 241.3, 802.4),
        ("Employee", 6.5, 71.5, 758.0), ("Routing number", 80.9, 191.3, 758.0),
        ("Account", 203.3, 258.2, 758.0), ("Amount", 271.1, 324.0, 758.0),
        ("Alice Smith", 1.4, 71.3, 726.9), (ROUTINGS[0], 79.5, 148.1, 726.9),
        ("123456789", 195.8, 264.4, 726.9), ("1,200.00", 268.6, 322.0, 726.9),
        ("Bob Jones", 1.4, 61.9, 695.8), (ROUTINGS[2], 79.5, 148.1, 695.8),
        ("987654321", 195.8, 264.4, 695.8), ("950.50", 268.6, 310.5, 695.8),
        ("Carol White", 1.4, 74.2, 664.7), (ROUTINGS[1], 79.5, 148.1, 664.7),
        ("555444333", 195.8, 264.4, 664.7), ("2,010.00", 268.6, 322.0, 664.7)]]
    assert table_text(page) == ("Transfers for December are listed below.\n"
                                "Employee\tRouting number\tAccount\tAmount\n"
                                f"Alice Smith\t{ROUTINGS[0]}\t123456789\t1,200.00\n"
                                f"Bob Jones\t{ROUTINGS[2]}\t987654321\t950.50\n"
                                f"Carol White\t{ROUTINGS[1]}\t555444333\t2,010.00")


def test_a_cell_is_not_split_where_no_column_asks_for_it() -> None:
    page = runs((700, [(50, "Name"), (200, "Routing")]), (680, [(50, "Bob"), (200, "Ann"), (218, "Lee")]),
                (660, [(50, "Kim"), (200, ROUTINGS[1])]))
    assert table_text(page) == f"Name\tRouting\nBob\tAnn Lee\nKim\t{ROUTINGS[1]}"


@pytest.mark.parametrize("bad", [
    Run("x", math.nan, 5, 700, 10), Run("x", 0, math.inf, 700, 10), Run("x", 0, 5, 700, 0), Run("x", 5, 0, 700, 10)])
def test_runs_without_usable_positions_give_no_layout(bad: Run) -> None:
    page = [*runs((700, [(50, "Name"), (200, "RTN")]), (680, [(50, "Bob"), (200, ROUTINGS[0])])), bad]
    assert table_text(page) is None


def test_too_many_runs_give_no_layout() -> None:
    page = runs(*((9000 - i, [(50, "a"), (200, "b")]) for i in range(MAX_RUNS // 2 + 1)))
    assert table_text(page) is None


RUNS = st.lists(st.builds(
    lambda text, x, width, y, size: Run(text, x, x + width, y, size),
    st.sampled_from(["Name", "RTN", ROUTINGS[0], "a b", "  ", "x  y", "路由号码", "\t", "the board approved it"]),
    st.floats(0, 600), st.floats(0, 200), st.sampled_from([700.0, 690.0, 680.0, 676.0, 660.0, 640.5, 600.0]),
    st.sampled_from([8.0, 10.0, 12.0])), max_size=60)


@settings(max_examples=300, deadline=None)
@given(RUNS)
def test_layout_keeps_every_character_once(page: list[Run]) -> None:
    text = table_text(page)
    if text is not None:
        assert Counter("".join(text.split())) == Counter("".join("".join(run.text for run in page).split()))
        assert all(line == line.strip(" ") for line in text.split("\n"))


CHROMIUM_PAGE = """<html><head><meta charset="utf-8"><style>
table {{ border-collapse: collapse; font-family: Arial, sans-serif; font-size: 11px }}
td, th {{ border: 1px solid #999; padding: 3px 8px }} td.n {{ text-align: right }}
</style></head><body><h2>Vendor payments</h2>
<table><tr><th>Vendor</th><th>Routing Number</th><th>Account</th><th>Amount</th></tr>{rows}</table>
<p>Internal reference {bare} appears in prose here.</p>
<table><tr><th>姓名</th><th>备注</th><th>Routing Number</th></tr>
<tr><td>王伟</td><td>付款</td><td class="n">{cjk}</td></tr><tr><td>Li, Na</td><td>退款</td><td class="n">{bare}</td></tr></table>
</body></html>"""


def test_chromium_printed_table(page: Any) -> None:
    """A table printed to PDF by Chromium (as "Save as PDF" writes a web report): Skia flips the
    page's y axis and draws upright text in it, and draws bold CJK headers in Type 3 fonts whose
    widths are not in thousandths; both are read, and the tables come out as tables."""
    rows = "".join(f'<tr><td>Vendor {i}</td><td class="n">{ROUTINGS[i]}</td><td>{123456789012 + i}</td>'
                   f'<td class="n">{i},200.00</td></tr>' for i in range(4))
    page.set_content(CHROMIUM_PAGE.format(rows=rows, bare=ROUTINGS[4], cjk=ROUTINGS[5]))
    data = page.pdf(format="A4")
    text = extract(data, "report.pdf").text
    lines = text.splitlines()
    assert "Vendor\tRouting Number\tAccount\tAmount" in lines
    assert f"Vendor 1\t{ROUTINGS[1]}\t123456789013\t1,200.00" in lines
    assert "姓名\t备注\tRouting Number" in lines, text
    assert f"王伟\t付款\t{ROUTINGS[5]}" in lines
    found = [(text[f.start:f.end], f.level) for f in scan_text(text, detectors=["us_aba_routing"])]
    assert found == [*((r, "medium") for r in ROUTINGS[:4]), (ROUTINGS[4], "low"), (ROUTINGS[5], "medium"),
                     (ROUTINGS[4], "medium")], text


def test_pdftex_tables() -> None:
    """A real pdfTeX PDF (TeX Live 2022, `pdflatex data/pdftex_tables.tex`): a ruled `tabular`,
    whose cells are text objects of their own, and an unruled one, whose rows are one text object
    each with the column gaps set as kerns and glue, so that their cells are estimated."""
    data = (Path(__file__).parent / "data" / "pdftex_tables.pdf").read_bytes()
    result = extract(data, "pdftex.pdf")
    assert result.status == "ok"
    assert "Name\tRouting number\tAmount\nPerson 0\t021000021\t0,250.00\n" in result.text
    assert "Employee\tSIN\tAadhaar\nSmith, John\t146 454 285\t2341 2341 2346\n" in result.text
    found = {(f.detector, f.level) for f in scan_text(result.text)}
    assert found == {("us_aba_routing", "medium"), ("ca_sin", "medium"), ("in_aadhaar", "high")}
    assert sum(f.detector == "ca_sin" for f in scan_text(result.text)) == 3  # every SIN named by its header


def test_libreoffice_narrow_and_stacked_tables() -> None:
    """A real LibreOffice Writer 7.4.7 PDF (`soffice --headless --convert-to pdf
    data/libreoffice_tables.html`): a one-row table whose narrow cells broke a routing number and
    an IBAN between characters (pypdf's text: `02100002 1`), then two tables with no gap between.
    (Its HTML import drops the page's heading and starts with an empty page; both are kept as made.)"""
    data = (Path(__file__).parent / "data" / "libreoffice_tables.pdf").read_bytes()
    assert "02100002 1" in plain_text(data)
    text = extract(data, "libreoffice.pdf").text
    assert "Name\tRouting number\tIBAN\tAmount\nPerson 0\t021000021\tGB82WEST12345698765432\t0,250.00\n" in text
    assert "Person 1\t111000025\t1,250.00\n\nEmployee\tSIN\tAadhaar\nSmith, John\t146 454 285\t2341 2341 2346\n" in text
    found = [(text[f.start:f.end], f.detector, f.level) for f in scan_text(text)]
    assert found == [(ROUTINGS[0], "us_aba_routing", "medium"), ("GB82WEST12345698765432", "iban", "high"),
                     (ROUTINGS[0], "us_aba_routing", "medium"), (ROUTINGS[1], "us_aba_routing", "medium"),
                     ("146 454 285", "ca_sin", "medium"), ("2341 2341 2346", "in_aadhaar", "high"),
                     ("746 454 289", "ca_sin", "medium"), ("9341 2341 2340", "in_aadhaar", "high")]


@pytest.mark.parametrize(("value", "read_as"), [("x", 0), (45, 0), (-90, 270), (10**30, 0)])
def test_odd_rotate_entries(value: object, read_as: int) -> None:
    """A `/Rotate` that is no number or no multiple of 90 counts as none; the table is read."""
    from pypdf import PdfWriter
    from pypdf.generic import NameObject, NumberObject, TextStringObject

    from rules.extract.pdf_runs import page_rotation

    writer = PdfWriter(clone_from=PdfReader(BytesIO(document(table_rows(3)))))
    entry = TextStringObject(value) if isinstance(value, str) else NumberObject(value)
    writer.pages[0][NameObject("/Rotate")] = entry
    out = BytesIO()
    writer.write(out)
    assert page_rotation(PdfReader(BytesIO(out.getvalue())).pages[0]) == read_as
    result = extract(out.getvalue(), "odd.pdf")
    assert result.status == "ok" and routing_levels(result.text) == ["medium"] * 3
