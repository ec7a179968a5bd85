"""Authorization matrix: every role (and agents, and nobody) against every kind of endpoint."""

from __future__ import annotations

import httpx
import pytest

from tests.console.api import http, make_events
from tests.fixtures.consoles import ConsoleServer

READERS = {"admin", "analyst", "auditor"}
INVESTIGATORS = {"admin", "analyst"}
ADMIN = {"admin"}
AGENT = {"agent"}
NOBODY_ID = "00000000-0000-0000-0000-000000000000"

#: (method, path, json body, who may call it)
MATRIX: list[tuple[str, str, object, set[str]]] = [
    ("GET", "/api/v1/events", None, READERS),
    ("POST", "/api/v1/events", {"events": make_events(1)}, AGENT),
    ("POST", "/api/v1/agents/heartbeat", {}, AGENT),
    ("GET", "/api/v1/agents/policy", None, AGENT),
    ("GET", "/api/v1/agents/marks", None, AGENT),
    ("GET", "/api/v1/agents", None, READERS),
    ("GET", f"/api/v1/agents/{NOBODY_ID}", None, READERS),
    ("PATCH", f"/api/v1/agents/{NOBODY_ID}", {"zone": "high"}, ADMIN),
    ("POST", f"/api/v1/agents/{NOBODY_ID}/revoke", None, ADMIN),
    ("POST", "/api/v1/enrollment-tokens", {"max_uses": 1}, ADMIN),
    ("GET", "/api/v1/enrollment-tokens", None, ADMIN),
    ("POST", "/api/v1/enrollment-tokens/999999/revoke", None, ADMIN),
    ("GET", "/api/v1/users", None, ADMIN),
    ("POST", "/api/v1/users", {"username": "x", "password": "short", "role": "analyst"}, ADMIN),
    ("GET", "/api/v1/audit", None, {"admin", "auditor"}),
    ("GET", "/api/v1/zones", None, READERS),
    ("GET", "/api/v1/zone-rules", None, READERS),
    ("POST", "/api/v1/zone-rules", {"kind": "tag", "value": "matrix", "zone": "low"}, ADMIN),
    ("DELETE", "/api/v1/zone-rules/999999", None, ADMIN),
    ("PUT", "/api/v1/zones/matrix/policy", {"policy": "not: a policy"}, ADMIN),
    ("GET", "/api/v1/zones/medium/policy/versions", None, READERS),
    ("POST", "/api/v1/trace", None, INVESTIGATORS),
    ("POST", "/api/v1/marks/resolve", {"mark": "0123456789abcdef"}, INVESTIGATORS),
    ("GET", "/api/v1/cases", None, READERS),
    ("GET", "/api/v1/cases/999999/report.html", None, READERS),
    ("GET", "/api/v1/cases/999999/report.pdf", None, READERS),
    ("POST", "/api/v1/cases/999999/close", None, INVESTIGATORS),
    ("GET", "/api/v1/alerts", None, READERS),
    ("POST", "/api/v1/alerts/999999/acknowledge", None, INVESTIGATORS),
    ("GET", "/api/v1/alert-rules", None, READERS),
    ("POST", "/api/v1/alert-rules", {"name": "m", "kind": "agent_silent", "enabled": False}, ADMIN),
    ("POST", "/api/v1/alerts/evaluate", None, ADMIN),
    ("POST", "/api/v1/events/prune", None, ADMIN),
    ("POST", "/api/v1/tokens", {"name": "matrix"}, READERS),
    ("GET", "/api/v1/auth/me", None, READERS),
    ("GET", "/metrics", None, ADMIN),
]
CALLERS = ("admin", "analyst", "auditor", "agent", "anonymous")


@pytest.fixture(scope="module")
def caller_headers(staff, console_server: ConsoleServer, shared_enroll_token: str) -> dict[str, dict[str, str]]:
    from tests.console.api import bearer, enroll

    agent = enroll(console_server.url, shared_enroll_token, hostname="matrix")
    return {"admin": staff.headers("admin"), "analyst": staff.headers("analyst"),
            "auditor": staff.headers("auditor"), "agent": bearer(str(agent["agent_token"])), "anonymous": {}}


@pytest.mark.parametrize(("method", "path", "body", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_role_matrix(console_server: ConsoleServer, caller_headers, method: str, path: str, body: object,
                     allowed: set[str]) -> None:
    results = {}
    for caller in CALLERS:
        kwargs: dict[str, object] = {"json": body} if body is not None else {}
        if path == "/api/v1/trace":
            kwargs = {"files": {"image": ("x.png", b"not an image", "image/png")}}
        if body is not None and path == "/api/v1/events":
            kwargs = {"json": {"events": make_events(1)}}
        reply = http().request(method, console_server.url + path, headers=caller_headers[caller], timeout=60,
                              **kwargs)  # type: ignore[arg-type]
        results[caller] = reply.status_code
    for caller, status in results.items():
        if caller in allowed:
            assert status not in (401, 403) and status < 500, f"{caller} refused or failed: {results}"
        elif caller == "anonymous" or (caller == "agent") != ("agent" in allowed):
            assert status == 401, f"{caller} should be unauthenticated here: {results}"
        else:
            assert status == 403, f"{caller} should be forbidden here: {results}"


def test_agent_posting_events_for_another_agent_is_forbidden(console_server: ConsoleServer, new_agent) -> None:
    mine, other = new_agent("mine"), new_agent("other")
    forged = make_events(3, agent_id=other.id)
    reply = http().post(f"{console_server.url}/api/v1/events", headers=mine.headers, json={"events": forged}, timeout=30)
    assert reply.status_code == 403
    own = make_events(1, agent_id=mine.id)
    assert http().post(f"{console_server.url}/api/v1/events", headers=mine.headers, json={"events": own},
                      timeout=30).json()["accepted"] == 1


def test_wrong_password_and_bad_tokens(console_server: ConsoleServer, staff) -> None:
    url = console_server.url
    wrong = http().post(f"{url}/api/v1/auth/login", json={"username": staff.usernames["admin"], "password": "nope"},
                       timeout=30)
    assert wrong.status_code == 401
    ghost = http().post(f"{url}/api/v1/auth/login", json={"username": "ghost", "password": "nope"}, timeout=30)
    assert ghost.status_code == 401 and ghost.json() == wrong.json()
    for header in ("Bearer lgs_forged", "Basic YWRtaW46YWRtaW4=", "Bearer", "lgs_x"):
        assert http().get(f"{url}/api/v1/events", headers={"Authorization": header}, timeout=30).status_code == 401


def test_logout_ends_the_session_and_cookie_login_works(console_server: ConsoleServer, staff) -> None:
    from tests.console.api import PASSWORD

    with httpx.Client(base_url=console_server.url, timeout=30) as browser:
        reply = browser.post("/api/v1/auth/login", json={"username": staff.usernames["auditor"], "password": PASSWORD})
        assert "leakguard_session" in reply.cookies
        assert browser.get("/api/v1/auth/me").json()["role"] == "auditor"
        assert browser.post("/api/v1/auth/logout").status_code == 204
        browser.cookies.clear()
        token = reply.json()["token"]
        assert browser.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_api_token_for_scripts_from_the_cli(console_server: ConsoleServer, staff) -> None:
    from tests.console.api import cli

    result = cli("token", "create", "--db", console_server.db_url, "--username", staff.usernames["analyst"],
                 "--name", "nightly export", "--days", "30")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("lgp_")
    reply = http().get(f"{console_server.url}/api/v1/events", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert reply.status_code == 200
    missing = cli("token", "create", "--db", console_server.db_url, "--username", "nobody", "--name", "x")
    assert missing.returncode == 2 and "no user" in missing.stderr
