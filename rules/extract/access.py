"""Microsoft Access databases: `.mdb` (Jet 3, Access 97; Jet 4, Access 2000-2003) and `.accdb`
(ACE, Access 2007 and later). A customer list kept in Access is a table like any other; it was an
`unscannable` binary. Each table is now read as the SQLite reader reads one: its name, a blank
line, a header row of its column names, a row a line, cells by tabs, so a column's name names
the values below it for the detectors.

The format is that of mdbtools' HACKING document: 4 KiB pages; page 0 defines the database,
its header masked with RC4 under a fixed key; a table is a TDEF page (chained over more pages
when it has many columns) listing its columns, and its rows are on data pages that point back
to it; a memo or OLE value longer than a few bytes is on LVAL pages, on one or chained.

What is read, and how:
- **Which tables**: the catalog (the MSysObjects table, always on page 2) names each table and
  its TDEF page; system tables (MSys*, and those the catalog flags) are left out. A TDEF page
  the catalog does not name (a table that was dropped, its pages not yet reused) is read too,
  under the name "table on page N": its rows are still in the file.
- **Which rows**: every data page pointing to the table's TDEF, in file order, found by one
  pass over the pages, not through the table's page-usage map: a page the map no longer lists
  still holds what it held. Rows Access marked deleted (their bytes stay until the database is
  compacted) are read too, after the live rows, under "TABLE (deleted rows)". A row moved to
  another page when it grew (an overflow pointer) is read where it now is, once.
- **Values**: text in UCS-2 or Jet 4's compressed form; memos inline, on one LVAL page or
  chained; numbers, currency, dates (ISO), GUIDs, decimals, yes/no. A number stored as a double
  with no fraction is written without one (a card number kept in a Number column). An OLE
  object or a binary value that holds a file this package reads (a PDF, an Office document, a
  zip: found at the start of the value or behind an OLE wrapper) is handed on as a member named
  `TABLE/ROW/COLUMN`; printable UTF-8 is a cell; other bytes are left out.
- **Encoded databases** (Jet 4's "Encode database", RC4 per page under a key stored in the
  header) are decoded: the key is in the file. A Jet 4 database password is only a check in the
  header; the data is not encrypted and is read. An `.accdb` with a password is encrypted with
  Office encryption under a key derived from the password (its header then holds a key, as
  jackcess-encrypt and mdb-reader read it): `encrypted`.
- **Attachments** (an `.accdb`'s attachment columns, Access 2007 on): each file is a row of a
  hidden table (f_<GUID>_<column>) that MSysComplexColumns ties to its column; it is read as a
  table named "TABLE.COLUMN (attachments)" (file names, types), and each file, stored or deflated
  (inflated no further than the budget allows), is handed on as `TABLE.COLUMN (attachments)/ROW/NAME`.
- **Access 97** (Jet 3, since 2026-12-08): 2 KiB pages, one-byte row offsets with their jump
  table past 256 bytes, text in the code page of the Windows that wrote it (Western European
  read, as mdbtools assumes).
- Not read: indexes (their keys are copies of row values); queries, forms and macros.

Everything is checked against the file before it is used: a page number past the end, a row
extent outside its page, a TDEF chain or LVAL chain that loops. A damaged table or page is
named in the problems, with what was read before kept. The reader only slices the data, so it
reads a memory map of a large database without copying it.
"""

from __future__ import annotations

import math
import struct
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
from cryptography.hazmat.primitives.ciphers import Cipher

from rules.extract.budget import Budget, EncryptedContent, Unscannable

PAGE = 4096
_MAGICS = (b"\x00\x01\x00\x00Standard Jet DB\x00", b"\x00\x01\x00\x00Standard ACE DB\x00")
_HEADER_KEY = bytes.fromhex("c7da396b")  # masks page 0 from 0x18 (mdbtools' HACKING)
_HEADER_MASKED = 128
_DB_KEY = 0x3E
_VERSIONS = {0: "Jet 3 (Access 97)", 1: "Jet 4", 2: "ACE 12 (Access 2007)", 3: "ACE 14 (Access 2010)", 4: "ACE 15 (Access 2013)",
             5: "ACE 16 (Access 2016)", 6: "ACE 17"}
_DATA, _TDEF = 1, 2
_LVAL = b"LVAL"
_OFFSET_MASK, _DELETED, _OVERFLOW = 0x1FFF, 0x8000, 0x4000
_ROWS_AT = 12  # Jet 4 data page: count of rows, then their offsets
_CATALOG_PAGE = 2
_SYSTEM_FLAGS = 0x80000002
_TABLE_TYPE = 1
_MAX_TDEF_PAGES = 64
_MAX_MEMO = 16 << 20
_MAX_MEMBERS = 256
_MAX_DELETED_ROWS = 100_000
_ATTACHMENTS = " (attachments)"
_MAX_MOVES = 4

# Column types (HACKING, "Column Types")
_BOOL, _BYTE, _INT, _LONG, _MONEY, _FLOAT, _DOUBLE, _DATETIME = 1, 2, 3, 4, 5, 6, 7, 8
_BINARY, _TEXT, _OLE, _MEMO, _GUID, _NUMERIC, _COMPLEX, _BIGINT = 9, 10, 11, 12, 15, 16, 18, 19
_FIXED_SIZES = {_BYTE: 1, _INT: 2, _LONG: 4, _MONEY: 8, _FLOAT: 4, _DOUBLE: 8, _DATETIME: 8, _GUID: 16,
                _NUMERIC: 17, _COMPLEX: 4, _BIGINT: 8}
_EPOCH = datetime(1899, 12, 30)
#: Files found inside an OLE object's wrapper: the magic numbers of what `extract` reads.
_FILE_MAGICS = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"PK\x03\x04", b"%PDF-", b"{\\rtf1")


def is_access(data: bytes) -> bool:
    return bytes(data[:20]) in _MAGICS


@dataclass
class _Column:
    name: str
    kind: int
    number: int
    var_index: int
    fixed_offset: int
    length: int
    fixed: bool
    precision: int
    scale: int


@dataclass
class _Table:
    page: int
    columns: list[_Column]
    variable: int
    name: str = ""
    pages: list[int] = field(default_factory=list)
    attachments: bool = False  # a hidden table of an attachment column's files


@dataclass(frozen=True)
class _Format:
    """What differs between Jet 3 (Access 97) and Jet 4 on: page size, the masked header, where
    a data page's rows are listed, and the layout of a table definition (where its counts of
    columns and indexes are, where its columns start, the sizes of an index and a column entry,
    where in an entry the column's number, precision and flags are, the size of a name's length
    and the names' encoding; an entry ends with its fixed offset and length)."""

    jet3: bool
    page: int
    masked: int
    rows_at: int
    counts_at: int
    columns_at: int
    index_size: int
    column_size: int
    number_at: int
    precision_at: int
    flags_at: int
    name_size: int
    names: str


_JET3_CODE_PAGE = "cp1252"  # Jet 3 text is in the writer's Windows code page; mdbtools assumes this one too
_JET3 = _Format(True, 2048, 126, 8, 23, 43, 8, 18, 1, 9, 13, 1, _JET3_CODE_PAGE)
_JET4 = _Format(False, PAGE, _HEADER_MASKED, 12, 43, 63, 12, 25, 5, 11, 15, 2, "utf-16-le")


class _Pages:
    """The database's pages, decoded where the database is encoded."""

    def __init__(self, data: bytes, budget: Budget, what: str, fmt: _Format) -> None:
        self.data, self.budget, self.what, self.fmt = data, budget, what, fmt
        self.count = len(data) // fmt.page
        header = bytearray(data[:fmt.page])
        header[0x18:0x18 + fmt.masked] = _rc4(_HEADER_KEY, bytes(header[0x18:0x18 + fmt.masked]))
        self.key = struct.unpack_from("<I", header, _DB_KEY)[0]

    def __getitem__(self, number: int) -> bytes:
        if not 0 < number < self.count:
            raise _Damaged(f"page {number} is outside the file")
        size = self.fmt.page
        page = bytes(self.data[number * size:(number + 1) * size])
        if self.key:
            page = _rc4(struct.pack("<I", self.key ^ number), page)
        return page

    def kind(self, number: int) -> tuple[int, bytes]:
        """The page's type byte and the four bytes that name its owner (a data page's TDEF)."""
        head = self[number][:8]
        return head[0] if head[1] == 1 else -1, head[4:8]


class _Damaged(Exception):
    pass


def _rc4(key: bytes, data: bytes) -> bytes:
    # RC4's key schedule repeats a short key: four bytes twice schedule as those four do, and the
    # library takes keys from five bytes on
    decryptor = Cipher(ARC4(key * 2), mode=None).decryptor()
    return decryptor.update(data)


def access_content(data: bytes, budget: Budget, what: str) -> tuple[str, list[tuple[str, bytes]], list[str]]:
    """The text of every table, the files kept in OLE and binary values, and what went wrong."""
    if not is_access(data):
        raise Unscannable(f"{what}: not an Access database")
    if len(data) <= 0x14:
        raise Unscannable(f"{what}: an Access database cut short ({len(data)} bytes)")
    version = data[0x14]
    if version not in _VERSIONS:
        raise Unscannable(f"{what}: an Access database of unknown version {version}")
    fmt = _JET3 if version == 0 else _JET4
    if len(data) < 3 * fmt.page:
        raise Unscannable(f"{what}: an Access database cut short ({len(data)} bytes)")
    pages = _Pages(data, budget, what, fmt)
    if version >= 2 and pages.key:  # an .accdb's key means Office encryption under its password
        raise EncryptedContent(f"{what}: an encrypted Access database (an .accdb with a password)")
    problems: list[str] = []
    try:
        catalog = _tdef(pages, _CATALOG_PAGE)
    except _Damaged as exc:
        raise Unscannable(f"{what}: damaged Access database ({exc})") from None
    owners, tdefs = _survey(pages, budget)
    catalog.pages = owners.get(_CATALOG_PAGE, [])
    tables, system, dropped = _catalog(pages, catalog, budget, problems)
    named = set(tables)
    continuations = _continuations(pages, tdefs)
    for page in tdefs:  # TDEF pages the catalog does not name, with rows pointing to them
        if page not in named and page not in system and page not in continuations and page in owners:
            tables[page] = f"{dropped[page]} (a dropped table, page {page})" if page in dropped else f"table on page {page}"
    attachments = _attachment_tables(pages, tables, system, owners, problems)
    texts: list[str] = []
    files: list[tuple[str, bytes]] = []
    try:
        _read_tables(pages, tables | attachments, set(attachments), owners, (texts, files, problems), budget, what)
    except Unscannable as exc:  # the time limit, the cap on files: what was read is kept
        problems.append(f"{what}: {exc}")
    return "".join(texts), files, problems


def _read_tables(pages: _Pages, tables: dict[int, str], attachments: set[int], owners: dict[int, list[int]],
                 out: tuple[list[str], list[tuple[str, bytes]], list[str]], budget: Budget, what: str) -> None:
    texts, files, problems = out
    used = 0
    for page, name in tables.items():
        try:
            table = _tdef(pages, page)
        except _Damaged as exc:
            problems.append(f"{what}: table {name}: {exc}")
            continue
        table.name, table.pages = name, owners.get(page, [])
        table.attachments = page in attachments
        for chunk in _table_text(pages, table, files, budget, problems, what):
            texts.append(chunk)
            used += len(chunk)
            if used > budget.limits.max_text_chars:
                raise Unscannable(f"database text beyond {budget.limits.max_text_chars} characters")


def _survey(pages: _Pages, budget: Budget) -> tuple[dict[int, list[int]], list[int]]:
    """Data pages by the TDEF they point to, and every TDEF page, in one pass over the file."""
    owners: dict[int, list[int]] = {}
    tdefs: list[int] = []
    for number in range(1, pages.count):
        if number % 256 == 0:
            budget.check_time()
        kind, owner = pages.kind(number)
        if kind == _TDEF:
            tdefs.append(number)
        elif kind == _DATA and owner != _LVAL:
            owners.setdefault(struct.unpack("<I", owner)[0], []).append(number)
    return owners, tdefs


def _continuations(pages: _Pages, tdefs: list[int]) -> set[int]:
    """TDEF pages that continue another table's definition."""
    following = set()
    for number in tdefs:
        after = struct.unpack_from("<I", pages[number], 4)[0]
        if after:
            following.add(after)
    return following


def _tdef(pages: _Pages, number: int) -> _Table:
    """The table defined at page `number`: its columns, in their order."""
    chunks: list[bytes] = []
    seen: set[int] = set()
    at = number
    while at:
        if at in seen or len(seen) == _MAX_TDEF_PAGES:
            raise _Damaged(f"the definition on page {number} loops or runs past {_MAX_TDEF_PAGES} pages")
        seen.add(at)
        page = pages[at]
        if page[0] != _TDEF or page[1] != 1:
            raise _Damaged(f"page {at} is not a table definition")
        chunks.append(page if at == number else page[8:])
        at = struct.unpack_from("<I", page, 4)[0]
    tdef = b"".join(chunks)
    fmt = pages.fmt
    try:
        variable, count = struct.unpack_from("<HH", tdef, fmt.counts_at)
        real_indexes = struct.unpack_from("<I", tdef, fmt.counts_at + 8)[0]
        at = fmt.columns_at + fmt.index_size * real_indexes
        if count == 0 or at + fmt.column_size * count > len(tdef):
            raise _Damaged(f"the definition on page {number} claims {count} columns it does not hold")
        columns = []
        names_at = at + fmt.column_size * count
        for index in range(count):
            base = at + fmt.column_size * index
            number_, var_index = struct.unpack_from("<HH", tdef, base + fmt.number_at)
            fixed_offset, length = struct.unpack_from("<HH", tdef, base + fmt.column_size - 4)
            size = int.from_bytes(tdef[names_at:names_at + fmt.name_size], "little")
            names_at += fmt.name_size
            if names_at + size > len(tdef):
                raise _Damaged(f"column names on page {number} run past the definition")
            name = tdef[names_at:names_at + size].decode(fmt.names, "replace")
            names_at += size
            columns.append(_Column(name, tdef[base], number_, var_index, fixed_offset, length,
                                   bool(tdef[base + fmt.flags_at] & 1), tdef[base + fmt.precision_at],
                                   tdef[base + fmt.precision_at + 1]))
    except (struct.error, IndexError):
        raise _Damaged(f"the definition on page {number} is cut short") from None
    columns.sort(key=lambda c: c.number)
    return _Table(number, columns, variable)


def _catalog(pages: _Pages, catalog: _Table, budget: Budget,
             problems: list[str]) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """User tables, system tables, and dropped tables (their rows deleted from the catalog), each
    by the TDEF page they have or had, from MSysObjects' rows."""
    wanted = {"Id", "Name", "Type", "Flags"}
    if not wanted <= {c.name for c in catalog.columns}:
        raise Unscannable(f"{pages.what}: damaged Access database (its catalog lacks {sorted(wanted)})")
    tables: dict[int, str] = {}
    system: dict[int, str] = {_CATALOG_PAGE: "MSysObjects"}
    dropped: dict[int, str] = {}
    for deleted, values in _rows(pages, catalog, budget, problems, pages.what):
        record = dict(zip((c.name for c in catalog.columns), values, strict=True))
        ident, name, kind, flags = record["Id"], record["Name"], record["Type"], record["Flags"]
        if not isinstance(ident, int) or not isinstance(name, str) or kind != _TABLE_TYPE:
            continue
        page = ident & 0xFFFFFF
        if name.lower().startswith("msys") or (isinstance(flags, int) and flags & _SYSTEM_FLAGS):
            if not deleted:
                system[page] = name
        elif deleted:
            dropped[page] = name
        else:
            tables[page] = name
    return tables, system, dropped


def _attachment_tables(pages: _Pages, tables: dict[int, str], system: dict[int, str],
                       owners: dict[int, list[int]], problems: list[str]) -> dict[int, str]:
    """The hidden tables that hold attachment columns' files (Access 2007 on), by TDEF page, each
    named after the column it serves ("Customers.Contracts (attachments)") where MSysComplexColumns
    ties them, else by its own name (f_<GUID>_<column>)."""
    out: dict[int, str] = {}
    complex_page = next((page for page, name in system.items() if name.lower() == "msyscomplexcolumns"), None)
    if complex_page is not None:
        try:
            complex_table = _tdef(pages, complex_page)
        except _Damaged as exc:
            problems.append(f"{pages.what}: MSysComplexColumns: {exc}")
        else:
            complex_table.pages = owners.get(complex_page, [])
            names = [c.name for c in complex_table.columns]
            for deleted, values in _rows(pages, complex_table, pages.budget, problems, pages.what):
                record = dict(zip(names, values, strict=True))
                flat, parent, column = record.get("FlatTableID"), record.get("ConceptualTableID"), record.get("ColumnName")
                if deleted or not isinstance(flat, int) or not isinstance(parent, int) or not isinstance(column, str):
                    continue
                owner = tables.get(parent & 0xFFFFFF, f"table on page {parent & 0xFFFFFF}")
                out[flat & 0xFFFFFF] = f"{owner}.{column}{_ATTACHMENTS}"
    for page, name in system.items():
        if name.lower().startswith("f_") and page not in out:
            out[page] = name
    return out


def _table_text(pages: _Pages, table: _Table, files: list[tuple[str, bytes]], budget: Budget,
                problems: list[str], what: str) -> Iterator[str]:
    header = "\t".join(_cell(c.name) for c in table.columns) + "\n"
    yield f"{table.name}\n\n{header}"
    heading = True
    for index, (deleted, values) in enumerate(_rows(pages, table, budget, problems, what)):
        if deleted and heading:
            yield f"\n{table.name} (deleted rows)\n\n{header}"
            heading = False
        cells = []
        for column, value in zip(table.columns, values, strict=True):
            if isinstance(value, bytes) and table.attachments and column.name == "FileData":
                _attached(value, (table, values), f"{table.name}/{index + 1}", files, problems, budget)
                value = None
            elif isinstance(value, bytes):
                value = _blob(value, f"{table.name}/{index + 1}/{column.name}", files)
            cells.append("" if value is None else _cell(str(value)))
        yield "\t".join(cells) + "\n"
    yield "\n"


def _rows(pages: _Pages, table: _Table, budget: Budget, problems: list[str],
          what: str) -> Iterator[tuple[bool, list[object]]]:
    """Each row on the table's data pages as values in column order: the live rows (a moved row
    where it now is), then the rows marked deleted. Access marks a moved row's new copy deleted
    too, so that a scan passes it by: those are left out of the deleted ones."""
    name = table.name or f"on page {table.page}"
    moved: set[int] = set()
    deleted: list[tuple[int, list[object]]] = []
    for count, number in enumerate(table.pages):
        if count % 64 == 0:
            budget.check_time()
        page = pages[number]
        try:
            extents = list(_extents(page, pages.fmt))
        except _Damaged as exc:
            problems.append(f"{what}: table {name}: page {number}: {exc}")
            continue
        for index, start, end, flags in extents:
            try:
                if flags & _DELETED:
                    if len(deleted) < _MAX_DELETED_ROWS:
                        deleted.append(((number << 8) | index, _row(pages, table, page[start:end])))
                elif flags & _OVERFLOW:  # a pointer to the row's new place, read there
                    target = _moved_row(pages, page[start:end], moved)
                    yield False, _row(pages, table, target)
                else:
                    yield False, _row(pages, table, page[start:end])
            except _Damaged as exc:
                if not flags & _DELETED:  # a deleted row's bytes may have been partly reused
                    problems.append(f"{what}: table {name}: page {number}: {exc}")
    for pointer, values in deleted:
        if pointer not in moved:
            yield True, values


def _moved_row(pages: _Pages, pointer_row: bytes, moved: set[int]) -> bytes:
    """The row an overflow pointer leads to (page << 8 | row), through at most a few moves."""
    for _ in range(_MAX_MOVES):
        if len(pointer_row) < 4:
            raise _Damaged("a moved row's pointer is cut short")
        pointer = struct.unpack_from("<I", pointer_row, 0)[0]
        if pointer in moved:
            raise _Damaged("two rows point to the same moved row")
        moved.add(pointer)
        page = pages[pointer >> 8]
        if page[0] != _DATA or page[4:8] == _LVAL:
            raise _Damaged(f"a moved row points to page {pointer >> 8}, not a data page")
        for index, start, end, flags in _extents(page, pages.fmt):
            if index == pointer & 0xFF:
                if flags & _OVERFLOW and not flags & _DELETED:
                    pointer_row = page[start:end]
                    break
                return page[start:end]
        else:
            raise _Damaged(f"a moved row points to row {pointer & 0xFF} of page {pointer >> 8}, which it lacks")
    raise _Damaged(f"a row moved more than {_MAX_MOVES} times")


def _extents(page: bytes, fmt: _Format) -> Iterator[tuple[int, int, int, int]]:
    """Each row's number, start, end and flags (a row runs to where the one before it starts)."""
    rows_at = fmt.rows_at
    count = struct.unpack_from("<H", page, rows_at)[0]
    first = rows_at + 2 + 2 * count
    if first > len(page):
        raise _Damaged(f"{count} rows cannot fit a page")
    end = len(page)
    for index in range(count):
        raw = struct.unpack_from("<H", page, rows_at + 2 + 2 * index)[0]
        start = raw & _OFFSET_MASK
        if not first <= start < end:
            if raw & _DELETED:  # a deleted row's slot may hold anything
                continue
            raise _Damaged(f"row {index} lies outside its page")
        yield index, start, end, raw & 0xC000
        end = start


def _row(pages: _Pages, table: _Table, row: bytes) -> list[object]:
    """A row's values (Jet 4 layout: count of columns, fixed columns, variable columns, end of
    data, offsets of the variable columns reversed, their count, the null mask)."""
    if pages.fmt.jet3:
        return _values(pages, table, row, *_layout3(table, row))
    columns_in_row, mask = _head(row, 2)
    mask_size = len(mask)
    offsets: list[int] = []
    if table.variable:
        tail = len(row) - mask_size
        if tail < 4:
            raise _Damaged("a row too short for its variable columns")
        count = struct.unpack_from("<H", row, tail - 2)[0]
        table_at = tail - 4 - 2 * count
        if table_at < 2:
            raise _Damaged("a row's table of variable columns runs past it")
        offsets = [struct.unpack_from("<H", row, tail - 4 - 2 * i)[0] for i in range(count)]
        offsets.append(struct.unpack_from("<H", row, table_at)[0])  # the end of the data
        if any(not 2 <= o <= table_at for o in offsets) or offsets != sorted(offsets):
            raise _Damaged("a row's offsets of variable columns are out of order")
    return _values(pages, table, row, columns_in_row, mask, offsets, 2)


def _head(row: bytes, width: int) -> tuple[int, bytes]:
    """A row's count of columns (`width` bytes at its start) and its null mask (at its end)."""
    if len(row) < width + 1:
        raise _Damaged("a row too short to hold its column count")
    columns_in_row = int.from_bytes(row[:width], "little")
    mask_size = (columns_in_row + 7) // 8
    if width + mask_size > len(row):
        raise _Damaged("a row's null mask runs past it")
    return columns_in_row, row[len(row) - mask_size:]


def _layout3(table: _Table, row: bytes) -> tuple[int, bytes, list[int], int]:
    """A Jet 3 row: a byte of column count; at its end the null mask, the count of variable
    columns, the jump table (the number of the first variable column at each further 256 bytes),
    then the one-byte offsets reversed, the end of the data last. A jump table of as many entries
    as the row has further 256-byte spans, the last one a dummy when the offsets end short of it
    (mdbtools' HACKING, "Jet3 Row Definition")."""
    columns_in_row, mask = _head(row, 1)
    mask_size = len(mask)
    offsets: list[int] = []
    if table.variable:
        last = len(row) - 1
        count = row[last - mask_size] if last - mask_size >= 1 else -1
        jumps = last // 256
        pointer = last - mask_size - jumps - 1  # where the first offset is
        if count < 0 or pointer - count < 1:
            raise _Damaged("a row's table of variable columns runs past it")
        if (pointer - count) // 256 < jumps:
            jumps -= 1  # a dummy entry
        used = 0
        for index in range(count + 1):
            while used < jumps and index == row[last - mask_size - used - 1]:
                used += 1
            offsets.append(row[pointer - index] + 256 * used)
        if any(not 1 <= o <= len(row) for o in offsets) or offsets != sorted(offsets):
            raise _Damaged("a row's offsets of variable columns are out of order")
    return columns_in_row, mask, offsets, 1


def _values(pages: _Pages, table: _Table, row: bytes, columns_in_row: int, mask: bytes, offsets: list[int],
            fixed_at: int) -> list[object]:
    values: list[object] = []
    for column in table.columns:
        present = column.number < columns_in_row and mask[column.number // 8] >> (column.number % 8) & 1
        if column.kind == _BOOL:
            values.append("Yes" if present else "No")
            continue
        if not present:
            values.append(None)
            continue
        if column.fixed:
            size = _FIXED_SIZES.get(column.kind, column.length)
            start = fixed_at + column.fixed_offset
            raw = row[start:start + size]
            if len(raw) < size:
                raise _Damaged(f"column {column.name} runs past its row")
        else:
            if column.var_index + 1 >= len(offsets):
                values.append(None)  # a column added after the row was written
                continue
            raw = row[offsets[column.var_index]:offsets[column.var_index + 1]]
        values.append(_value(pages, column, raw))
    return values


def _value(pages: _Pages, column: _Column, raw: bytes) -> object:
    kind = column.kind
    if kind == _TEXT:
        return raw.decode(_JET3_CODE_PAGE, "replace") if pages.fmt.jet3 else _text(raw)
    if kind in (_MEMO, _OLE):
        long_value = _long_value(pages, raw)
        if kind == _OLE:
            return long_value
        return long_value.decode(_JET3_CODE_PAGE, "replace") if pages.fmt.jet3 else _text(long_value)
    if kind == _BYTE:
        return raw[0]
    if kind == _COMPLEX:  # the key of the row's attachments, read with their own table
        return None
    if kind in (_INT, _LONG, _BIGINT):
        return int.from_bytes(raw, "little", signed=True)
    if kind == _MONEY:
        return _money(int.from_bytes(raw, "little", signed=True))
    if kind in (_FLOAT, _DOUBLE):
        number = struct.unpack("<f" if kind == _FLOAT else "<d", raw)[0]
        return _number(number, 7 if kind == _FLOAT else 15)
    if kind == _DATETIME:
        return _date(struct.unpack("<d", raw)[0])
    if kind == _GUID:
        return "{" + str(uuid.UUID(bytes_le=raw)).upper() + "}"
    if kind == _NUMERIC:
        return _decimal(raw, column.scale)
    return raw  # binary: a file or printable text, or left out


def _text(raw: bytes) -> str:
    """Jet 4 text: UCS-2, or its compressed form (after FF FE, one byte a character until a zero
    byte switches to two, and back; no character it holds has a zero low byte, so a zero where a
    character would start is always a switch)."""
    if not raw.startswith(b"\xff\xfe"):
        return raw.decode("utf-16-le", "replace")
    out: list[str] = []
    compressed, at = True, 2
    while at < len(raw):
        switch = raw.find(b"\x00", at)
        if not compressed:
            while switch != -1 and (switch - at) % 2:
                switch = raw.find(b"\x00", switch + 1)
        end = len(raw) if switch == -1 else switch
        out.append(raw[at:end].decode("latin-1" if compressed else "utf-16-le", "replace"))
        compressed, at = not compressed, end + 1
    return "".join(out)


def _long_value(pages: _Pages, raw: bytes) -> bytes:
    """A memo's or OLE object's bytes: inline after its 12-byte field, on one LVAL page, or on a
    chain of them (each piece led by the next piece's page and row)."""
    if len(raw) < 12:
        raise _Damaged("a long value's field is cut short")
    word, pointer = struct.unpack_from("<II", raw, 0)
    size, flags = word & 0x3FFFFFFF, word & 0xC0000000
    if flags & 0x80000000:
        return raw[12:12 + size]
    if size > _MAX_MEMO:
        raise _Damaged(f"a long value of {size} bytes, above the limit of {_MAX_MEMO}")
    # values on LVAL pages count against the budget: rows pointing to the same long chain again
    # and again would otherwise read it again and again
    pages.budget.spend(size, pages.what)
    if flags & 0x40000000:
        return _lval_row(pages, pointer)[:size]
    pieces: list[bytes] = []
    got, seen = 0, set[int]()
    while pointer and got < size:
        if pointer in seen:
            raise _Damaged("a chain of long-value pages loops")
        if len(seen) % 256 == 255:
            pages.budget.check_time()
        seen.add(pointer)
        piece = _lval_row(pages, pointer)
        if len(piece) < 4:
            raise _Damaged("a piece of a long value is cut short")
        pointer = struct.unpack_from("<I", piece, 0)[0]
        pieces.append(piece[4:])
        got += len(piece) - 4
    return b"".join(pieces)[:size]


def _lval_row(pages: _Pages, pointer: int) -> bytes:
    number, index = pointer >> 8, pointer & 0xFF
    page = pages[number]
    if page[0] != _DATA or page[4:8] != _LVAL:
        raise _Damaged(f"a long value points to page {number}, not a long-value page")
    for position, start, end, _flags in _extents(page, pages.fmt):
        if position == index:
            return page[start:end]
    raise _Damaged(f"a long value points to row {index} of page {number}, which it lacks")


def _money(units: int) -> str:
    text = f"{Decimal(f'{units}e-4'):f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    return f"{whole}.{fraction}"


def _number(number: float, digits: int) -> str:
    if not math.isfinite(number):
        return str(number)
    if number.is_integer() and abs(number) < 1e17:
        return str(int(number))  # a card or account number kept in a Number column
    return format(number, f".{digits}g")


def _date(days: float) -> str | None:
    if not math.isfinite(days) or not -657434 <= days <= 2958465:  # years 100-9999, as Access allows
        return None
    moment = _EPOCH + timedelta(days=days)
    if moment.hour == moment.minute == moment.second == 0 and days == int(days):
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _decimal(raw: bytes, scale: int) -> str:
    """A Decimal column's value: a sign byte, then 16 bytes as four little-endian 32-bit words,
    the most significant first."""
    words = struct.unpack_from("<IIII", raw, 1)
    magnitude = (words[0] << 96) | (words[1] << 64) | (words[2] << 32) | words[3]
    value = Decimal(f"{-magnitude if raw[0] & 0x80 else magnitude}e-{min(scale, 28)}")  # exact at any precision
    return f"{value:f}"


def _attached(value: bytes, row: tuple[_Table, list[object]], where: str, files: list[tuple[str, bytes]],
              problems: list[str], budget: Budget) -> None:
    """An attachment's file, handed on under its file name: FileData is a type (0 stored, 1
    deflated with zlib's header), the content's length, then the content: the length of a header
    (a 1, the extension in UCS-2), the header, the file (as Jackcess and mdb-reader read it)."""
    table, values = row
    named = dict(zip((c.name for c in table.columns), values, strict=True)).get("FileName")
    name = named if isinstance(named, str) and named else "attachment"
    try:
        if len(value) < 8:
            raise _Damaged("too short")
        kind, size = struct.unpack_from("<II", value, 0)
        if kind == 1:  # inflated no further than the budget allows: a small row may claim gigabytes
            cap = min(size, budget.allowance())
            content = zlib.decompressobj().decompress(value[8:], cap + 1)
            if len(content) > cap:
                raise _Damaged(f"inflates beyond the {cap} bytes the budget has left (decompression bomb?)")
        elif kind == 0:
            content = value[8:]
        else:
            raise _Damaged(f"stored in an unknown way ({kind})")
        if len(content) < 4:
            raise _Damaged("cut short")
        header = struct.unpack_from("<I", content, 0)[0]
        end = min(size, len(content))
        if not 4 <= header <= end:
            raise _Damaged("its header runs past it")
    except (_Damaged, zlib.error) as exc:
        problems.append(f"{table.name}: attachment {name}: {exc}")
        return None
    if len(files) == _MAX_MEMBERS:
        raise Unscannable(f"more than {_MAX_MEMBERS} files kept in OLE, binary and attachment values; the rest were not read")
    files.append((f"{where}/{name.replace('/', '_')}", content[header:end]))


def _blob(value: bytes, where: str, files: list[tuple[str, bytes]]) -> str | None:
    """A binary value as a cell's text (printable UTF-8), or handed on as a file: one this
    package reads, at the start of the value or behind an OLE object's wrapper."""
    from rules.extract.encoded import readable_text
    from rules.extract.sniff import sniff

    if readable_text(value):
        return value.decode("utf-8")
    if len(value) < 64:
        return None
    inner = value if not sniff(value, "").startswith("binary") else _wrapped(value)
    if inner is not None:
        if len(files) == _MAX_MEMBERS:
            raise Unscannable(f"more than {_MAX_MEMBERS} files kept in OLE, binary and attachment values; the rest were not read")
        files.append((where, inner))
    return None


def _wrapped(value: bytes) -> bytes | None:
    """The file inside an OLE object: Access wraps it in a header and the OLE 1.0 stream."""
    found = [at for at in (value.find(magic, 0, 4096) for magic in _FILE_MAGICS) if at > 0]
    return value[min(found):] if found else None


def _cell(text: str) -> str:
    """A value on one line and in one cell: tabs and line breaks inside it become spaces."""
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
