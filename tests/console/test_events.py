"""Event search: filters, cursor pagination that never skips or repeats, retention pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.console.api import PASSWORD, bearer, cli, enroll, enroll_token, http, login, make_events
from tests.fixtures.consoles import (
    ConsoleServer,
    drop_pg_database,
    make_database_url,
    start_console,
    stop_console,
)


def _post(url: str, agent, events: list[dict]) -> dict:
    reply = http().post(f"{url}/api/v1/events", headers=agent.headers, json={"events": events})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def _all_pages(url: str, headers: dict[str, str], **params: object) -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = http().get(f"{url}/api/v1/events", params=query, headers=headers).json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items
        assert pages < 100


def test_cursor_pages_cover_everything_once_in_order(console_server: ConsoleServer, staff, new_agent) -> None:
    url, agent = console_server.url, new_agent("pager")
    same_instant = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    events = make_events(180) + [dict(e, ts=same_instant.isoformat()) for e in make_events(70)]
    assert _post(url, agent, events)["accepted"] == 250
    items = _all_pages(url, staff.headers("auditor"), agent_id=agent.id, limit=40)
    assert sorted(i["id"] for i in items) == sorted(e["id"] for e in events)
    keys = [(i["ts"], i["id"]) for i in items]
    assert keys == sorted(keys, reverse=True)


def test_filters(console_server: ConsoleServer, staff, new_agent) -> None:
    url, agent = console_server.url, new_agent("filters", user="erin")
    base = datetime(2026, 5, 1, tzinfo=UTC)
    _post(url, agent, make_events(5, action="block", channel="clipboard", ts=base)
          + make_events(7, action="allow", channel="print", ts=base + timedelta(days=2)))
    headers = staff.headers("analyst")

    def count(**params: object) -> int:
        return len(_all_pages(url, headers, agent_id=agent.id, limit=1000, **params))

    assert count() == 12
    assert count(action="block") == 5 and count(channel="print") == 7
    assert count(channel="clipboard", action="allow") == 0
    assert count(since=(base + timedelta(days=1)).isoformat()) == 7
    assert count(until=(base + timedelta(days=1)).isoformat()) == 5
    assert count(user="erin") == 12
    bad = http().get(f"{url}/api/v1/events", params={"cursor": "garbage!"}, headers=headers)
    assert bad.status_code == 422
    assert http().get(f"{url}/api/v1/events", params={"limit": 0}, headers=headers).status_code == 422
    assert http().get(f"{url}/api/v1/events", params={"channel": "nope"}, headers=headers).status_code == 422


def test_retention_prunes_only_old_events(console_server: ConsoleServer, tmp_path) -> None:
    """On a database of its own whose server's periodic maintenance (which prunes too) is pushed
    out of the way, so that what each prune deleted is exactly known."""
    db_url = make_database_url(console_server.kind, tmp_path)
    server = start_console(db_url, console_server.kind, tmp_path, env={"LEAKGUARD_MAINTENANCE_SECONDS": "3600"})
    try:
        url = server.url
        cli("createadmin", "--db", db_url, "--username", "pruner", "--password-stdin", stdin=PASSWORD + "\n")
        admin = bearer(login(url, "pruner"))
        agent = enroll(url, enroll_token(db_url), hostname="retention")
        agent_headers = bearer(str(agent["agent_token"]))
        old = make_events(30, ts=datetime.now(UTC) - timedelta(days=400))
        recent = make_events(3)
        assert http().post(f"{url}/api/v1/events", headers=agent_headers, json={"events": old + recent}).status_code == 200
        reply = http().post(f"{url}/api/v1/events/prune", headers=admin)
        assert reply.status_code == 200 and reply.json() == {"deleted": 30, "retention_days": 365}, reply.text
        left = _all_pages(url, admin, agent_id=agent["agent_id"], limit=1000)
        assert sorted(i["id"] for i in left) == sorted(e["id"] for e in recent)
        # The CLI prunes with an explicit retention, too.
        ancient = make_events(4, ts=datetime.now(UTC) - timedelta(days=500))
        assert http().post(f"{url}/api/v1/events", headers=agent_headers, json={"events": ancient}).status_code == 200
        result = cli("prune", "--db", db_url, "--days", "450")
        assert result.returncode == 0 and "deleted 4 events" in result.stderr, result.stderr
        assert sorted(i["id"] for i in _all_pages(url, admin, agent_id=agent["agent_id"], limit=1000)) == \
            sorted(e["id"] for e in recent)
    finally:
        stop_console(server)
        if console_server.kind == "postgres":
            drop_pg_database(db_url)
