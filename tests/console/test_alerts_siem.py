"""Alerts (stored, webhook, SIEM) and SIEM export over real sockets and a real server."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import text

from console.db import make_engine
from console.siem import event_cef, send_syslog, syslog_message
from tests.console.api import bearer, http, login, make_events
from tests.fixtures.consoles import ConsoleServer, start_console, stop_console
from tests.fixtures.realparts import free_port


class Webhook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server name
        length = int(self.headers.get("content-length", 0))
        Webhook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    Webhook.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


@pytest.fixture
def udp_listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    yield sock
    sock.close()


@pytest.fixture
def siem_console(console_server: ConsoleServer, udp_listener: socket.socket, tmp_path) -> Iterator[tuple]:
    """A second server on the same database, with syslog (UDP) and JSON-lines SIEM output."""
    jsonl = tmp_path / "siem.jsonl"
    port = udp_listener.getsockname()[1]
    server = start_console(console_server.db_url, console_server.kind, tmp_path, env={
        "LEAKGUARD_SIEM_SYSLOG": f"udp://127.0.0.1:{port}", "LEAKGUARD_SIEM_JSONL": str(jsonl)})
    yield server, jsonl
    stop_console(server)


def _drain(sock: socket.socket, until: float) -> list[str]:
    messages = []
    while time.monotonic() < until:
        try:
            messages.append(sock.recv(65535).decode())
        except TimeoutError:
            if messages:
                break
    return messages


@pytest.mark.slow
def test_blocked_burst_raises_one_alert_delivered_everywhere(siem_console, staff, new_agent, webhook,
                                                           udp_listener) -> None:
    server, jsonl = siem_console
    admin = bearer(login(server.url, staff.usernames["admin"]))
    user = f"mallory-{time.monotonic_ns()}"
    rule = http().post(f"{server.url}/api/v1/alert-rules", headers=admin, json={
        "name": "3 blocks in 10 minutes", "kind": "blocked_burst", "threshold": 3, "window_minutes": 10,
        "webhook_url": webhook})
    assert rule.status_code == 201, rule.text
    agent = new_agent("siem-pc", user=user)
    for batch in (make_events(2, action="block"), make_events(2, action="block"), make_events(1, action="block")):
        reply = http().post(f"{server.url}/api/v1/events", headers=agent.headers, json={"events": batch})
        assert reply.json()["accepted"] == len(batch)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not any(h.get("user") == user for h in Webhook.received):
        time.sleep(0.1)
    hooks = [h for h in Webhook.received if h.get("user") == user]
    assert len(hooks) == 1 and hooks[0]["kind"] == "blocked_burst" and "3 blocks" in hooks[0]["rule"]
    while True:  # the delivery status is stored right after the webhook answered
        stored = http().get(f"{server.url}/api/v1/alerts", headers=staff.headers("auditor")).json()
        mine = [a for a in stored if a["subject"] == user and a["rule_id"] == rule.json()["id"]]
        if (mine and mine[0]["webhook_status"]) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(mine) == 1 and mine[0]["webhook_status"] == "204"
    syslog = _drain(udp_listener, time.monotonic() + 5)
    events = [m for m in syslog if " event - CEF:0|leakguard|leakguard|" in m]
    assert len(events) >= 5 and all(m.startswith("<16") or m.startswith("<1") for m in events)
    assert any(f"suser={user}" in m and "cs1=credit_card:2" in m and "act=block" in m for m in events)
    assert any(" alert - CEF:0|" in m and f"suser={user}" in m for m in syslog)
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert sum(1 for r in lines if r["type"] == "event" and r["user"] == user) == 5
    assert any(r["type"] == "alert" and r.get("user") == user for r in lines)


def test_silent_agent_alert_is_raised_once(console_server: ConsoleServer, staff, new_agent) -> None:
    url, admin = console_server.url, staff.headers("admin")
    agent = new_agent("quiet-pc")
    rule = http().post(f"{url}/api/v1/alert-rules", headers=admin, json={
        "name": "silent 30 minutes", "kind": "agent_silent", "silent_minutes": 30}).json()
    with make_engine(console_server.db_url).begin() as conn:  # the agent was last heard of two hours ago
        conn.execute(text("UPDATE agents SET last_seen = :t WHERE id = :id"),
                     {"t": datetime.now(UTC) - timedelta(hours=2), "id": agent.id})
    first = http().post(f"{url}/api/v1/alerts/evaluate", headers=admin).json()["raised"]
    again = http().post(f"{url}/api/v1/alerts/evaluate", headers=admin).json()["raised"]
    assert first >= 1 and again == 0
    alerts = http().get(f"{url}/api/v1/alerts", headers=admin, params={"limit": 1000}).json()
    mine = [a for a in alerts if a["subject"] == agent.id and a["rule_id"] == rule["id"]]
    assert len(mine) == 1 and "quiet-pc" in mine[0]["message"]
    acked = http().post(f"{url}/api/v1/alerts/{mine[0]['id']}/acknowledge", headers=staff.headers("analyst"))
    assert acked.json()["acknowledged_by"] == staff.usernames["analyst"]


def test_syslog_over_tcp_uses_octet_counting() -> None:
    listener = socket.create_server(("127.0.0.1", free_port()))
    port = listener.getsockname()[1]
    row = {"id": "e1", "ts": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "agent_id": "a1", "user": "x=y|z",
           "channel": "print", "action": "block", "severity": "critical", "detectors": [{"id": "iban", "count": 1}]}
    messages = [syslog_message(event_cef(row), "critical", msgid="event") for _ in range(2)]
    threading.Thread(target=send_syslog, args=(f"tcp://127.0.0.1:{port}", messages), daemon=True).start()
    conn, _ = listener.accept()
    conn.settimeout(5)
    data = b""
    while data.count(b"CEF:0") < 2:
        data += conn.recv(65535)
    conn.close()
    listener.close()
    length, _, rest = data.partition(b" ")
    first = rest[: int(length)].decode()
    assert first == messages[0]
    assert first.startswith("<162>1 ") and " leakguard-console leakguard - event - CEF:0|leakguard|" in first
    assert "|event:print:block|block on print|10|" in first and "suser=x\\=y|z" in first
    assert "rt=1767323045000" in first


def test_bad_syslog_target_is_refused_clearly() -> None:
    with pytest.raises(OSError, match="udp://host:port"):
        send_syslog("http://example.invalid", ["x"])
