"""Column headers of delimited tables, so that a cell is judged by the name of its column.

Short numbers with one check digit (routing numbers, NHS numbers, SINs) leak mostly as table
exports: CSV, TSV and spreadsheets, which extraction turns into one line per row with the cells
separated by tabs. There the word that names a value sits in the header row, often thousands of
rows above, far outside any proximity window. `TableIndex.header` finds, for a hit that forms a
whole cell, the header cell of its column.

What counts as a table: a run of consecutive lines that each contain its delimiter (tab, comma,
semicolon or pipe); a blank line or a line without the delimiter ends the run, and its first line
is the header. A table therefore has at least two columns, and a second table later in the text
(after a title line or a blank line) has its own header. Quoted cells (``"Smith, John"``) are
honoured; a quoted cell that spans lines is not.

Cost: nothing happens until a hit forms a whole cell (a few byte tests on each side). After that
every byte is looked at a bounded number of times: line starts and column counts move forward with
the hits (which arrive in text order), the search for a run's first line goes backwards in growing
windows and stops where the previous hit's run is known, and a header row is parsed once per table.
A cell more than `MAX_ROW_BYTES` into its row or past column `MAX_COLUMNS` gets no header, which
bounds the work on hostile input (a row of a million columns).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

import re2

#: Columns of a header that are read; cells further right get no header.
MAX_COLUMNS = 1024
#: Bytes of a row (and of a header row) that are read; cells further right get no header.
MAX_ROW_BYTES = 64 * 1024
#: A header cell longer than this is a sentence, not the name of a column.
MAX_LABEL_CHARS = 80
#: Lines above a hit read one at a time before the search for its run's start goes by windows.
_LINES_READ = 16
#: Spaces skipped between a cell's value and its delimiter or quote.
_MAX_PADDING = 8
_DELIMITERS = frozenset(b"\t,;|")
_LINE_ENDS = frozenset(b"\r\n")
_SPACE, _QUOTE, _NEWLINE = 0x20, 0x22, 0x0A
#: Lines without the delimiter (blank ones included): they end a run.
_BREAKS = {d: re2.compile(b"(?m)^[^" + re2.escape(bytes([d])) + b"\n]*$") for d in _DELIMITERS}
_ANY_DELIMITER = re2.compile(b"[\t,;|]")
#: Quoted stretches of a row, removed before its delimiters are counted (``""`` inside quotes too).
#: Python's `re`: its `sub` runs in C (re2's is Python per match); the pattern cannot backtrack.
_QUOTED = re.compile(b'"[^"\n]*"')
#: A blank line (spaces, tabs and carriage returns allowed): the end of a block of lines.
_BLANK_LINE = re.compile(b"\n[ \t\r]*\n")
#: What may stand before a value on its line in a one-column list: spaces, a bullet ("-", "*",
#: "+", "\u2022") or an item number ("1.", "12)"), spaces, an opening quote.
_LIST_MARKER = re.compile(b'[ \t]*(?:(?:[-*+]|\xe2\x80\xa2|[0-9]{1,4}[.)])[ \t]+)?"?')
_MAX_MARKER = 24
#: Pseudo-delimiter of the values listed inline in a paragraph ("021000021, 011000015 and ...").
INLINE = 0
#: Separators between the values of an inline list: ASCII, and the Chinese enumeration comma,
#: full-width comma and semicolon (as bytes of their UTF-8 forms), and the words "and" and "or".
_SEPARATORS = frozenset(b",;|\t")
_WIDE_SEPARATORS = (b"\xe3\x80\x81", b"\xef\xbc\x8c", b"\xef\xbc\x9b")
_WORDS_BEFORE = (b" and", b" or", b"\xe5\x92\x8c", b"\xe5\x8f\x8a", b"\xe6\x88\x96")  # 和 及 或
_WORDS_AFTER = (b"and ", b"or ", b"\xe5\x92\x8c", b"\xe5\x8f\x8a", b"\xe6\x88\x96")


@dataclass(slots=True)
class _Run:
    """A run of delimited lines: where it starts (its header line) and its latest known line."""

    start: int
    last_line: int
    header: tuple[str, ...] | None = None
    #: Whether the header row holds a word of a detector's context regex (by the regex's id).
    named: dict[int, bool] = field(default_factory=dict)


class TableIndex:
    """Header cells of the tables in one text's UTF-8 bytes, found lazily as hits arrive in order."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._searched = 0  # every newline before this offset has been seen...
        self._line = 0  # ...and this is the start of the line that holds offset `_searched`
        self._row = (-1, -1, 0, 0)  # (delimiter, line start, cell start counted up to, column there)
        self._runs: dict[int, _Run] = {}
        self._block = (0, 0)  # (offset searched up to, start of the block of lines holding it)
        self._parsed: dict[tuple[int, int], tuple[str, ...]] = {}  # header rows read by `header_of`

    def header(self, start: int, end: int, words: re2._Regexp | None = None) -> str | None:
        """The lower-cased header cell of the column whose cell is ``data[start:end]`` (give or
        take spaces and quotes around it); ``""`` for a table cell whose column has no header
        cell; ``None`` when the hit is no cell of a table with a header row above it, or when
        `words` is given and the header row holds none of them (then nothing is parsed)."""
        place = self._place(start, end)
        if place is None:
            return None
        delimiter, run, line, cell_start = place
        if words is not None and not self._names(run, words):
            return None
        column = self._column(delimiter, line, cell_start)
        if column is None:
            return None
        if run.header is None:
            run.header = self._parse_header(delimiter, run.start)
        return run.header[column] if column < len(run.header) else ""

    def column_of(self, start: int, end: int) -> tuple[int, int, int] | None:
        """(delimiter, start of the table's header line, column number) of the cell
        ``data[start:end]``, or None when it is no whole cell below a table's first line."""
        place = self._place(start, end)
        if place is None:
            return None
        delimiter, run, line, cell_start = place
        column = self._column(delimiter, line, cell_start)
        return None if column is None else (delimiter, run.start, column)

    def _place(self, start: int, end: int) -> tuple[int, _Run, int, int] | None:
        """(delimiter, run, line start, cell start) when ``data[start:end]`` is a whole cell of a
        table below its first line (the run's first line is its header: nothing above names it)."""
        cell = self._cell(start, end)
        if cell is None:
            return None
        delimiter, cell_start = cell
        line = self._line_start(start)
        if line == 0 or cell_start - line > MAX_ROW_BYTES:
            return None
        run = self._run(delimiter, line)
        return None if run.start == line else (delimiter, run, line, cell_start)

    def header_of(self, delimiter: int, start: int, column: int) -> str | None:
        """The lower-cased header cell of `column` in the table whose header line starts at byte
        `start` (a key from `column_of`); None for a one-column list (`list_of`)."""
        if delimiter not in _DELIMITERS:
            return None
        header = self._parsed.get((delimiter, start))
        if header is None:
            header = self._parsed[delimiter, start] = self._parse_header(delimiter, start)
        return header[column] if column < len(header) else ""

    def list_of(self, start: int, end: int) -> tuple[int, int, int] | None:
        """(newline, start of its block of lines, 0) when ``data[start:end]`` is a whole line (spaces
        and quotes around it, and a bullet or item number before it, allowed): a value of a
        one-column list, as a column copied from a spreadsheet reaches the clipboard, or a list in
        a message. A blank line ends a block. Hits arrive in text order, so the search for the
        block's start moves forward."""
        data = self.data
        right = _skip_forward(data, end)
        if right < len(data) and data[right] not in _LINE_ENDS:
            return None
        line = data.rfind(b"\n", max(0, start - _MAX_MARKER), start) + 1
        if (line == 0 and start > _MAX_MARKER) or not _LIST_MARKER.fullmatch(data, line, start):
            return None
        return _NEWLINE, self._block_of(start), 0

    def inline_of(self, start: int, end: int) -> tuple[int, int, int] | None:
        """(`INLINE`, start of its paragraph, 0) when ``data[start:end]`` is one of the values that
        a sentence lists ("please update 021000021, 011000015 and 026009593 today"): a separator
        on one side at least (comma, semicolon, pipe, tab, their Chinese forms, "and", "or").
        Every such value of one paragraph (lines up to a blank one) is a sample of one kind."""
        data = self.data
        if not (_separator_after(data, _spaces_forward(data, end))
                or _separator_before(data, _spaces_back(data, start - 1))):
            return None
        return INLINE, self._block_of(start), 0

    def _block_of(self, start: int) -> int:
        """Start of the block of lines (ended by blank lines) that holds byte `start`."""
        searched, block = self._block if start >= self._block[0] else (0, 0)
        for blank in _BLANK_LINE.finditer(self.data, searched, start):
            block = blank.end()
        self._block = (start, block)
        return block

    def _names(self, run: _Run, words: re2._Regexp) -> bool:
        named = run.named.get(id(words))
        if named is None:
            end = self.data.find(b"\n", run.start, run.start + MAX_ROW_BYTES)
            named = run.named[id(words)] = words.search(self.data, run.start, end if end >= 0 else
                                                        run.start + MAX_ROW_BYTES) is not None
        return named

    def _cell(self, start: int, end: int) -> tuple[int, int] | None:
        """(delimiter, cell start) when ``data[start:end]`` is a whole cell of a delimited row."""
        data = self.data
        left = _skip_back(data, start - 1)
        right = _skip_forward(data, end)
        before = data[left] if left >= 0 else _NEWLINE
        after = data[right] if right < len(data) else _NEWLINE
        if before in _DELIMITERS and (after == before or after in _LINE_ENDS):
            return before, left + 1
        if before == _NEWLINE and after in _DELIMITERS:
            return after, left + 1
        return None

    def _line_start(self, pos: int) -> int:
        if pos >= self._searched:
            newline = self.data.rfind(b"\n", self._searched, pos)
            if newline >= 0:
                self._line = newline + 1
            self._searched = pos
            return self._line
        if pos >= self._line:
            return self._line
        return self.data.rfind(b"\n", 0, pos) + 1  # out of order: not cached

    def delimited_line(self, pos: int) -> int | None:
        """Start of the line holding byte `pos` if that line has a delimiter (it may head a
        table); None otherwise or when it is longer than `MAX_ROW_BYTES` around `pos`."""
        newline = self.data.rfind(b"\n", max(0, pos - MAX_ROW_BYTES), pos)
        start = newline + 1 if newline >= 0 else 0
        if newline < 0 and pos > MAX_ROW_BYTES:
            return None
        end = self.data.find(b"\n", pos, pos + MAX_ROW_BYTES)
        end = pos + MAX_ROW_BYTES if end < 0 else end
        return start if _ANY_DELIMITER.search(self.data, start, end) is not None else None

    def headers_over(self, pos: int) -> list[tuple[int, int]]:
        """(start, end) of the header rows of the tables that the line holding byte `pos` belongs
        to, one per delimiter in it: a chunk of text that starts there may hold cells named by a
        header far above it. Call with `pos` not before any earlier call's or hit's offset."""
        line = self._line_start(pos)
        end = self.data.find(b"\n", pos, pos + MAX_ROW_BYTES)
        end = pos + MAX_ROW_BYTES if end < 0 else end
        low = max(line, pos - MAX_ROW_BYTES)
        headers = []
        for delimiter in _DELIMITERS:
            if self.data.find(bytes([delimiter]), low, end) >= 0:
                start = self._run(delimiter, line).start
                header_end = self.data.find(b"\n", start, start + MAX_ROW_BYTES)
                headers.append((start, start + MAX_ROW_BYTES if header_end < 0 else header_end))
        return headers

    def _run(self, delimiter: int, line: int) -> _Run:
        """The run that holds the line starting at `line`."""
        run = self._runs.get(delimiter)
        if run is None or line < run.last_line:
            run = None
        if run is None or line > run.last_line:
            floor = 0 if run is None else run.last_line
            start = self._run_start(delimiter, line, floor)
            if start is None:
                start = floor if run is None else run.start
            if run is None or start != run.start:
                run = _Run(start, line)
                self._runs[delimiter] = run
            run.last_line = line
        return run

    def _run_start(self, delimiter: int, line: int, floor: int) -> int | None:
        """Start of the line after the nearest line above `line` that ends a run, looking no
        higher than `floor` (a line start); None when there is none down to `floor`. The first
        lines above are read one by one (a hit outside any table stops there); a long run is then
        searched backwards in windows that grow fourfold."""
        data, separator = self.data, bytes([delimiter])
        end = line - 1  # the newline that ends the line above
        for _ in range(_LINES_READ):
            if end < floor:
                return None
            newline = data.rfind(b"\n", floor, end)
            above = newline + 1 if newline >= 0 else floor
            if data.find(separator, above, end) < 0:
                return end + 1
            if above == floor:
                return None
            end = above - 1
        return self._search_back(delimiter, end, floor)

    def _search_back(self, delimiter: int, end: int, floor: int) -> int | None:
        pattern, data, size = _BREAKS[delimiter], self.data, 4096
        while end >= floor:
            lo = floor
            if end - size > floor:
                newline = data.rfind(b"\n", floor, end - size)
                lo = newline + 1 if newline >= 0 else floor
            last = None
            for last in pattern.finditer(data, lo, end):  # noqa: B007 (only the last one matters)
                pass
            if last is not None:
                return int(last.end()) + 1
            if lo == floor:
                return None
            end, size = lo - 1, size * 4
        return None

    def _column(self, delimiter: int, line: int, cell_start: int) -> int | None:
        """Column of the cell starting at `cell_start`, counted on from the row's previous hit."""
        row_delimiter, row_line, counted_to, column = self._row
        if (row_delimiter, row_line) != (delimiter, line) or cell_start < counted_to:
            counted_to, column = line, 0
        if column >= MAX_COLUMNS:
            return None
        segment = self.data[counted_to:cell_start]
        if b'"' in segment:
            if segment.count(b'"') % 2:
                return None  # the hit sits inside a quoted cell
            segment = _QUOTED.sub(b"", segment)
        column += segment.count(bytes([delimiter]))
        self._row = (delimiter, line, cell_start, column)
        return column if column < MAX_COLUMNS else None

    def _parse_header(self, delimiter: int, start: int) -> tuple[str, ...]:
        end = self.data.find(b"\n", start, start + MAX_ROW_BYTES)
        raw = self.data[start : end if end >= 0 else start + MAX_ROW_BYTES]
        pieces = raw.split(bytes([delimiter]), MAX_COLUMNS)
        raw = bytes([delimiter]).join(pieces[:MAX_COLUMNS])
        text = raw.decode("utf-8", "replace").rstrip("\r")
        try:
            cells = next(csv.reader([text], delimiter=chr(delimiter)), [])
        except csv.Error:
            cells = text.split(chr(delimiter))
        return tuple(_label(cell) for cell in cells[:MAX_COLUMNS])


def _label(cell: str) -> str:
    label = cell.strip().strip('"\ufeff').strip().lower()
    return label if len(label) <= MAX_LABEL_CHARS else ""


def _separator_before(data: bytes, index: int) -> bool:
    """Whether a list separator ends at `data[index]`."""
    if index < 0:
        return False
    byte = data[index]
    if byte in _SEPARATORS:
        return True
    if byte < 0x80 and byte != 0x64 and byte != 0x72:  # not the last byte of a wide form, "and" or "or"
        return False
    tail = data[max(0, index - 3):index + 1]
    return tail.endswith(_WIDE_SEPARATORS) or tail.endswith(_WORDS_BEFORE)


def _separator_after(data: bytes, index: int) -> bool:
    """Whether a list separator starts at `data[index]`."""
    if index >= len(data):
        return False
    byte = data[index]
    if byte in _SEPARATORS:
        return True
    if byte < 0x80 and byte != 0x61 and byte != 0x6F:  # not a wide form, "and" or "or"
        return False
    head = data[index:index + 4]
    return head.startswith(_WIDE_SEPARATORS) or head.startswith(_WORDS_AFTER)


def _skip_back(data: bytes, index: int) -> int:
    """Index of the byte before a cell's value: spaces and an opening quote skipped."""
    index = _spaces_back(data, index)
    return _spaces_back(data, index - 1) if index >= 0 and data[index] == _QUOTE else index


def _skip_forward(data: bytes, index: int) -> int:
    index = _spaces_forward(data, index)
    return _spaces_forward(data, index + 1) if index < len(data) and data[index] == _QUOTE else index


def _spaces_back(data: bytes, index: int) -> int:
    stop = index - _MAX_PADDING
    while index >= 0 and index > stop and data[index] == _SPACE:
        index -= 1
    return index


def _spaces_forward(data: bytes, index: int) -> int:
    stop = index + _MAX_PADDING
    while index < len(data) and index < stop and data[index] == _SPACE:
        index += 1
    return index
