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


def _finding(detector: str, digest: str) -> dict:
    return {"detector": detector, "level": "high", "basis": ["check digit"], "start": 10, "end": 29,
            "digest": digest, "preview": "4111 **** **** 1111"}


def test_search_by_detector_and_by_a_findings_keyed_hash(console_server: ConsoleServer, staff, new_agent) -> None:
    """Where else did this value go? Events are found by a finding's digest, and by detector (an
    underscore in an id is matched as itself, not as a LIKE wildcard)."""
    url, agent = console_server.url, new_agent("digests")
    card, iban = "a" * 64, "b" * 63 + "c"
    many = [_finding("credit_card", f"{i:064x}") for i in range(20)]  # 20 findings: about 4 KiB of details
    _post(url, agent, make_events(3, findings=[_finding("credit_card", card)])
          + make_events(2, findings=[_finding("iban", iban), _finding("credit_card", card)],
                        detectors=[{"id": "iban", "count": 1}, {"id": "credit_card", "count": 1}])
          + make_events(4, detectors=[{"id": "us_ssn", "count": 1}], sha256=card)
          + make_events(1, detectors=[{"id": "usxssn", "count": 1}], findings=many))
    headers = staff.headers("analyst")

    def ids(**params: object) -> int:
        return len(_all_pages(url, headers, agent_id=agent.id, limit=1000, **params))

    assert ids(digest=card) == 5  # not the four whose file hash happens to be the same hex
    assert ids(digest=iban) == 2 and ids(digest="c" * 64) == 0
    assert ids(digest=f"{19:064x}") == 1
    assert ids(detector="credit_card") == 5 and ids(detector="iban") == 2
    assert ids(detector="us_ssn") == 4 and ids(detector="usxssn") == 1
    for bad in ({"digest": "A" * 64}, {"digest": "abc"}, {"detector": "credit%"}, {"detector": "x" * 65}):
        assert http().get(f"{url}/api/v1/events", params=bad, headers=headers).status_code == 422, bad


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
