"""Failed alert webhooks are retried with back-off, by whichever server claims them, then given up."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.console.api import PASSWORD, bearer, cli, enroll, enroll_token, http, login, make_events
from tests.fixtures.consoles import drop_pg_database, make_database_url, start_console, stop_console


class Receiver(BaseHTTPRequestHandler):
    """/flaky fails twice then takes it; /down always answers 503; /gone answers 404."""

    calls: dict[str, list[dict]] = {}

    def do_POST(self) -> None:  # noqa: N802 - the http.server name
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        seen = Receiver.calls.setdefault(self.path, [])
        seen.append(body)
        code = {"/flaky": 503 if len(seen) <= 2 else 204, "/down": 503, "/gone": 404}[self.path]
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.calls = {}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_webhooks_are_retried_until_delivered_or_given_up(kind: str, receiver: str, tmp_path) -> None:
    db_url = make_database_url(kind, tmp_path)
    env = {"LEAKGUARD_WEBHOOK_RETRY_SECONDS": "0.4", "LEAKGUARD_MAINTENANCE_SECONDS": "0.2",
           "LEAKGUARD_WEBHOOK_MAX_ATTEMPTS": "3"}
    servers = [start_console(db_url, kind, tmp_path, env=env) for _ in range(2)]  # both may retry
    try:
        url = servers[0].url
        cli("createadmin", "--db", db_url, "--username", "hooks", "--password-stdin", stdin=PASSWORD + "\n")
        admin = bearer(login(url, "hooks"))
        for path in ("/flaky", "/down", "/gone"):
            reply = http().post(f"{url}/api/v1/alert-rules", headers=admin, json={
                "name": f"burst to {path}", "kind": "blocked_burst", "threshold": 3, "window_minutes": 10,
                "webhook_url": receiver + path})
            assert reply.status_code == 201, reply.text
        agent = enroll(url, enroll_token(db_url), hostname="hook-pc", user="erin")
        reply = http().post(f"{url}/api/v1/events", headers=bearer(str(agent["agent_token"])),
                            json={"events": make_events(3, action="block")})
        assert reply.json()["accepted"] == 3

        def settled() -> list[dict] | None:
            alerts = http().get(f"{url}/api/v1/alerts", headers=admin).json()
            done = [a for a in alerts if a["webhook_next_at"] is None and a["webhook_status"]]
            return alerts if len(alerts) == 3 and len(done) == 3 else None

        deadline, alerts = time.monotonic() + 30, None
        while alerts is None and time.monotonic() < deadline:
            alerts = settled()
            time.sleep(0.2)
        assert alerts is not None, http().get(f"{url}/api/v1/alerts", headers=admin).json()
        statuses = sorted((a["webhook_attempts"], a["webhook_status"]) for a in alerts)
        assert statuses == [(1, "404 (gave up after 1 attempt)"), (3, "204"), (3, "503 (gave up after 3 attempts)")]
        # each attempt was made once (two servers, no double sends) and carried the same document
        assert [len(Receiver.calls[p]) for p in ("/flaky", "/down", "/gone")] == [3, 3, 1]
        for path in ("/flaky", "/down"):
            first, *rest = Receiver.calls[path]
            assert all(doc == first for doc in rest) and first["user"] == "erin" and first["kind"] == "blocked_burst"
    finally:
        for server in servers:
            stop_console(server)
        if kind == "postgres":
            drop_pg_database(db_url)
