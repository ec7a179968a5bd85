"""Excel 2003 XML spreadsheets (SpreadsheetML 2003: `urn:schemas-microsoft-com:office:spreadsheet`).

Reporting tools still export "Excel 2003 XML" (SQL Server Reporting Services, many web
applications' "export to Excel"), and Excel opens it as a workbook. It was read as any XML: every
cell's text run together on one line, so no column header named the values below it. Now each
worksheet is a table as an xlsx sheet is (`rules.extract.office.sheet_text`): `Row` elements (their
`ss:Index`, 1-based, when rows are skipped), `Cell` elements (their `ss:Index` when cells are
skipped, `ss:MergeAcross` moving the next one on), the text of each cell's `Data` (rich text
inside it included), numbers shown through their style's `NumberFormat` when it pads digits (an
identifier stored as 21000021 in a `000000000` style reads 021000021); cell comments follow their
sheet.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element

from rules.extract.markup import element_text
from rules.extract.numfmt import Render, renderer
from rules.extract.office import sheet_text

NAMESPACE = "urn:schemas-microsoft-com:office:spreadsheet"
_SS = f"{{{NAMESPACE}}}"
#: The largest row or column index taken from the file (Excel's own limits).
_MAX_ROW, _MAX_COLUMN = 1_048_576, 16_384


def is_spreadsheet_2003(root: Element) -> bool:
    return root.tag == f"{_SS}Workbook"


def spreadsheet_2003_text(root: Element) -> str:
    """Each worksheet as rows of tab-separated cells, then its comments; sheets apart by a blank line."""
    formats = _formats(root)
    texts = []
    for sheet in root.iter(f"{_SS}Worksheet"):
        comments: list[str] = []
        texts.append(sheet_text(_rows(sheet, formats, comments)))
        texts.extend(comments)
    return "\n\n".join(texts)


def _formats(root: Element) -> dict[str, Render]:
    """How each style (by `ss:ID`) shows a number, for the styles whose format pads digits."""
    rendered = {}
    for style in root.iter(f"{_SS}Style"):
        number = style.find(f"{_SS}NumberFormat")
        code = number.get(f"{_SS}Format") if number is not None else None
        render = renderer(code) if code else None
        if render is not None:
            rendered[style.get(f"{_SS}ID", "")] = render
    return rendered


def _rows(sheet: Element, formats: dict[str, Render], comments: list[str]) -> Iterator[tuple[int, list[tuple[int, str]]]]:
    number = 0
    for row in sheet.iter(f"{_SS}Row"):
        number = _index(row, number + 1, _MAX_ROW)
        cells, following = [], 1  # the 1-based column of the next cell without an index
        for cell in row.iter(f"{_SS}Cell"):
            column = _index(cell, following, _MAX_COLUMN) - 1
            data = cell.find(f"{_SS}Data")
            value = element_text(data).strip() if data is not None else ""
            render = formats.get(cell.get(f"{_SS}StyleID", ""))
            if value and render is not None and data is not None and data.get(f"{_SS}Type") == "Number":
                value = render(value)
            if value:
                cells.append((column, value))
            comment = cell.find(f"{_SS}Comment")
            if comment is not None and element_text(comment).strip():
                comments.append(element_text(comment).strip())
            following = column + 2 + _int(cell.get(f"{_SS}MergeAcross"), 0, _MAX_COLUMN)
        yield number, cells


def _index(node: Element, default: int, most: int) -> int:
    """A row's or cell's `ss:Index` (1-based), or `default`; never past `most`."""
    return _int(node.get(f"{_SS}Index"), default, most) or default


def _int(text: str | None, default: int, most: int) -> int:
    if text is None or not text.strip().isdigit():
        return default
    return min(int(text.strip()[:8]), most)
