"""Excel binary workbooks (.xlsb, [MS-XLSB], "BIFF12").

Excel's "Binary Workbook" is the xlsx package with its XML parts replaced by binary record
streams: finance teams save large models in it because it opens faster. Before this module a
.xlsb was a zip of `.bin` members, each `unscannable` for "no text to extract from binary data",
so a payroll sheet saved as .xlsb passed the low zone's audit unread.

A part is a sequence of records: a type (1-2 bytes, 7 bits each, the high bit saying another
follows), a size (1-4 bytes, likewise) and the data. Read here:

- worksheets (`xl/worksheets/sheetN.bin`): `BrtRowHdr` (0) starts a row; cells are `BrtCellRk`
  (2, an RK number), `BrtCellBool` (4), `BrtCellReal` (5, a double), `BrtCellSt` (6, a string),
  `BrtCellIsst` (7, a shared string), `BrtCellRString` (62, rich text), and the cached values of
  formulas `BrtFmlaString` (8), `BrtFmlaNum` (9), `BrtFmlaBool` (10). Every cell starts with its
  column (4 bytes) and style (4 bytes).
- shared strings (`xl/sharedStrings.bin`): `BrtSSTItem` (19), a RichStr.
- number formats (`xl/styles.bin`): `BrtFmt` (44) codes, and the `BrtXF` (47) records between
  `BrtBeginCellXFs` (617) and `BrtEndCellXFs` (618), which give each cell style its format, so
  that an identifier stored as a number shows as it does on screen (`rules.extract.numfmt`).
- comments (`xl/commentsN.bin`): `BrtCommentText` (637).

The text is laid out as an xlsx's is (`rules.extract.office.sheet_text`): a row a line, cells by
tabs in their columns, so column headers name the values below them. Document properties, custom
XML, charts' caches (XML parts in an .xlsb too), pictures and embedded objects are read as an
xlsx's are. Every length is checked against its record before it is used; a part whose records
run past its end is read up to there and named `unscannable`.
"""

from __future__ import annotations

import re
import struct
import zipfile
from collections.abc import Iterator
from io import BytesIO

from rules.extract.budget import Budget, Unscannable
from rules.extract.numfmt import Render, renderer
from rules.extract.office import hidden_parts_text, read_member, sheet_text

_ROW, _BLANK, _RK, _ERROR, _BOOL, _REAL, _STRING, _SHARED = 0, 1, 2, 3, 4, 5, 6, 7
_FORMULA_STRING, _FORMULA_NUMBER, _FORMULA_BOOL, _FORMULA_ERROR = 8, 9, 10, 11
_SST_ITEM, _RICH_STRING, _FORMAT, _XF, _CELL_XFS, _CELL_XFS_END, _COMMENT_TEXT = 19, 62, 44, 47, 617, 618, 637
_MAX_COLUMN = 16383
_SHEETS = re.compile(r"xl/(worksheets/sheet\d+|comments\d*)\.bin")


def is_xlsb(names: set[str]) -> bool:
    return "xl/workbook.bin" in names


class _Damaged(Exception):
    """A record or field runs past the end of its part."""


def records(part: bytes) -> Iterator[tuple[int, bytes]]:
    """(type, data) of each record of a BIFF12 part; raises `_Damaged` when one runs past the end."""
    pos, end = 0, len(part)
    while pos < end:
        kind, pos = _varint(part, pos, 2)
        size, pos = _varint(part, pos, 4)
        if pos + size > end:
            raise _Damaged(f"a record of type {kind} runs {pos + size - end} bytes past the end")
        yield kind, part[pos : pos + size]
        pos += size


def _varint(part: bytes, pos: int, most: int) -> tuple[int, int]:
    value = 0
    for index in range(most):
        if pos >= len(part):
            raise _Damaged("a record header runs past the end")
        byte = part[pos]
        pos += 1
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, pos
    if most == 2:  # a type's second byte may keep its high bit (types up to 0x3FFF)
        return value, pos
    raise _Damaged("a record size longer than 4 bytes")


def _wide(data: bytes, pos: int) -> tuple[str, int]:
    """An XLWideString: a 32-bit character count and UTF-16LE."""
    if pos + 4 > len(data):
        raise _Damaged("a string runs past its record")
    count = struct.unpack_from("<I", data, pos)[0]
    if count == 0xFFFFFFFF:  # XLNullableWideString's null
        return "", pos + 4
    end = pos + 4 + 2 * count
    if end > len(data):
        raise _Damaged("a string runs past its record")
    return data[pos + 4 : end].decode("utf-16-le", "replace"), end


def _rich(data: bytes, pos: int) -> str:
    """A RichStr: a flags byte, then the string (the formatting runs after it are not needed)."""
    return _wide(data, pos + 1)[0]


def _number(value: float) -> str:
    """A number as Excel's XML would store it: integers without ".0"."""
    if value != value or value in (float("inf"), float("-inf")):
        return ""
    if value.is_integer() and abs(value) < 1e17:
        return str(int(value))
    return repr(value)


def _rk(raw: int) -> float:
    """An RkNumber: 30 bits of an integer or of a double's high bits, maybe divided by 100."""
    if raw & 0x02:
        value = float(raw >> 2 if raw < 1 << 31 else (raw >> 2) - (1 << 30))
    else:
        value = struct.unpack("<d", struct.pack("<Q", (raw & 0xFFFFFFFC) << 32))[0]
    return value / 100 if raw & 0x01 else value


def _cell(kind: int, data: bytes, shared: list[str], previous: int) -> tuple[int, int, str | None, bool]:
    """(column, style, value, is a number) of a cell record; value None for a cell without text
    (a blank or an error). A short record (12-18, as Excel 2010 and later write them) has no
    column: it is the cell after `previous`, the row's last cell."""
    short = kind in _SHORT
    head = 4 if short else 8
    if len(data) < head:
        raise _Damaged(f"a cell record of {len(data)} bytes")
    column = previous + 1 if short else struct.unpack_from("<I", data)[0]
    if column > _MAX_COLUMN:
        raise _Damaged(f"a cell in column {column}")
    style = struct.unpack_from("<I", data, head - 4)[0] & 0xFFFFFF
    kind = _SHORT.get(kind, kind)
    value: str | None = None
    if kind == _RK and len(data) >= head + 4:
        value = _number(_rk(struct.unpack_from("<I", data, head)[0]))
    elif kind in (_REAL, _FORMULA_NUMBER) and len(data) >= head + 8:
        value = _number(struct.unpack_from("<d", data, head)[0])
    elif kind in (_STRING, _FORMULA_STRING):
        value = _wide(data, head)[0]
    elif kind == _RICH_STRING:
        value = _rich(data, head)
    elif kind == _SHARED and len(data) >= head + 4:
        index = struct.unpack_from("<I", data, head)[0]
        value = shared[index] if index < len(shared) else None
    elif kind in (_BOOL, _FORMULA_BOOL) and len(data) >= head + 1:
        value = "TRUE" if data[head] else "FALSE"
    return column, style, value, kind in (_RK, _REAL, _FORMULA_NUMBER)


#: The short cell records and the full record each stands for: BrtShortBlank (12), BrtShortRk,
#: BrtShortError, BrtShortBool, BrtShortReal, BrtShortSt, BrtShortIsst (18).
_SHORT = {12: _BLANK, 13: _RK, 14: _ERROR, 15: _BOOL, 16: _REAL, 17: _STRING, 18: _SHARED}
#: Every record that is a cell, blanks and errors included (they move the column on).
_CELLS = frozenset({_BLANK, _RK, _ERROR, _BOOL, _REAL, _STRING, _SHARED, _FORMULA_STRING, _FORMULA_NUMBER,
                    _FORMULA_BOOL, _FORMULA_ERROR, _RICH_STRING, *_SHORT})


def _sheet_rows(part: bytes, shared: list[str], formats: list[Render | None], budget: Budget,
                problems: list[str], name: str) -> Iterator[tuple[int, list[tuple[int, str]]]]:
    number, column = 0, -1
    cells: list[tuple[int, str]] = []
    try:
        for count, (kind, data) in enumerate(records(part)):
            if count % 4096 == 0:
                budget.check_time()
            if kind == _ROW and len(data) >= 4:
                if cells or number:
                    yield number, cells
                number, cells, column = struct.unpack_from("<I", data)[0] + 1, [], -1
            elif kind in _CELLS:
                column, style, value, numeric = _cell(kind, data, shared, column)
                if value is None:
                    continue
                render = formats[style] if numeric and style < len(formats) else None
                cells.append((column, value if render is None else render(value)))
    except _Damaged as exc:
        problems.append(f"{name}: {exc}")
    if cells or number:
        yield number, cells


def _part_text(kind: int, part: bytes, problems: list[str], name: str) -> list[str]:
    """The strings of every record of one type (shared strings, comment texts)."""
    out = []
    try:
        for record, data in records(part):
            if record == kind:
                out.append(_rich(data, 0))
    except _Damaged as exc:
        problems.append(f"{name}: {exc}")
    return out


def _formats(part: bytes, problems: list[str]) -> list[Render | None]:
    codes: dict[int, str] = {}
    styles: list[Render | None] = []
    by_id: dict[int, Render | None] = {}
    inside = False
    try:
        for kind, data in records(part):
            if kind == _FORMAT and len(data) >= 2:
                codes[struct.unpack_from("<H", data)[0]] = _wide(data, 2)[0]
            elif kind == _CELL_XFS:
                inside = True
            elif kind == _CELL_XFS_END:
                inside = False
            elif kind == _XF and inside and len(data) >= 4:
                key = struct.unpack_from("<H", data, 2)[0]
                if key not in by_id:
                    by_id[key] = renderer(codes.get(key, ""))
                styles.append(by_id[key])
    except _Damaged as exc:  # a broken styles part costs the formats, not the workbook's text
        problems.append(f"xl/styles.bin: {exc}")
    return styles


def xlsb_content(data: bytes, budget: Budget, what: str) -> tuple[str, str | None]:
    """Text of an Excel binary workbook: its sheets (by number) and comments, then the XML parts
    an xlsx's text would include; and what was damaged, if anything (read up to the damage)."""
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise Unscannable(f"{what}: corrupt xlsb ({exc})") from None
    names = {info.filename: info for info in archive.infolist()}
    problems: list[str] = []

    def part(name: str) -> bytes | None:
        info = names.get(name)
        return None if info is None else read_member(archive, info, budget, what)

    strings = part("xl/sharedStrings.bin")
    shared = _part_text(_SST_ITEM, strings, problems, "xl/sharedStrings.bin") if strings is not None else []
    styles = part("xl/styles.bin")
    formats = _formats(styles, problems) if styles is not None else []
    texts = []
    sheets = sorted((n for n in names if _SHEETS.fullmatch(n)), key=lambda n: ("comments" in n, _digits(n), n))
    for name in sheets:
        budget.enter(what)
        content = part(name) or b""
        if "comments" in name:
            texts.append("\n".join(_part_text(_COMMENT_TEXT, content, problems, name)))
        else:
            texts.append(sheet_text(_sheet_rows(content, shared, formats, budget, problems, name)))
    texts.extend(hidden_parts_text(archive, budget, what))
    problem = f"{what}: damaged xlsb ({'; '.join(problems)[:300]})" if problems else None
    return "\n\n".join(texts), problem


def _digits(name: str) -> int:
    digits = "".join(ch for ch in name if ch.isdigit())
    return int(digits) if digits else 0
