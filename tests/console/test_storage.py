"""Schema migrations, backups and metrics on both databases."""

from __future__ import annotations

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from console.db import make_engine
from console.migration import prepare_database
from tests.console.api import cli, http, make_events
from tests.fixtures.consoles import ConsoleServer, create_pg_database, drop_pg_database


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migrations_build_exactly_the_models_and_rerun_safely(kind: str, tmp_path) -> None:
    import console.tables  # noqa: F401

    url = f"sqlite:///{tmp_path / 'm.db'}" if kind == "sqlite" else create_pg_database()
    try:
        engine = make_engine(url)
        prepare_database(engine)
        prepare_database(engine)  # a second start is a no-op
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
        assert diff == []
        engine.dispose()
    finally:
        if kind == "postgres":
            drop_pg_database(url)


def test_backup_is_a_consistent_copy(console_server: ConsoleServer, new_agent, tmp_path) -> None:
    agent = new_agent("backup-pc")
    http().post(f"{console_server.url}/api/v1/events", headers=agent.headers, json={"events": make_events(7)})
    out = tmp_path / ("backup.db" if console_server.kind == "sqlite" else "backup.pgdump")
    result = cli("backup", "--db", console_server.db_url, "--out", str(out))
    assert result.returncode == 0, result.stderr
    if console_server.kind == "sqlite":
        with sqlite3.connect(out) as conn:
            count = conn.execute("SELECT count(*) FROM events WHERE agent_id = ?", (agent.id,)).fetchone()[0]
        assert count == 7
    else:
        assert out.read_bytes()[:5] == b"PGDMP"
    bad = cli("backup", "--db", "mysql://nope", "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and "cannot back up" in bad.stderr


def test_metrics_are_prometheus_text_for_admins(console_server: ConsoleServer, staff, new_agent) -> None:
    new_agent("metrics-pc")
    reply = http().get(f"{console_server.url}/metrics", headers=staff.headers("admin"))
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    text = reply.text
    assert 'leakguard_http_requests_total{method="POST",route="/api/v1/agents/enroll",status="200"}' in text
    enrolled = [line for line in text.splitlines() if line.startswith("leakguard_agents_enrolled ")]
    assert enrolled and float(enrolled[0].split()[1]) >= 1
    assert "leakguard_http_request_seconds_bucket" in text
    assert http().get(f"{console_server.url}/metrics", headers=staff.headers("analyst")).status_code == 403


def test_cli_refuses_bad_arguments_clearly(console_server: ConsoleServer) -> None:
    result = cli("enroll-token", "--db", console_server.db_url, "--expires", "soon")
    assert result.returncode == 2 and "duration" in result.stderr
    result = cli("enroll-token", "--db", console_server.db_url, "--zone", "Bad Zone!")
    assert result.returncode == 2 and "zone" in result.stderr
    weak = cli("createadmin", "--db", console_server.db_url, "--username", "weak", "--password-stdin", stdin="short\n")
    assert weak.returncode == 2 and "at least 12" in weak.stderr
