"""Rotating the console's policy-signing key: agents follow the endorsement chain and ratchet.

The pure chain logic is tested with generated keys; the life cycle with a real console, the real
`leakguard console rotate-keys` and a real agent process.
"""

from __future__ import annotations

import base64
import json
import pathlib
from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.policysync import ENDORSEMENT_CONTEXT, PolicyVerifyError, verify_policy
from tests.agent.harness import AgentProcess, ConsoleProcess, cli, console_admin, wait_for, write_config
from tests.fixtures.realparts import free_port


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes_raw()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _link(old: Ed25519PrivateKey, new: Ed25519PrivateKey, signer: Ed25519PrivateKey | None = None) -> dict[str, str]:
    message = ENDORSEMENT_CONTEXT + _raw(old) + _raw(new)
    return {"from": _b64(_raw(old)), "to": _b64(_raw(new)), "signature": _b64((signer or old).sign(message))}


def _policy(signer: Ed25519PrivateKey, chain: list[dict[str, str]], text: str = "version: 1\n") -> dict[str, object]:
    return {"policy": text, "signature": _b64(signer.sign(text.encode())), "key_chain": chain}


def test_chain_leads_from_any_earlier_key_to_the_newest() -> None:
    k0, k1, k2 = (Ed25519PrivateKey.generate() for _ in range(3))
    body = _policy(k2, [_link(k0, k1), _link(k1, k2)])
    for pinned in (k0, k1, k2):
        assert verify_policy(body, pinned.public_key()).signer == _raw(k2)
    assert verify_policy(_policy(k0, []), k0.public_key()).signer == _raw(k0)  # no rotation: nothing changes


def test_forged_or_foreign_links_are_never_followed() -> None:
    k0, k1, mallory = (Ed25519PrivateKey.generate() for _ in range(3))
    # a link that claims k0 endorsed mallory's key, but mallory signed it
    with pytest.raises(PolicyVerifyError, match="endorsement does not verify"):
        verify_policy(_policy(mallory, [_link(k0, mallory, signer=mallory)]), k0.public_key())
    # a genuine-looking link from a key this agent never trusted is skipped: mallory's policy fails
    with pytest.raises(PolicyVerifyError, match="does not verify with the console's key"):
        verify_policy(_policy(mallory, [_link(k1, mallory)]), k0.public_key())
    # after the ratchet to k1, a replayed policy signed by the old key no longer verifies
    with pytest.raises(PolicyVerifyError):
        verify_policy(_policy(k0, [_link(k0, k1)]), k1.public_key())
    for bad in ("not a list", [{"from": 1}], [{"from": "AA==", "to": "AA==", "signature": "AA=="}]):
        with pytest.raises(PolicyVerifyError):
            verify_policy({**_policy(k0, []), "key_chain": bad}, k0.public_key())


@pytest.fixture()
def rotation_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleProcess]:
    """A console of our own: rotating its key must not touch other tests' consoles."""
    work = tmp_path_factory.mktemp("rotation-console")
    console = ConsoleProcess(f"sqlite:///{work / 'console.db'}", free_port(), work / "console.log")
    console.start()
    yield console
    console.stop()


def test_agent_follows_a_rotation_pins_the_new_key_and_keeps_it_after_restart(
        tmp_path: pathlib.Path, rotation_console: ConsoleProcess) -> None:
    admin = console_admin(rotation_console)
    headers = {"Authorization": f"Bearer {admin.token}"}
    url = f"{rotation_console.url}/api/v1/zones/medium/policy"
    agent = AgentProcess(tmp_path / "state", write_config(tmp_path / "agent.toml"))
    agent_id = agent.enroll(rotation_console.url, admin.enroll_token("medium"))
    credentials = agent.state_dir / "credentials.json"
    first_key = json.loads(credentials.read_text())["policy_key"]
    agent.start()
    try:
        cli("console", "rotate-keys", "--db", rotation_console.db_url, "--only", "policy-key")
        served = httpx.get(url, headers=headers, timeout=30).json()
        new_key = served["public_key"]
        assert new_key != first_key and [link["to"] for link in served["key_chain"]] == [new_key]
        text = served["policy"].split("\n", 1)[1] + "\n# published after the key rotation\n"
        put = httpx.put(url, json={"policy": text}, headers=headers, timeout=30)
        assert put.status_code == 201, put.text
        version = put.json()["version"]
        wait_for(lambda: (agent.status() or {}).get("policy", {}).get("version") == version, timeout=30,
                 what=f"the agent to run the policy signed with the new key\n{agent.log()}")
        assert json.loads(credentials.read_text())["policy_key"] == new_key  # ratcheted and persisted
    finally:
        agent.stop()
    agent.start()  # the persisted policy verifies with the pinned new key at boot
    try:
        assert agent.status()["policy"]["source"] in ("persisted", "console")
        assert not [e for e in admin.events(agent_id, channel="agent") if e["details"].get("kind") == "policy_rejected"]
    finally:
        agent.stop()
