"""Password guessing is throttled per username (and per address), in the database, on both kinds."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from console import ratelimit
from console.db import make_engine
from console.migration import prepare_database
from console.tables import AuditEntry
from tests.console.api import PASSWORD, bearer, http
from tests.console.conftest import Staff


def _new_person(staff: Staff) -> str:
    name = f"guessed-{secrets.token_hex(3)}"
    response = http().post(f"{staff.server.url}/api/v1/users", headers=staff.headers("admin"),
                           json={"username": name, "password": PASSWORD, "role": "analyst"})
    assert response.status_code == 201, response.text
    return name


def _login(staff: Staff, username: str, password: str) -> tuple[int, dict[str, str], dict[str, object]]:
    response = http().post(f"{staff.server.url}/api/v1/auth/login", json={"username": username, "password": password})
    http().cookies.clear()
    return response.status_code, dict(response.headers), response.json()


def test_five_wrong_passwords_lock_that_username_with_retry_after(staff: Staff) -> None:
    victim, bystander = _new_person(staff), _new_person(staff)
    assert [_login(staff, victim, f"wrong-{i}-guess")[0] for i in range(5)] == [401] * 5

    status, headers, body = _login(staff, victim, PASSWORD)  # even the right password waits now
    assert status == 429, body
    assert 1 <= int(headers["retry-after"]) <= 900
    assert victim in str(body["detail"]) and PASSWORD not in str(body)

    assert _login(staff, bystander, PASSWORD)[0] == 200  # the lock is per username

    audit = http().get(f"{staff.server.url}/api/v1/audit", headers=staff.headers("auditor"), params={"limit": 500})
    assert audit.status_code == 200, audit.text
    actions = [(row["actor"], row["action"]) for row in audit.json()]
    assert actions.count((victim, "login_failed")) == 5 and (victim, "login_throttled") in actions


def test_a_successful_login_clears_earlier_failures(staff: Staff) -> None:
    person = _new_person(staff)
    for round_ in range(2):  # 4 + 4 failures, with a success between, never locks
        assert [_login(staff, person, f"wrong-{round_}-{i}")[0] for i in range(4)] == [401] * 4
        status, _, body = _login(staff, person, PASSWORD)
        assert status == 200, body
        assert http().get(f"{staff.server.url}/api/v1/auth/me", headers=bearer(str(body["token"]))).status_code == 200


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_lock_slides_with_the_window_and_counts_addresses(kind: str, tmp_path) -> None:
    from tests.fixtures.consoles import create_pg_database, drop_pg_database

    url = f"sqlite:///{tmp_path / 'r.db'}" if kind == "sqlite" else create_pg_database()
    limits = ratelimit.LoginLimits(window_seconds=600, per_address=3, per_username=5)
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    try:
        engine = make_engine(url)
        prepare_database(engine)
        with Session(engine) as session:
            for minutes, address in [(9, "10.0.0.1"), (8, "10.0.0.1"), (2, "10.0.0.1"), (1, "10.0.0.2")]:
                session.add(AuditEntry(actor="bob", action="login_failed", remote_addr=address,
                                       ts=now - timedelta(minutes=minutes)))
            session.add(AuditEntry(actor="bob", action="login_throttled", remote_addr="10.0.0.1", ts=now))
            session.commit()
            # three from 10.0.0.1: locked there until the oldest (9 min ago) leaves the 10-min window
            assert ratelimit.retry_after(session, "bob", "10.0.0.1", limits, now) == 60
            assert ratelimit.retry_after(session, "bob", "10.0.0.2", limits, now) is None
            assert ratelimit.retry_after(session, "bob", "10.0.0.1", limits, now + timedelta(seconds=61)) is None
            assert ratelimit.retry_after(session, "alice", "10.0.0.1", limits, now) is None
            # a fifth failure from anywhere locks the username everywhere
            session.add(AuditEntry(actor="bob", action="login_failed", remote_addr="10.0.0.3", ts=now))
            session.commit()
            assert ratelimit.retry_after(session, "bob", "10.0.0.9", limits, now) == 60
            # a successful login resets the count
            session.add(AuditEntry(actor="bob", action="login", remote_addr="10.0.0.1",
                                   ts=now + timedelta(seconds=1)))
            session.commit()
            assert ratelimit.retry_after(session, "bob", "10.0.0.1", limits, now + timedelta(seconds=2)) is None
        engine.dispose()
    finally:
        if kind == "postgres":
            drop_pg_database(url)
