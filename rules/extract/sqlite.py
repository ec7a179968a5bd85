"""SQLite databases: a CRM's local store, an app's export, a table copied out of a server as one
file. A `.db`/`.sqlite` was an `unscannable` binary; now each table is read as a table of text
(its name, a blank line, a header row of its column names, a row a line, cells by tabs), so its
column names name the values below them as a spreadsheet's headers do.

The database is opened from memory (`sqlite3` `deserialize`, nothing written to disk) and read
only: `query_only`, `trusted_schema` off, `cell_size_check` on. Only ordinary tables are read with
``SELECT *``: views (a recursive view can run forever), virtual tables (their module's code runs)
and triggers (they run on writes only) are not. A string or blob is capped at `MAX_VALUE` bytes
(`SQLITE_LIMIT_LENGTH`: a generated column of `zeroblob(2e9)` fails instead of filling memory), and
a progress handler stops the engine when the extraction's time is up. BLOBs that are files this
package reads (a PDF kept in an attachments table) are handed on as members named
`TABLE/ROW/COLUMN`, at most `_MAX_BLOB_MEMBERS` (more make the database `unscannable`, with what
was read kept); BLOBs of printable UTF-8 are cells; other BLOBs are left out.

A database in WAL mode is read from its main file as it is (a copied `.db` without its `-wal`
holds what was last checkpointed); its header's WAL flag is cleared in the copy handed to SQLite,
which cannot open a database in memory in WAL mode. A damaged database is read up to the damage
and named `unscannable` with SQLite's message.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from rules.extract.budget import Budget, Unscannable

MAGIC = b"SQLite format 3\x00"
MAX_VALUE = 16 << 20
_PROGRESS_STEPS = 10_000
_MAX_BLOB_MEMBERS = 256


def sqlite_content(data: bytes, budget: Budget, what: str) -> tuple[str, list[tuple[str, bytes]], str | None]:
    """The text of every table, the BLOBs that are files, and what went wrong, if anything."""
    if not data.startswith(MAGIC) or len(data) < 100:
        raise Unscannable(f"{what}: not an SQLite database")
    image = bytearray(data)
    if image[18:20] == b"\x02\x02":  # WAL mode: opened from memory as a rollback-journal database
        image[18:20] = b"\x01\x01"
    connection = sqlite3.connect(":memory:")
    connection.text_factory = lambda raw: raw.decode("utf-8", "replace")  # a damaged page's text is not UTF-8
    texts: list[str] = []
    files: list[tuple[str, bytes]] = []
    try:
        connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE)
        connection.set_progress_handler(lambda: _out_of_time(budget), _PROGRESS_STEPS)
        connection.deserialize(bytes(image))
        for pragma in ("query_only = ON", "trusted_schema = OFF", "cell_size_check = ON"):
            connection.execute(f"PRAGMA {pragma}")
        used = 0
        for name in _tables(connection):
            for chunk in _table_text(connection, name, files, budget):
                texts.append(chunk)
                used += len(chunk)
                if used > budget.limits.max_text_chars:
                    return "".join(texts), files, f"{what}: database text beyond {budget.limits.max_text_chars} characters"
        return "".join(texts), files, None
    except sqlite3.OperationalError as exc:
        if _out_of_time(budget):
            return "".join(texts), files, f"{what}: time limit reached reading the database"
        return "".join(texts), files, f"{what}: damaged SQLite database ({exc})"
    except sqlite3.DatabaseError as exc:
        return "".join(texts), files, f"{what}: damaged SQLite database ({exc})"
    except UnicodeDecodeError:  # SQLite's own message quoted a damaged schema's bytes
        return "".join(texts), files, f"{what}: damaged SQLite database (its schema is not UTF-8)"
    except Unscannable as exc:  # the time limit between rows, the BLOB cap: what was read is kept
        return "".join(texts), files, f"{what}: {exc}"
    finally:
        connection.close()


def _out_of_time(budget: Budget) -> bool:
    return budget.seconds_left() <= 0


def _tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'table' ORDER BY rowid").fetchall()
    return [name for name, sql in rows
            if isinstance(name, str) and not name.startswith("sqlite_")
            and isinstance(sql, str) and not sql.lstrip().upper().startswith("CREATE VIRTUAL")]


def _table_text(connection: sqlite3.Connection, name: str, files: list[tuple[str, bytes]],
                budget: Budget) -> Iterator[str]:
    """The table's name, a blank line, its header row and its rows, in pieces."""
    quoted = '"' + name.replace('"', '""') + '"'
    cursor = connection.execute(f"SELECT * FROM {quoted}")
    columns = [_cell(str(d[0])) for d in cursor.description]
    yield f"{name}\n\n" + "\t".join(columns) + "\n"
    for index, row in enumerate(cursor):
        if index % 1000 == 0:
            budget.check_time()
        cells = []
        for column, value in zip(columns, row, strict=False):
            if isinstance(value, bytes):
                value = _blob(value, f"{name}/{index + 1}/{column}", files)
            cells.append("" if value is None else _cell(str(value)))
        yield "\t".join(cells) + "\n"
    yield "\n"


def _blob(value: bytes, where: str, files: list[tuple[str, bytes]]) -> str | None:
    """A BLOB as a cell's text (printable UTF-8), or handed on as a file (one this package reads)."""
    from rules.extract.encoded import readable_text
    from rules.extract.sniff import sniff

    if readable_text(value):
        return value.decode("utf-8")
    if len(value) >= 64 and not sniff(value, "").startswith("binary"):
        if len(files) == _MAX_BLOB_MEMBERS:
            raise Unscannable(f"more than {_MAX_BLOB_MEMBERS} files kept in BLOBs; the rest were not read")
        files.append((where, value))
    return None


def _cell(text: str) -> str:
    """A value on one line and in one cell: tabs and line breaks inside it become spaces."""
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
