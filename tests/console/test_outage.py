"""A database outage gives 503 with Retry-After, and no event an agent was told is accepted is lost."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from tests.console.api import PASSWORD, bearer, cli, enroll, enroll_token, http, login, make_events
from tests.fixtures.consoles import (
    _pg_connect,
    create_pg_database,
    drop_pg_database,
    make_database_url,
    start_console,
    stop_console,
)


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_console(request: pytest.FixtureRequest, tmp_path) -> Iterator[tuple[str, object]]:
    kind = request.param
    if kind == "postgres":
        request.applymarker(pytest.mark.postgres)
        db_url = create_pg_database()
    else:
        db_url = make_database_url("sqlite", tmp_path)
    server = start_console(db_url, kind, tmp_path, env={"LEAKGUARD_SQLITE_TIMEOUT": "1"})
    yield kind, server
    stop_console(server)
    if kind == "postgres":
        drop_pg_database(db_url)


class Outage:
    """Really cut the server off: PostgreSQL refuses connections; SQLite's write lock is held."""

    def __init__(self, kind: str, db_url: str) -> None:
        self.kind, self.db_url, self.holder = kind, db_url, None

    def __enter__(self) -> Outage:
        if self.kind == "postgres":
            name = self.db_url.rsplit("/", 1)[1]
            with _pg_connect(self.db_url.rsplit("/", 1)[0] + "/postgres") as conn:
                conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        else:
            self.holder = sqlite3.connect(self.db_url[len("sqlite:///"):], timeout=5, isolation_level=None)
            self.holder.execute("BEGIN EXCLUSIVE")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.kind == "postgres":
            name = self.db_url.rsplit("/", 1)[1]
            with _pg_connect(self.db_url.rsplit("/", 1)[0] + "/postgres") as conn:
                conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        elif self.holder is not None:
            self.holder.execute("ROLLBACK")
            self.holder.close()


@pytest.mark.slow
def test_outage_is_503_and_no_accepted_event_is_lost(fresh_console) -> None:
    kind, server = fresh_console
    agent = enroll(server.url, enroll_token(server.db_url))
    headers = bearer(str(agent["agent_token"]))
    before, during = make_events(50), make_events(50)
    assert http().post(f"{server.url}/api/v1/events", headers=headers, json={"events": before}).json()["accepted"] == 50
    with Outage(kind, server.db_url):
        reply = http().post(f"{server.url}/api/v1/events", headers=headers, json={"events": during})
        assert reply.status_code == 503, reply.text
        assert int(reply.headers["Retry-After"]) > 0
        if kind == "postgres":
            health = http().get(f"{server.url}/healthz")
            assert health.status_code == 503 and "Retry-After" in health.headers
    # The agent kept the refused batch in its spool and sends it again, with the earlier one.
    again = http().post(f"{server.url}/api/v1/events", headers=headers, json={"events": during + before})
    assert again.json() == {"accepted": 50, "duplicates": 50}

    assert cli("createadmin", "--db", server.db_url, "--username", "boss", "--password-stdin",
               stdin=PASSWORD + "\n").returncode == 0
    admin = bearer(login(server.url, "boss"))
    items = http().get(f"{server.url}/api/v1/events", headers=admin, params={"limit": 1000}).json()["items"]
    assert sorted(i["id"] for i in items) == sorted(e["id"] for e in before + during)
    assert server.process.poll() is None, server.log()
