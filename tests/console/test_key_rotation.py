"""Policy-signing key rotation on both databases, on a console of its own (the key is global)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agent.policysync import verify_policy
from console.signing import verify_text
from tests.console.api import PASSWORD, bearer, cli, enroll, enroll_token, http, login
from tests.fixtures.consoles import drop_pg_database, make_database_url, start_console, stop_console


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_rotation_re_signs_policies_and_chains_old_keys_to_the_new_one(kind: str, tmp_path) -> None:
    db_url = make_database_url(kind, tmp_path)
    server = start_console(db_url, kind, tmp_path)
    try:
        agent = enroll(server.url, enroll_token(db_url, "--zone", "high"))
        headers = bearer(str(agent["agent_token"]))
        first = http().get(f"{server.url}/api/v1/agents/policy", headers=headers)
        assert first.status_code == 200 and first.json()["key_chain"] == []
        key0 = str(agent["policy_public_key"])

        for _ in range(2):  # two rotations: an agent enrolled before both still gets there
            result = cli("rotate-keys", "--db", db_url, "--only", "policy-key")
            assert result.returncode == 0 and "re-signed" in result.stderr, result.stderr
        stale = http().get(f"{server.url}/api/v1/agents/policy", headers={**headers, "If-None-Match": first.headers["etag"]})
        assert stale.status_code == 200  # the ETag names the signing key: a re-signed policy is fetched again
        body = stale.json()
        assert body["version"] == first.json()["version"] and body["public_key"] != key0
        assert [link["from"] for link in body["key_chain"]][0] == key0 and len(body["key_chain"]) == 2
        assert not verify_text(key0, body["signature"], body["policy"])  # the old key did not sign it...
        pinned = Ed25519PublicKey.from_public_bytes(base64.b64decode(key0))
        signed = verify_policy(body, pinned)  # ...but endorsed the key that did
        assert base64.b64encode(signed.signer).decode() == body["public_key"]

        late = enroll(server.url, enroll_token(db_url, "--zone", "high"), hostname="pc-late")
        assert late["policy_public_key"] == body["public_key"]  # new agents pin the newest key

        admin = "rotator"
        cli("createadmin", "--db", db_url, "--username", admin, "--password-stdin", stdin=PASSWORD + "\n")
        zone = http().get(f"{server.url}/api/v1/zones/high/policy", headers=bearer(login(server.url, admin)))
        assert zone.status_code == 200 and zone.json()["key_chain"] == body["key_chain"]
    finally:
        stop_console(server)
        if kind == "postgres":
            drop_pg_database(db_url)
