"""The heartbeat's fast path keeps its meaning, over real HTTP on SQLite and PostgreSQL.

Most beats are one UPDATE that only matches when the device's session simply goes on; these
tests check what the slower paths must still do: record the user, start a session when the user
changes or the device comes back after a gap (the evidence trace uses to name a person), announce
a newly published policy version at once, and refuse revoked agents.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from console.db import make_engine
from console.presence import SESSION_GAP, users_between
from tests.console.api import enroll, enroll_token, http
from tests.fixtures.consoles import ConsoleServer


@pytest.fixture(scope="module")
def engine(console_server: ConsoleServer) -> Iterator[Engine]:
    """A direct look at the server's database, to see what the API does not show."""
    engine = make_engine(console_server.db_url)
    yield engine
    engine.dispose()


def beat(server: ConsoleServer, token: str, body: Any = None, **kwargs: Any) -> httpx.Response:
    return http().post(f"{server.url}/api/v1/agents/heartbeat", headers={"Authorization": f"Bearer {token}"},
                       json=body, timeout=30, **kwargs)


def agent_row(engine: Engine, agent_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT last_seen, last_user, hostname, agent_version FROM agents WHERE id = :id"),
                           {"id": agent_id}).mappings().one()
    return dict(row)


def sessions(engine: Engine, agent_id: str) -> list[tuple[str, datetime, datetime]]:
    with Session(engine) as session:
        from console.tables import AgentSession

        rows = session.exec(select(AgentSession).where(AgentSession.agent_id == agent_id)
                            .order_by(col(AgentSession.id))).all()
        return [(row.user, _utc(row.first_seen), _utc(row.last_seen)) for row in rows]


def _utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def test_beat_records_last_seen_user_hostname_and_version(console_server: ConsoleServer, engine: Engine,
                                                           new_agent) -> None:
    agent = new_agent(user="alice")
    enrolled = _utc(agent_row(engine, agent.id)["last_seen"])
    reply = beat(console_server, agent.token, {"user": "alice", "hostname": "pc-renamed", "agent_version": "0.2.0"})
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert answer["status"] == "ok" and answer["agent_id"] == agent.id and answer["zone"] == "medium"
    row = agent_row(engine, agent.id)
    assert _utc(row["last_seen"]) > enrolled
    assert _utc(row["last_seen"]) == datetime.fromisoformat(answer["server_time"].replace("Z", "+00:00"))
    assert (row["last_user"], row["hostname"], row["agent_version"]) == ("alice", "pc-renamed", "0.2.0")
    assert beat(console_server, agent.token, {"user": "bob"}).status_code == 200
    assert agent_row(engine, agent.id)["last_user"] == "bob"
    assert beat(console_server, agent.token, {}).status_code == 200  # no user given: the last one stays
    assert agent_row(engine, agent.id)["last_user"] == "bob"


def test_same_user_extends_one_session_and_a_new_user_opens_another(console_server: ConsoleServer, engine: Engine,
                                                                     new_agent) -> None:
    agent = new_agent(user="alice")
    for _ in range(3):
        assert beat(console_server, agent.token, {"user": "alice"}).status_code == 200
    assert [user for user, _, _ in sessions(engine, agent.id)] == ["alice"]  # no row written per beat
    alice_seen = _utc(agent_row(engine, agent.id)["last_seen"])
    assert beat(console_server, agent.token, {"user": "bob"}).status_code == 200
    rows = sessions(engine, agent.id)
    assert [user for user, _, _ in rows] == ["alice", "bob"]
    assert rows[0][2] == alice_seen  # alice's session closed at her last beat
    assert rows[1][1] == _utc(agent_row(engine, agent.id)["last_seen"])
    with Session(engine) as session:  # what tracing asks: who was on the device in a window
        bob_from, now = rows[1][1], datetime.now(UTC)
        assert users_between(session, agent.id, bob_from, bob_from + timedelta(minutes=1))[0] == "bob"
        assert users_between(session, agent.id, rows[0][1] - timedelta(hours=1), rows[0][1])[0] == "alice"
        assert users_between(session, agent.id, now + 2 * SESSION_GAP, now + 3 * SESSION_GAP) == []


def test_open_session_lasts_until_the_last_beat(console_server: ConsoleServer, engine: Engine, new_agent) -> None:
    """The open session's row is not rewritten per beat, so tracing reads its end from last_seen."""
    agent = new_agent(user="carol")
    past = datetime.now(UTC) - timedelta(hours=2)
    # as after enrollment two hours ago and beats every minute for 20 minutes (the fast path)
    _set_times(engine, agent.id, past + timedelta(minutes=20), session_first=past, session_last=past)
    window = past + timedelta(minutes=15)
    with Session(engine) as session:
        assert users_between(session, agent.id, window, window + timedelta(minutes=1)) == ["carol"]
    assert beat(console_server, agent.token, {"user": "carol"}).status_code == 200  # back after a long gap
    rows = sessions(engine, agent.id)
    assert len(rows) == 2 and rows[0][2] == past + timedelta(minutes=20)  # closed at the last beat before
    with Session(engine) as session:
        assert users_between(session, agent.id, window, window + timedelta(minutes=1)) == ["carol"]
        later = past + timedelta(minutes=60)
        assert users_between(session, agent.id, later, later + timedelta(minutes=1)) == []


def test_a_beat_after_a_gap_starts_a_new_session(console_server: ConsoleServer, engine: Engine, new_agent) -> None:
    agent = new_agent(user="dave")
    off_since = datetime.now(UTC) - 6 * SESSION_GAP
    _set_times(engine, agent.id, off_since, session_first=off_since - timedelta(hours=1), session_last=off_since)
    assert beat(console_server, agent.token, {"user": "dave"}).status_code == 200
    rows = sessions(engine, agent.id)
    assert [user for user, _, _ in rows] == ["dave", "dave"]
    assert rows[0][2] == off_since and rows[1][1] > off_since + SESSION_GAP
    with Session(engine) as session:  # the device was off in between: nobody is named for that time
        middle = off_since + 3 * SESSION_GAP
        assert users_between(session, agent.id, middle, middle + timedelta(seconds=10)) == []


def _set_times(engine: Engine, agent_id: str, last_seen: datetime, *, session_first: datetime | None = None,
               session_last: datetime | None = None) -> None:
    """Move the device's clock back, as if its beats had come earlier (tests cannot wait minutes)."""
    from console.tables import Agent, AgentSession

    with Session(engine) as session:
        agent = session.get(Agent, agent_id)
        assert agent is not None
        agent.last_seen = last_seen
        if session_first is not None:
            row = session.exec(select(AgentSession).where(AgentSession.agent_id == agent_id)).one()
            row.first_seen, row.last_seen = session_first, session_last or session_first
        session.commit()


def test_a_published_policy_version_is_announced_at_the_next_beat(console_server: ConsoleServer, staff) -> None:
    policy = pytest.importorskip("rules.policy", reason="the rules engine's policy module is not built yet")
    zone = f"hb-{secrets.token_hex(3)}"
    agent = enroll(console_server.url, enroll_token(console_server.db_url, "--zone", zone, "--max-uses", "1"))
    token = str(agent["agent_token"])
    first = beat(console_server, token, {"user": "erin"}).json()
    assert (first["zone"], first["policy_version"]) == (zone, None)  # nothing published yet
    admin, text_v1 = staff.headers("admin"), policy.default_policy_text("low")
    for expected in (1, 2):
        published = http().put(f"{console_server.url}/api/v1/zones/{zone}/policy", json={"policy": text_v1},
                                headers=admin, timeout=30)
        assert published.status_code == 201 and published.json()["version"] == expected
        assert beat(console_server, token, {"user": "erin"}).json()["policy_version"] == expected


def test_revoked_unknown_and_missing_tokens_get_401(console_server: ConsoleServer, engine: Engine, staff,
                                                    new_agent) -> None:
    agent = new_agent()
    assert beat(console_server, agent.token, {"user": "alice"}).status_code == 200
    revoked = http().post(f"{console_server.url}/api/v1/agents/{agent.id}/revoke", headers=staff.headers("admin"),
                          timeout=30)
    assert revoked.status_code == 200
    seen = agent_row(engine, agent.id)
    refused = beat(console_server, agent.token, {"user": "mallory"})
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    assert agent_row(engine, agent.id) == seen  # a refused beat records nothing
    assert beat(console_server, "lga_" + secrets.token_urlsafe(32), {}).status_code == 401
    no_token = http().post(f"{console_server.url}/api/v1/agents/heartbeat", json={}, timeout=30)
    assert no_token.status_code == 401


@pytest.mark.parametrize("body", [b'{"user": ""}', b'{"user": 5}', b"[1, 2]", b'{"user": "a\\u0000b"}', b"{not json",
                                  b'{"agent_version": "' + b"v" * 65 + b'"}'])
def test_malformed_beats_get_422_and_record_nothing(console_server: ConsoleServer, engine: Engine, new_agent,
                                                    body: bytes) -> None:
    agent = new_agent()
    seen = agent_row(engine, agent.id)
    reply = http().post(f"{console_server.url}/api/v1/agents/heartbeat", content=body, timeout=30,
                        headers={**agent.headers, "Content-Type": "application/json"})
    assert reply.status_code == 422, reply.text
    assert reply.json()["detail"][0]["loc"][0] == "body"
    assert agent_row(engine, agent.id) == seen


@pytest.mark.parametrize("body", [b"", b"null", b"{}"])
def test_an_empty_beat_is_a_plain_beat(console_server: ConsoleServer, new_agent, body: bytes) -> None:
    agent = new_agent()
    reply = http().post(f"{console_server.url}/api/v1/agents/heartbeat", content=body, headers=agent.headers,
                        timeout=30)
    assert reply.status_code == 200 and reply.json()["agent_id"] == agent.id
