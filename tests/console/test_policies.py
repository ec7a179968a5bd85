"""Zone policies over real HTTP: versions, ETag, Ed25519 signatures, zones by group and tag, YAML."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from console.signing import verify_text
from tests.console.api import http
from tests.fixtures.consoles import ConsoleServer

policy_module = pytest.importorskip("rules.policy", reason="the rules engine's policy module is not built yet")


def _fetch(url: str, headers: dict[str, str], etag: str | None = None) -> httpx.Response:
    extra = {"If-None-Match": etag} if etag else {}
    return http().get(f"{url}/api/v1/agents/policy", headers={**headers, **extra}, timeout=30)


def test_agent_policy_is_signed_and_cached_by_etag(console_server: ConsoleServer, new_agent) -> None:
    agent = new_agent()
    first = _fetch(console_server.url, agent.headers)
    assert first.status_code == 200
    body, etag = first.json(), first.headers["ETag"]
    assert body["zone"] == "medium" and body["algorithm"] == "Ed25519"
    assert body["public_key"] == agent.enrollment["policy_public_key"]
    assert verify_text(str(agent.enrollment["policy_public_key"]), body["signature"], body["policy"])
    assert hashlib.sha256(body["policy"].encode()).hexdigest() == body["sha256"]
    assert body["policy"].startswith(f"# leakguard policy zone=medium version={body['version']}\n")
    policy_module.load_policy(body["policy"])
    tampered = body["policy"].replace("block", "allow", 1)
    assert not verify_text(str(agent.enrollment["policy_public_key"]), body["signature"], tampered)
    cached = _fetch(console_server.url, agent.headers, etag)
    assert cached.status_code == 304 and cached.headers["ETag"] == etag and not cached.content


def test_publishing_makes_a_new_signed_version(console_server: ConsoleServer, staff, new_agent) -> None:
    url, admin = console_server.url, staff.headers("admin")
    text = policy_module.default_policy_text("low").replace("name: Default low zone", "name: Lab zone")
    published = http().put(f"{url}/api/v1/zones/lab/policy", json={"policy": text}, headers=admin, timeout=30)
    assert published.status_code == 201, published.text
    assert published.json()["version"] == 1
    second = http().put(f"{url}/api/v1/zones/lab/policy.yaml", content=text.encode(), timeout=30,
                       headers={**admin, "Content-Type": "application/yaml"})
    assert second.status_code == 201 and second.json()["version"] == 2
    agent = new_agent()
    patched = http().patch(f"{url}/api/v1/agents/{agent.id}", json={"zone": "lab"}, headers=admin, timeout=30)
    assert patched.json()["zone"] == "lab"
    served = _fetch(url, agent.headers).json()
    assert (served["zone"], served["version"]) == ("lab", 2)
    exported = http().get(f"{url}/api/v1/zones/lab/policy.yaml", headers=staff.headers("auditor"), timeout=30)
    assert exported.text == text and exported.headers["content-type"].startswith("application/yaml")
    versions = http().get(f"{url}/api/v1/zones/lab/policy/versions", headers=admin, timeout=30).json()
    assert [v["version"] for v in versions] == [2, 1]
    audit = http().get(f"{url}/api/v1/audit", headers=staff.headers("auditor"), timeout=30).json()
    assert any(e["action"] == "policy_publish" and e["target"] == "lab" for e in audit)


@pytest.mark.parametrize("text", ["version: 1\nzone: high\nrules: 7\n", ": : :\n\tnot yaml", "[]", "a" * 10])
def test_invalid_policy_is_refused_with_a_reason(console_server: ConsoleServer, staff, text: str) -> None:
    reply = http().put(f"{console_server.url}/api/v1/zones/broken/policy", json={"policy": text},
                      headers=staff.headers("admin"), timeout=30)
    assert reply.status_code == 422 and reply.json()["detail"]


def test_zone_by_group_and_tag_and_direct(console_server: ConsoleServer, staff, new_agent) -> None:
    url, admin = console_server.url, staff.headers("admin")
    for kind, value, zone in (("group", "finance", "high"), ("tag", "kiosk", "low")):
        rule = http().post(f"{url}/api/v1/zone-rules", json={"kind": kind, "value": value, "zone": zone},
                          headers=admin, timeout=30)
        assert rule.status_code in (201, 409), rule.text
    agent = new_agent()
    assert _zone_after(url, admin, agent.id, {"tags": ["kiosk"]}) == "low"
    assert _zone_after(url, admin, agent.id, {"group": "finance"}) == "high"  # group beats tag
    assert _zone_after(url, admin, agent.id, {"zone": "medium"}) == "medium"  # direct beats group
    assert _zone_after(url, admin, agent.id, {"zone": None, "group": None, "tags": []}) == "medium"  # default
    assert _zone_after(url, admin, agent.id, {"group": "finance"}) == "high"
    assert _fetch(url, agent.headers).json()["zone"] == "high"
    beat = http().post(f"{url}/api/v1/agents/heartbeat", headers=agent.headers, json={}, timeout=30).json()
    assert beat["zone"] == "high" and beat["policy_version"] >= 1


def _zone_after(url: str, admin: dict[str, str], agent_id: str, patch: dict[str, object]) -> str:
    reply = http().patch(f"{url}/api/v1/agents/{agent_id}", json=patch, headers=admin, timeout=30)
    assert reply.status_code == 200, reply.text
    return str(reply.json()["zone"])


def test_enrollment_token_zone_places_the_agent(console_server: ConsoleServer) -> None:
    from tests.console.api import enroll, enroll_token

    token = enroll_token(console_server.db_url, "--zone", "high", "--max-uses", "1")
    body = enroll(console_server.url, token)
    assert body["zone"] == "high"
