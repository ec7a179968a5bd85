"""Tables of a PDF page, recovered from where its text sits, written as `rules.extract.grid` writes
the tables of docx, pptx and HTML: one row per line, cells separated by tabs, so that
`rules.tables` finds the header cell of a hit's column.

A PDF holds no tables, only runs of text drawn at positions. Runs whose baselines lie within half
an em are one line, read left to right. A horizontal gap wider than `CELL_GAP` ems separates two
cells (a word space is 0.25-0.33 em); so do two or more spaces inside a run, which is how pypdf
writes a gap inside one text object (one space per space width; the pieces' positions are then
estimated from the count of spaces and other characters before them).

A block of consecutive lines is a table when the cells of its lines fall into columns that line up:
each cell overlaps at most one column and no two cells of a line share one. Lines with a single
cell may sit inside the block (a row with empty cells) but do not start it or end it. The block is
kept if at least two rows have two cells or more and one column at least is not prose (a
two-column page layout has prose in every column; a table has short cells somewhere).

Rows: where at least two of the block's line distances exceed `ROW_GAP` times its smallest one
(padded cells: rows are further apart than lines), lines at about the smallest distance are one
row: a cell wrapped over several lines with the one-line cells beside it (top-aligned or centred),
and such lines just above and below the block. So are lines closer than the table's text pitch
(the distance from one line of a column to the next) whose cells lie in other columns: a cell
centred beside a wrapped one, half a line off, in a table of one or two rows. Two lines of two
cells or more that share a column stay two rows. Otherwise each line is a row, and a wrapped cell
gives a row of its own. In a cell, the lines join with a space, except where a word longer than
the cell was broken between characters (an IBAN in a narrow column, `_broken`).

A row of names between two runs of numbers (no digit in it, numbers above and below in one of its
columns) heads a table of its own: two tables set one below the other line up as one block.

Everything else comes out as ordinary lines, cells joined by a space. `table_text` returns None when
the page holds no table or its runs cannot be laid out, so that the caller keeps pypdf's own text.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

#: Ems of horizontal gap beyond which two runs of a line are separate cells.
CELL_GAP = 0.45
#: Ems of a space (Helvetica's 0.278; Times 0.25, DejaVu Sans 0.318): where pypdf has written a gap
#: inside a run as spaces, one per space width, this puts the pieces back where they were.
SPACE = 0.28
#: Ems of horizontal gap from which two runs of a cell are separate words.
WORD_GAP = 0.1
#: Ems between two baselines within which runs are on one line.
SAME_LINE = 0.5
#: Ems between two lines beyond which they are not rows of one table.
BLOCK_GAP = 3.0
#: Times a table's smallest line distance up to which a line continues the row above it.
ROW_GAP = 1.25
#: Ems from a column's right edge within which a line of one token was broken there for width.
BROKEN_EDGE = 1.0
#: Times a table's text pitch under which two lines are one row (cells centred beside taller ones).
OFFSET = 0.8
#: A cell of this many words, or this display width, is prose (wide CJK characters count two).
PROSE_WORDS, PROSE_WIDTH = 5, 36
#: Pages with more runs, and lines with more cells, are left to pypdf's plain text.
MAX_RUNS = 20_000
MAX_COLUMNS = 64

_CHUNK = re.compile(r"\S+(?:\s\S+)*")  # text between runs of two or more whitespace characters

Column = tuple[float, float]
Line = list["Run"]  # the cells (or runs) of one line, left to right


@dataclass(frozen=True, slots=True)
class Run:
    """Text drawn on one baseline `y` from `x0` to `x1`, in page units; `size` is its font height."""

    text: str
    x0: float
    x1: float
    y: float
    size: float
    #: A cell joined from runs across word gaps: those runs (empty for a single piece). A table's
    #: columns may split it there again (`_fitted`).
    parts: tuple[Run, ...] = ()


@dataclass(frozen=True, slots=True)
class _Block:
    start: int  # first line
    end: int  # line after the last
    rows: tuple[str, ...] | None  # None: the lines line up but are no table


def table_text(runs: Sequence[Run]) -> str | None:
    """The page as text with its tables as tab-separated rows; None if it holds no table."""
    if len(runs) > MAX_RUNS or not all(_usable(run) for run in runs):
        return None
    lines = _lines([run for run in runs if run.text.strip()])
    tables: list[_Block] = []
    start = 0
    while start < len(lines):
        block = _block_at(lines, start, tables[-1].end if tables else 0)
        if block is None:
            start += 1
            continue
        if block.rows is not None:
            tables.append(block)
        start = block.end
    return _render(lines, tables) if tables else None


def _usable(run: Run) -> bool:
    numbers = (run.x0, run.x1, run.y, run.size)
    return all(math.isfinite(n) for n in numbers) and run.size > 0 and run.x1 >= run.x0


def _lines(runs: list[Run]) -> list[Line]:
    """The cells of each line (runs grouped by baseline), top to bottom."""
    lines: list[Line] = []
    for run in sorted(runs, key=lambda r: (-r.y, r.x0)):
        if lines and lines[-1][0].y - run.y <= SAME_LINE * min(run.size, lines[-1][0].size):
            lines[-1].append(run)
        else:
            lines.append([run])
    return [_cells(sorted(line, key=lambda r: r.x0)) for line in lines]


def _pieces(line: Line) -> Iterator[tuple[Run, bool]]:
    """The runs of a line split at two or more spaces; True for a piece that such a gap starts.
    A piece keeps one space at either end where its run has whitespace there."""
    for run in line:
        chunks = list(_CHUNK.finditer(run.text))
        if not chunks:
            continue
        for number, (chunk, (x0, x1)) in enumerate(zip(chunks, _spans(run, chunks), strict=True)):
            text = (" " if number == 0 and chunk.start() else "") + chunk.group() + (
                " " if number == len(chunks) - 1 and chunk.end() < len(run.text) else "")
            yield Run(text, x0, x1, run.y, run.size), number > 0


def _spans(run: Run, chunks: list[re.Match[str]]) -> list[tuple[float, float]]:
    """Where the chunks of a run start and end, supposing its spaces `SPACE` ems wide and its other
    characters sharing the rest of its width; the first starts and the last ends with the run."""
    spaces = run.text.count(" ")
    space = min(SPACE * run.size, (run.x1 - run.x0) / max(spaces, 1))
    glyph = (run.x1 - run.x0 - spaces * space) / max(len(run.text) - spaces, 1)
    edges, seen, before = [], 0, 0
    for index in (i for chunk in chunks for i in chunk.span()):
        before += run.text.count(" ", seen, index)
        seen = index
        edges.append(run.x0 + before * space + (index - before) * glyph)
    edges[0], edges[-1] = run.x0, run.x1
    return list(zip(edges[::2], edges[1::2], strict=True))


def _cells(line: Line) -> Line:
    cells: Line = []
    for piece, split in _pieces(line):
        if cells and not split and piece.x0 - cells[-1].x1 < CELL_GAP * max(piece.size, cells[-1].size):
            cells[-1] = _joined(cells[-1], piece)
        else:
            cells.append(piece)
    return cells


def _joined(left: Run, right: Run) -> Run:
    size = max(left.size, right.size)
    gap = right.x0 - left.x1 >= WORD_GAP * size
    spaced = gap or left.text.endswith(" ") or right.text.startswith(" ")
    text = left.text.rstrip() + (" " if spaced else "") + right.text.lstrip()
    parts = left.parts or (left,)
    if gap:
        parts += (right,)
    elif left.parts:  # no gap between them: the last part goes on
        last = parts[-1]
        joined = last.text.rstrip() + (" " if spaced else "") + right.text.lstrip()
        parts = (*parts[:-1], Run(joined, last.x0, max(last.x1, right.x1), left.y, size))
    return Run(text, left.x0, max(left.x1, right.x1), left.y, size, parts if len(parts) > 1 else ())


def _fitted(cells: Line, columns: list[Column]) -> Line | None:
    """The line with each cell that spans several `columns` split at its word gaps into cells that
    each fall in one of them; None if that does not fit. A right-aligned number and the cell after
    it can be closer than `CELL_GAP` (LibreOffice's tables), while the header above them is not."""
    fitted: Line = []
    for cell in cells:
        if not cell.parts or len(_overlapped(cell, columns)) <= 1:
            fitted.append(cell)
            continue
        column: int | None = None
        for number, part in enumerate(cell.parts):
            hits = _overlapped(part, columns)
            if len(hits) > 1:
                return None
            here = hits[0] if hits else None
            if number and here == column:
                fitted[-1] = _joined(fitted[-1], part)
            else:
                fitted.append(part)
            column = here
    return fitted


def _overlapped(cell: Run, columns: list[Column]) -> list[int]:
    return [i for i, (x0, x1) in enumerate(columns) if cell.x0 < x1 and cell.x1 > x0]


def _placed(cells: Line, columns: list[Column]) -> list[Column] | None:
    """`columns` widened by the cells of one more line; None if the line does not fit them."""
    if len(cells) > MAX_COLUMNS:
        return None
    merged, taken = list(columns), set()
    for cell in cells:
        hits = _overlapped(cell, columns)
        if len(hits) > 1 or (hits and hits[0] in taken):
            return None
        if hits:
            taken.add(hits[0])
            x0, x1 = merged[hits[0]]
            merged[hits[0]] = (min(x0, cell.x0), max(x1, cell.x1))
        else:
            merged.append((cell.x0, cell.x1))
    merged.sort()
    if any(left[1] > right[0] for left, right in zip(merged, merged[1:], strict=False)):
        return None
    return merged


def _block_at(lines: list[Line], start: int, floor: int) -> _Block | None:
    """The block whose first line of two cells or more is `start`; None if `start` starts none."""
    columns = _placed(lines[start], []) if len(lines[start]) >= 2 else None
    if columns is None:
        return None
    end = index = start + 1
    while index < len(lines) and _distance(lines[index - 1], lines[index]) <= BLOCK_GAP * _size(lines[index]):
        widened = _placed(lines[index], columns)
        if widened is None:
            fitted = _fitted(lines[index], columns)
            widened = _placed(fitted, columns) if fitted is not None else None
            if fitted is None or widened is None:
                break
            lines[index] = fitted
        columns, index = widened, index + 1
        if len(lines[index - 1]) >= 2:
            end = index
    if end - start < 2:
        return _Block(start, index, None)  # no line below it has two cells: none of them starts a table
    return _table(lines, start, end, floor)


def _table(lines: list[Line], start: int, end: int, floor: int) -> _Block:
    """The block `start:end` as rows, with the wrapped lines just above and below it."""
    distances = [_distance(lines[i], lines[i + 1]) for i in range(start, end - 1)]
    wide = sum(distance > ROW_GAP * min(distances) for distance in distances)
    step = min(distances) if wide >= 2 else 0.0  # 0: a row per line
    columns = _columns(lines[start:end])
    pitch = _pitch(lines[start:end], columns)
    while start > floor and _wrapped(lines[start - 1], lines[start], columns, step, pitch):
        start -= 1
    while end < len(lines) and _wrapped(lines[end], lines[end - 1], columns, step, pitch):
        end += 1
    columns = _columns(lines[start:end])
    rows = _rows(lines[start:end], columns, step, pitch)
    filled = sum(sum(bool(cell) for cell in row) >= 2 for row in rows)
    table = filled >= 2 and not all(_prose_column([row[i] for row in rows]) for i in range(len(columns)))
    if not table:
        return _Block(start, end, None)
    breaks = _header_rows(rows)
    text = [line for number, row in enumerate(rows) for line in (("",) if number in breaks else ()) + ("\t".join(row),)]
    return _Block(start, end, tuple(text))


def _header_rows(rows: list[list[str]]) -> set[int]:
    """Rows below the first two that head a table of their own: two tables set one below the
    other with no gap between them line up as one block, and the second one's header would be read
    as a data row of the first (its values then named by the first table's header).

    Such a row has two cells or more, no digit and no placeholder in any of them, and sits in a
    column that holds digits in the rows just above and below it: a header between two runs of
    numbers. An all-text data row ("n/a", "pending") between numbers is rarer than its look:
    placeholders do not count, and the row must fill as many columns as the block's first row.
    """
    heads = set()
    width = sum(bool(cell) for cell in rows[0])
    for number in range(2, len(rows) - 1):
        row, above, below = rows[number], rows[number - 1], rows[number + 1]
        cells = [cell for cell in row if cell]
        if len(cells) < max(2, width) or any(_numeric(cell) or cell.lower() in _PLACEHOLDERS for cell in cells):
            continue
        if any(row[i] and _numeric(above[i]) and _numeric(below[i]) for i in range(len(row))):
            heads.add(number)
    return heads


def _numeric(cell: str) -> bool:
    return any(ch.isdigit() for ch in cell)


#: Cells that stand for a missing value, not for the name of a column.
_PLACEHOLDERS = frozenset({"n/a", "na", "n.a.", "-", "--", "—", "–", "none", "null", "nil", "pending", "tbd", "unknown",
                           "void", "x", "?", "无", "空", "暂无", "待定"})


def _distance(upper: Line, lower: Line) -> float:
    return upper[0].y - lower[0].y


def _size(line: Line) -> float:
    return max(run.size for run in line)


def _columns(lines: list[Line]) -> list[Column]:
    columns: list[Column] = []
    for line in lines:
        columns = _placed(line, columns) or columns  # every line of a block fits, as it was built
    return columns


def _wrapped(line: Line, neighbour: Line, columns: list[Column], step: float, pitch: float) -> bool:
    """Whether the one-cell `line`, next to the block's edge line `neighbour`, belongs to its row."""
    upper, lower = (line, neighbour) if line[0].y > neighbour[0].y else (neighbour, line)
    return _same_row(upper, lower, step, pitch) and len(line) == 1 and _placed(line, columns) is not None


def _same_row(upper: Line, lower: Line, step: float, pitch: float) -> bool:
    """Whether `lower`, the line below `upper`, continues its row: it is no further than the
    table's line distance inside a row (`step`, 0 for a row per line), or closer than `OFFSET`
    times its text `pitch` (`_pitch`), which two lines of one cell never are: a cell centred
    beside a taller one sits half a line off the lines of that one."""
    distance = _distance(upper, lower)
    return distance <= ROW_GAP * step or distance < OFFSET * pitch


def _pitch(lines: list[Line], columns: list[Column]) -> float:
    """The smallest distance between two consecutive lines with text in a common column (one
    line of text to the next, at the least); 0 if no two lines share a column."""
    places = [{_column_of(cell, columns) for cell in line} for line in lines]
    shared = [_distance(lines[i], lines[i + 1]) for i in range(len(lines) - 1) if places[i] & places[i + 1]]
    return min(shared, default=0.0)


def _rows(lines: list[Line], columns: list[Column], step: float, pitch: float) -> list[list[str]]:
    """Cell texts by row and column; `step` is the line distance inside a row (0: a row per line),
    `pitch` the table's text pitch (`_same_row`).
    A line of two cells or more starts a row if the line above has two or more and shares a column."""
    rows: list[list[list[Run]]] = []
    above: set[int] = set()  # the columns of the line above
    for number, line in enumerate(lines):
        places = [_column_of(cell, columns) for cell in line]
        close = number > 0 and _same_row(lines[number - 1], line, step, pitch)
        if not close or (len(line) >= 2 and len(above) >= 2 and above & set(places)):
            rows.append([[] for _ in columns])
        for cell, place in zip(line, places, strict=True):
            rows[-1][place].append(cell)
        above = set(places)
    return [[_cell_text(parts, right) for parts, (_, right) in zip(row, columns, strict=True)] for row in rows]


def _cell_text(parts: list[Run], right: float) -> str:
    """The lines of one cell joined by spaces, except where a value was broken inside for width
    (`_broken`): there the pieces join as they were."""
    text = ""
    for number, part in enumerate(parts):
        piece = " ".join(part.text.split())
        glue = "" if number and _broken(parts[number - 1], part, right) else " "
        text = text + glue + piece if text else piece
    return text


def _broken(upper: Run, lower: Run, right: float) -> bool:
    """Whether `upper` is the first part of a value that its cell broke for width, `lower` the rest.

    A word longer than its cell is broken between characters (an IBAN or an account number in a
    narrow column). Its first line is one token with a digit that reaches the column's right edge
    (within `BROKEN_EDGE` ems) and ends in a digit, a letter, a hyphen or a slash after a digit;
    the next line starts with a letter or a digit. A line of one word that wrapped before the next
    word ("Routing" over "number") has no digit.
    """
    head, tail = upper.text.strip(), lower.text.strip()
    if not head or not tail or any(ch.isspace() for ch in head) or not any(ch.isdigit() for ch in head):
        return False
    end = head[-1].isalnum() or (head[-1] in "-/" and len(head) > 1 and head[-2].isdigit())
    return end and tail[0].isalnum() and upper.x1 >= right - BROKEN_EDGE * upper.size


def _column_of(cell: Run, columns: list[Column]) -> int:
    middle = (cell.x0 + cell.x1) / 2
    return min(range(len(columns)), key=lambda i: max(columns[i][0] - middle, middle - columns[i][1], 0.0))


def _prose_column(cells: list[str]) -> bool:
    filled = [cell for cell in cells if cell]
    return sum(_prose(cell) for cell in filled) * 2 > len(filled)


def _prose(text: str) -> bool:
    return len(text.split()) >= PROSE_WORDS or display_width(text) >= PROSE_WIDTH


def display_width(text: str) -> int:
    """Columns the text takes in a fixed-width font: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _render(lines: list[Line], tables: list[_Block]) -> str:
    out: list[str] = []
    done = 0
    for table in tables:
        out.extend(_plain(line) for line in lines[done:table.start])
        if out and "\t" in out[-1]:
            out.append("")  # a table right below another one keeps its own header
        out.extend(table.rows or ())
        done = table.end
    out.extend(_plain(line) for line in lines[done:])
    return "\n".join(out)


def _plain(line: Line) -> str:
    return " ".join(" ".join(cell.text for cell in line).split())
