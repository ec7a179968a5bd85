"""SQLite databases, written by the real SQLite library (Python's `sqlite3`, SQLite 3.40)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.detectors import scan_text
from rules.extract import Limits, extract
from rules.extract.budget import DEFAULT_LIMITS, Budget
from rules.extract.sniff import sniff
from rules.extract.sqlite import sqlite_content
from tests.rules import samples

SSN, CARD = "078-05-1120", "4111 1111 1111 1111"
PDF = (Path(__file__).parent / "data").glob("*.pdf")


def database(tmp_path: Path, script: str, *, wal: bool = False) -> bytes:
    path = tmp_path / "app.db"
    connection = sqlite3.connect(path)
    if wal:
        connection.execute("PRAGMA journal_mode=WAL")
    connection.executescript(script)
    connection.commit()
    if wal:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    connection.close()
    return data


CUSTOMERS = f"""
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, ssn TEXT, card TEXT, aba_routing TEXT, note BLOB);
INSERT INTO customers VALUES (1, 'Anna Müller', '{SSN}', '{CARD}', '021000021', CAST('called on Monday' AS BLOB));
INSERT INTO customers VALUES (2, '张伟', '219-09-9999', '5500 0000 0000 0004', '011000015', x'00ff00ff');
CREATE VIEW everyone AS SELECT * FROM customers;
"""


def test_each_table_reads_as_a_table_under_its_column_names(tmp_path: Path) -> None:
    data = database(tmp_path, CUSTOMERS)
    assert sniff(data, "app.bin") == "sqlite"
    result = extract(data, "crm.db")
    assert result.status == "ok", result.reason
    lines = result.text.split("\n")
    assert lines[:3] == ["customers", "", "id\tname\tssn\tcard\taba_routing\tnote"]
    assert f"1\tAnna Müller\t{SSN}\t{CARD}\t021000021\tcalled on Monday" in lines
    assert "2\t张伟\t219-09-9999\t5500 0000 0000 0004\t011000015\t" in lines  # a binary BLOB is left out
    assert "everyone" not in lines  # a view is not read
    findings = scan_text(result.text)
    assert {"us_ssn", "credit_card"} <= {f.detector for f in findings}
    routing = [f for f in findings if f.detector == "us_aba_routing"]
    assert len(routing) == 2 and all(f.level != "low" for f in routing)  # named by the column "aba_routing"


def test_files_kept_in_blobs_are_read(tmp_path: Path) -> None:
    report = samples.docx([f"SSN {SSN}"])
    connection = sqlite3.connect(tmp_path / "files.db")
    connection.execute("CREATE TABLE attachments (id INTEGER PRIMARY KEY, name TEXT, content BLOB)")
    connection.execute("INSERT INTO attachments VALUES (1, 'report.docx', ?)", (report,))
    connection.commit()
    connection.close()
    result = extract((tmp_path / "files.db").read_bytes(), "files.db")
    assert result.status == "ok", result.reason
    assert "files.db/attachments/1/content" in [p.path for p in result.parts] and SSN in result.text


def test_more_files_in_blobs_than_the_cap_are_named(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "many.db")
    connection.execute("CREATE TABLE attachments (id INTEGER PRIMARY KEY, content BLOB)")
    connection.executemany("INSERT INTO attachments (content) VALUES (?)",
                           [(samples.zip_of({f"{i}.txt": f"ssn {SSN}".encode()}),) for i in range(260)])
    connection.commit()
    connection.close()
    result = extract((tmp_path / "many.db").read_bytes(), "many.db")
    assert result.status == "unscannable" and "more than 256 files kept in BLOBs" in (result.reason or "")
    assert sum(p.path.count("/attachments/") for p in result.parts if p.path.endswith(".txt")) == 256


def test_a_database_in_wal_mode_is_read(tmp_path: Path) -> None:
    data = database(tmp_path, CUSTOMERS, wal=True)
    assert data[18:20] == b"\x02\x02"
    result = extract(data, "wal.db")
    assert result.status == "ok" and SSN in result.text


def test_virtual_tables_are_not_run(tmp_path: Path) -> None:
    data = database(tmp_path, f"CREATE VIRTUAL TABLE notes USING fts5(body); INSERT INTO notes VALUES ('ssn {SSN}');")
    result = extract(data, "fts.db")
    assert result.status == "ok", result.reason
    assert not any(line == "notes" for line in result.text.split("\n"))  # the virtual table itself is not read
    assert SSN in result.text  # its content table is an ordinary one


def test_a_generated_column_cannot_fill_memory(tmp_path: Path) -> None:
    """An attacker writes a harmless generated column, then rewrites the schema (as
    `writable_schema` allows) so that reading the row makes a 2 GB blob."""
    data = database(tmp_path, "CREATE TABLE t (a INTEGER, b BLOB GENERATED ALWAYS AS (a + 0) VIRTUAL);"
                              "INSERT INTO t (a) VALUES (2000000000);"
                              "PRAGMA writable_schema = ON;"
                              "UPDATE sqlite_schema SET sql = replace(sql, '(a + 0)', '(zeroblob(a))') WHERE name = 't';")
    assert b"zeroblob(a)" in data
    result = extract(data, "big.db")
    assert result.status == "unscannable" and "too big" in (result.reason or "")


def test_a_long_read_stops_at_the_time_limit(tmp_path: Path) -> None:
    rows = "BEGIN;" + "".join(f"INSERT INTO t VALUES ({i}, '{CARD}');" for i in range(20_000)) + "COMMIT;"
    data = database(tmp_path, f"CREATE TABLE t (id INTEGER, card TEXT); {rows}")
    ticks = iter(range(10**9))
    clock = Limits(clock=lambda: float(next(ticks)), seconds=5)  # each look at the clock is a second later
    text, _, problem = sqlite_content(data, Budget(clock, len(data)), "x.db")
    assert problem is not None and "time limit" in problem
    assert 0 < text.count(CARD) < 20_000  # stopped part of the way, what was read kept


def test_a_truncated_database_is_named(tmp_path: Path) -> None:
    rows = "BEGIN;" + "".join(f"INSERT INTO t VALUES ({i}, '{CARD}');" for i in range(5_000)) + "COMMIT;"
    data = database(tmp_path, f"CREATE TABLE t (id INTEGER, card TEXT); {rows}")
    result = extract(data[: len(data) // 2], "cut.db")
    assert result.status == "unscannable" and "SQLite" in (result.reason or "")


_SMALL: dict[str, bytes] = {}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(16, 1 << 16), st.integers(0, 255)), min_size=1, max_size=12))
def test_damaged_databases_never_crash_the_reader(tmp_path: Path, changes: list[tuple[int, int]]) -> None:
    if "db" not in _SMALL:
        _SMALL["db"] = database(tmp_path, CUSTOMERS + "".join(
            f"INSERT INTO customers (name, card) VALUES ('p{i}', '{CARD}');" for i in range(300)))
    data = bytearray(_SMALL["db"])
    for offset, value in changes:
        data[16 + offset % (len(data) - 16)] = value  # the magic number stays: a damaged database
    text, _, problem = sqlite_content(bytes(data), Budget(DEFAULT_LIMITS, len(data)), "x.db")
    assert isinstance(text, str) and (problem is None or "x.db" in problem)
