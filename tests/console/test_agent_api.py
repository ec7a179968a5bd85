"""The agent-facing API v1 over real HTTP against a real server on SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.console.api import bearer, enroll_token, http, make_events
from tests.fixtures.consoles import ConsoleServer


def test_enroll_returns_credentials_device_and_policy_key(console_server: ConsoleServer, new_agent) -> None:
    first, second = new_agent("pc-a"), new_agent("pc-b")
    assert first.token.startswith("lga_") and len(first.token) > 40
    assert second.device != first.device and first.device >= 1
    assert len(str(first.enrollment["policy_public_key"])) == 44  # base64 of 32 raw bytes
    reply = http().post(f"{console_server.url}/api/v1/agents/heartbeat", headers=first.headers,
                       json={"user": "bob"}, timeout=10)
    assert reply.status_code == 200 and reply.json()["agent_id"] == first.id


def test_agent_token_is_stored_only_as_hash(console_server: ConsoleServer, new_agent) -> None:
    agent = new_agent()
    from sqlalchemy import text

    from console.db import make_engine

    with make_engine(console_server.db_url).connect() as conn:
        rows = conn.execute(text("SELECT token_hash FROM agents WHERE id = :id"), {"id": agent.id}).all()
        dump = str(conn.execute(text("SELECT * FROM agents")).all())
    import hashlib

    assert rows[0][0] == hashlib.sha256(agent.token.encode()).hexdigest()
    assert agent.token not in dump


def test_enrollment_token_limits_expiry_and_revocation(console_server: ConsoleServer) -> None:
    url = console_server.url
    once = enroll_token(console_server.db_url, "--max-uses", "1")
    body = {"enrollment_token": once, "hostname": "h", "os": "linux", "agent_version": "1"}
    assert http().post(f"{url}/api/v1/agents/enroll", json=body, timeout=10).status_code == 200
    used_up = http().post(f"{url}/api/v1/agents/enroll", json=body, timeout=10)
    assert used_up.status_code == 401 and "used up" in used_up.text
    short = enroll_token(console_server.db_url, "--expires", "1s")
    time.sleep(1.5)
    expired = http().post(f"{url}/api/v1/agents/enroll", json={**body, "enrollment_token": short}, timeout=10)
    assert expired.status_code == 401 and "expired" in expired.text
    wrong = http().post(f"{url}/api/v1/agents/enroll", json={**body, "enrollment_token": "lge_" + "x" * 43}, timeout=10)
    assert wrong.status_code == 401


def test_enrollment_token_revoked_over_the_api(console_server: ConsoleServer, staff) -> None:
    url, admin = console_server.url, staff.headers("admin")
    made = http().post(f"{url}/api/v1/enrollment-tokens", json={"zone": "low", "max_uses": 5}, headers=admin)
    assert made.status_code == 201 and made.json()["token"].startswith("lge_")
    body = {"enrollment_token": made.json()["token"], "hostname": "h", "os": "linux", "agent_version": "1"}
    assert http().post(f"{url}/api/v1/agents/enroll", json=body).json()["zone"] == "low"
    revoked = http().post(f"{url}/api/v1/enrollment-tokens/{made.json()['id']}/revoke", headers=admin)
    assert revoked.json()["revoked"] is True and revoked.json()["uses"] == 1 and revoked.json()["token"] is None
    refused = http().post(f"{url}/api/v1/agents/enroll", json=body)
    assert refused.status_code == 401 and "revoked" in refused.text
    listed = http().get(f"{url}/api/v1/enrollment-tokens", headers=admin).json()
    assert all(t["token"] is None for t in listed)  # only hashes are kept, never shown again


def test_revoked_agent_is_refused(console_server: ConsoleServer, staff, new_agent) -> None:
    agent = new_agent()
    url = console_server.url
    revoked = http().post(f"{url}/api/v1/agents/{agent.id}/revoke", headers=staff.headers("admin"), timeout=10)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    reply = http().post(f"{url}/api/v1/agents/heartbeat", headers=agent.headers, json={}, timeout=10)
    assert reply.status_code == 401


def test_event_ingest_is_idempotent(console_server: ConsoleServer, staff, new_agent) -> None:
    agent = new_agent()
    url = console_server.url
    events = make_events(250)
    first = http().post(f"{url}/api/v1/events", headers=agent.headers, json={"events": events}, timeout=30)
    assert first.json() == {"accepted": 250, "duplicates": 0}
    again = http().post(f"{url}/api/v1/events", headers=agent.headers,
                       json={"events": events[:100] + make_events(10) + events[:1]}, timeout=30)
    assert again.json() == {"accepted": 10, "duplicates": 101}
    page = http().get(f"{url}/api/v1/events", params={"agent_id": agent.id, "limit": 1000},
                     headers=staff.headers("analyst"), timeout=30).json()
    ids = [item["id"] for item in page["items"]]
    assert len(ids) == 260 == len(set(ids))
    stored = page["items"][0]
    assert stored["agent_id"] == agent.id and stored["user"] == "alice"
    assert stored["detectors"] == [{"id": "credit_card", "count": 2}]


def test_agent_cannot_write_events_for_another_agent(console_server: ConsoleServer, new_agent) -> None:
    mine, other = new_agent(), new_agent()
    events = make_events(2, agent_id=other.id)
    reply = http().post(f"{console_server.url}/api/v1/events", headers=mine.headers, json={"events": events}, timeout=10)
    assert reply.status_code == 403


@pytest.mark.parametrize("bad", [
    {"events": []},
    {"events": make_events(1001)},
    {"events": [{"id": "not-a-uuid", "ts": "2026-01-01T00:00:00Z", "channel": "clipboard", "action": "block",
                 "severity": "high"}]},
    {"events": [{**make_events(1)[0], "channel": "carrier_pigeon"}]},
    {"events": [{**make_events(1)[0], "ts": "yesterday"}]},
    {"events": [{**make_events(1)[0], "blob": "x" * 17000}]},
    {"nothing": 1},
])
def test_malformed_batches_get_422(console_server: ConsoleServer, new_agent, bad: dict) -> None:
    agent = new_agent()
    reply = http().post(f"{console_server.url}/api/v1/events", headers=agent.headers, json=bad, timeout=30)
    assert reply.status_code == 422, reply.text


def test_events_need_an_agent_token(console_server: ConsoleServer, staff) -> None:
    body = {"events": make_events(1)}
    url = f"{console_server.url}/api/v1/events"
    assert http().post(url, json=body, timeout=10).status_code == 401
    assert http().post(url, json=body, headers=bearer("lga_" + uuid.uuid4().hex), timeout=10).status_code == 401
    assert http().post(url, json=body, headers=staff.headers("admin"), timeout=10).status_code == 401


def test_marks_batch_is_issued_ahead(console_server: ConsoleServer, new_agent) -> None:
    pytest.importorskip("watermark.marks")
    agent = new_agent()
    reply = http().get(f"{console_server.url}/api/v1/agents/marks", params={"from_slot": 1000, "count": 5},
                      headers=agent.headers, timeout=10)
    body = reply.json()
    assert body["slot_seconds"] > 0 and [m["slot"] for m in body["marks"]] == list(range(1000, 1005))
    assert all(len(m["mark"]) == 16 for m in body["marks"])
    assert len({m["mark"] for m in body["marks"]}) == 5
