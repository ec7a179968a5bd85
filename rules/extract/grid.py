"""Tables of documents (docx, pptx, HTML) as delimited text: one row per line, cells separated by
tabs, so that `rules.tables` finds the header cell of a hit's column as it does for CSV and xlsx.

A cell's own line breaks and tabs become single spaces (a cell stays one cell); a cell spanning
several columns is followed by empty cells where the file leaves the covered cells out (docx
``gridSpan``, HTML ``colspan``; pptx keeps them), and a cell spanning rows leaves an empty cell in
the rows below where the file leaves those out (HTML ``rowspan``), so every cell stays under its
header. Text of a table outside any cell (an HTML caption) becomes a line before the rows: a title
line, which is no row of the table.

A table that holds another table is layout, not data (a page or an e-mail laid out in a table):
its cells are written one per line, as before tables were delimited, and the tables inside them
as tables of their own. Past `MAX_NESTING` levels, inner tables are flattened into their cell.

Bounds on hostile markup: spans count at most `MAX_SPAN` columns, and the empty cells filled in
for spans and covered rows are at most `FILL_CELLS` plus `FILL_PER_CELL` per stored cell of a
table (as for xlsx gaps), so a few bytes of markup cannot become megabytes of tabs; once that is
spent, cells are written as they come and rowspans are no longer followed.
"""

from __future__ import annotations

MAX_SPAN = 1000
FILL_CELLS = 1024
FILL_PER_CELL = 8
MAX_NESTING = 4

Piece = str | tuple[str]  # text as it comes, or (an inner table's rendered lines,)


class Grid:
    """One table being read: rows of cells, each cell a list of pieces."""

    def __init__(self) -> None:
        self.rows: list[list[list[Piece]]] = []
        self.loose: list[str] = []
        self.layout = False
        self._cell: list[Piece] | None = None
        self._span = self._down = 1
        self._covered: dict[int, int] = {}  # column -> rows below still covered by a rowspan
        self._allowance = FILL_CELLS

    def start_row(self, skipped: int = 0) -> None:
        """A new row; `skipped` leading grid columns hold no cell (docx ``gridBefore``)."""
        self.end_row()
        self.rows.append([])
        self._fill(min(max(skipped, 0), MAX_SPAN))

    def start_cell(self, colspan: int = 1, rowspan: int = 1) -> list[Piece]:
        self.end_cell()
        if not self.rows:
            self.start_row()
        if self._covered:
            self._fill(0)
        cell: list[Piece] = []
        self._cell = cell
        self._span, self._down = min(max(colspan, 1), MAX_SPAN), min(max(rowspan, 1), 65534)
        return cell

    def text(self, text: str) -> None:
        if self._cell is not None:
            self._cell.append(text)
        elif text.strip():
            self.loose.append(text)

    def table(self, rendered: str) -> None:
        """An inner table's text: this table is layout."""
        cell = self._cell if self._cell is not None else self.start_cell()
        cell.append((rendered,))
        self.layout = True

    def end_cell(self) -> None:
        if self._cell is None:
            return
        row, column = self.rows[-1], len(self.rows[-1])
        row.append(self._cell)
        self._cell = None
        self._allowance += FILL_PER_CELL
        extra = self._spend(self._span - 1) if self._span > 1 else 0
        if extra:
            row.extend([] for _ in range(extra))
        if self._down > 1 and self._allowance > extra and self._spend(extra + 1):
            for covered in range(column, column + extra + 1):
                self._covered[covered] = self._down - 1

    def end_row(self) -> None:
        """Columns right of the row's last cell that a rowspan covered count this row as seen."""
        self.end_cell()
        if not self.rows or not self._covered:
            return
        width = len(self.rows[-1])
        trailing = [c for c in self._covered if c >= width]
        if self._spend(len(trailing)) == len(trailing):  # each costs what filling it would
            for column in trailing:
                self._step(column)

    def render(self) -> str:
        self.end_row()
        title = " ".join("".join(self.loose).split())
        lines = [title] if title else []
        if self.layout:
            for row in self.rows:
                lines.extend(line for cell in row for line in _cell_lines(cell))
            return "\n".join(lines)
        rows = ["\t".join(" ".join("".join(p for p in cell if isinstance(p, str)).split()) for cell in row)
                for row in self.rows if row]  # a row without cells holds nothing
        if any("\t" in row for row in rows):  # a one-cell row of a wider table stays a row of it
            rows = [row if "\t" in row else row + "\t" for row in rows]
        return "\n".join(lines + rows)

    def _fill(self, skipped: int) -> None:
        """Empty cells for `skipped` columns, then for the columns a rowspan above covers."""
        row = self.rows[-1]
        row.extend([] for _ in range(self._spend(skipped)))
        while self._covered.get(len(row), 0) > 0 and self._spend(1):
            self._step(len(row))
            row.append([])

    def _step(self, column: int) -> None:
        left = self._covered.pop(column, 1) - 1
        if left > 0:
            self._covered[column] = left

    def _spend(self, cells: int) -> int:
        """How many of `cells` empty cells may still be filled in; rowspans are dropped once none may."""
        granted = max(0, min(cells, self._allowance))
        self._allowance -= granted
        if self._allowance <= 0:
            self._covered.clear()
        return granted


def _cell_lines(cell: list[Piece]) -> list[str]:
    """A layout cell: its text lines as they are, its inner tables as their own lines."""
    lines: list[str] = []
    text: list[str] = []
    for piece in [*cell, ("",)]:
        if isinstance(piece, str):
            text.append(piece)
            continue
        lines.extend(line.strip() for line in "".join(text).split("\n") if line.strip())
        text = []
        if piece[0]:
            lines.append(piece[0])
    return lines


class TableStack:
    """The tables open at one point of a document, innermost last; text goes to the innermost
    table's current cell, or nowhere (``text`` returns False) outside tables."""

    def __init__(self) -> None:
        self.grids: list[Grid] = []
        self._flattened = 0  # tables opened past MAX_NESTING, read as text of their cell

    def open(self) -> None:
        if len(self.grids) >= MAX_NESTING:
            self._flattened += 1
        else:
            self.grids.append(Grid())

    def close(self) -> str | None:
        """The text of the outermost table when it closes; None otherwise."""
        if self._flattened:
            self._flattened -= 1
            self.text("\n")
            return None
        if not self.grids:
            return None
        rendered = self.grids.pop().render()
        if self.grids:
            self.grids[-1].table(rendered)
            return None
        return rendered

    def row(self, skipped: int = 0) -> None:
        if self.grids and not self._flattened:
            self.grids[-1].start_row(skipped)
        else:
            self.text("\n")

    def cell(self, colspan: int = 1, rowspan: int = 1) -> None:
        if self.grids and not self._flattened:
            self.grids[-1].start_cell(colspan, rowspan)
        else:
            self.text(" ")

    def end_cell(self) -> None:
        if self.grids and not self._flattened:
            self.grids[-1].end_cell()

    def end_row(self) -> None:
        if self.grids and not self._flattened:
            self.grids[-1].end_row()

    @property
    def active(self) -> bool:
        return bool(self.grids)

    def text(self, text: str) -> bool:
        if not self.grids:
            return False
        self.grids[-1].text(text)
        return True

    def flush(self) -> str:
        """Text of tables left open at the end of the document (truncated markup)."""
        self._flattened = 0
        out = ""
        while self.grids:
            out = self.close() or out
        return out
