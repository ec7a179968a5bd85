"""Enrollment: trade a one-time token for this agent's identity, token and the console's policy key."""

from __future__ import annotations

import getpass
import platform
import socket
import time
from dataclasses import dataclass
from typing import Any

from agent.client import ConsoleClient, ConsoleError, enroll
from agent.policysync import PolicyVerifyError, decode_key, verify_policy
from agent.state import StateDir, read_json, write_json
from leakguard import __version__

KEY_FIELDS = ("policy_public_key", "policy_key", "public_key", "signing_key")


@dataclass(frozen=True)
class Credentials:
    console_url: str
    agent_id: str
    agent_token: str
    policy_key: str | None
    device: int | None
    zone: str | None


def host_facts() -> dict[str, str]:
    return {"hostname": socket.gethostname(), "os": f"{platform.system()} {platform.release()}",
            "agent_version": __version__}


def enroll_agent(state: StateDir, console_url: str, token: str, *, user: str | None = None) -> Credentials:
    answer = enroll(console_url, {"enrollment_token": token, **host_facts(), "user": user or getpass.getuser()})
    key = next((answer[name] for name in KEY_FIELDS if isinstance(answer.get(name), str)), None)
    creds = Credentials(console_url.rstrip("/"), str(answer["agent_id"]), str(answer["agent_token"]), key,
                        answer.get("device"), answer.get("zone"))
    record: dict[str, Any] = {**vars(creds), "enrolled_at": time.time()}
    write_json(state.credentials, record, mode=0o600)
    fetch_first_policy(state, creds)
    return creds


def fetch_first_policy(state: StateDir, creds: Credentials) -> None:
    """Fetch, verify and persist the zone policy now, so the very first boot enforces it."""
    if creds.policy_key is None:
        return
    client = ConsoleClient(creds.console_url, creds.agent_token)
    try:
        answer = client.fetch_policy(None)
        if answer.body is not None:
            verify_policy(answer.body, decode_key(creds.policy_key), etag=answer.etag)
            write_json(state.policy, {"body": answer.body, "etag": answer.etag}, mode=0o600)
    except (ConsoleError, PolicyVerifyError):
        pass  # the service retries; until then the fallback zone policy applies
    finally:
        client.close()


def load_credentials(state: StateDir) -> Credentials | None:
    raw = read_json(state.credentials)
    if not isinstance(raw, dict) or not {"console_url", "agent_id", "agent_token"} <= raw.keys():
        return None
    return Credentials(raw["console_url"], raw["agent_id"], raw["agent_token"], raw.get("policy_key"),
                       raw.get("device"), raw.get("zone"))
