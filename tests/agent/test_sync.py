"""Console sync with a scripted console (the pure logic; the real console is in the other tests):
batching, poison events, spool-overflow reports, and refusing a badly signed policy."""

from __future__ import annotations

import base64
import pathlib
import threading
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.client import ConsoleError, PolicyResponse
from agent.config import ConfigError, SyncConfig, load_config, parse_config
from agent.events import new_event
from agent.outbox import Outbox
from agent.policystore import PolicyStore
from agent.policysync import decode_key
from agent.ports import SystemClock
from agent.spool import Spool
from agent.state import StateDir
from agent.sync import Syncer
from rules.policy import default_policy_text


class ScriptedConsole:
    def __init__(self, policy: PolicyResponse, *, poison: set[str] = frozenset(), down: int = 0) -> None:
        self.policy, self.poison, self.down = policy, poison, down
        self.batches: list[list[str]] = []
        self.beats = 0

    def heartbeat(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.beats += 1
        return {"status": "ok"}

    def fetch_policy(self, etag: str | None) -> PolicyResponse:
        return self.policy

    def fetch_marks(self, from_slot: int, count: int) -> dict[str, Any]:
        return {"slot_seconds": 600, "marks": []}

    def send_events(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        if self.down:
            self.down -= 1
            raise ConsoleError("connection refused")
        if self.poison & {e["id"] for e in events}:
            raise ConsoleError("HTTP 422", status=422, retry=False)
        self.batches.append([e["id"] for e in events])
        return {"accepted": len(events), "duplicates": 0}


def _signed(key: Ed25519PrivateKey, text: str) -> PolicyResponse:
    body = {"policy": text, "signature": base64.b64encode(key.sign(text.encode())).decode(), "zone": "high",
            "version": 2}
    return PolicyResponse(body, '"high-2"')


def _syncer(tmp_path: pathlib.Path, console: ScriptedConsole, key: Ed25519PrivateKey, *, max_events: int = 1000):
    state = StateDir.open(tmp_path / "state")
    spool = Spool(state.spool, max_events=max_events)
    outbox = Outbox(spool, threading.Event())
    public = base64.b64encode(key.public_key().public_bytes_raw()).decode()
    policies = PolicyStore(state, decode_key(public), fallback_zone="medium")
    syncer = Syncer(console, spool, outbox, policies, SyncConfig(batch_size=10), SystemClock(),  # type: ignore[arg-type]
                    heartbeat_body=dict, on_policy=lambda: None, marks=lambda client: None)
    return syncer, spool, policies, state


def test_delivery_batches_skips_a_poison_event_and_keeps_the_rest(tmp_path: pathlib.Path) -> None:
    key = Ed25519PrivateKey.generate()
    events = [new_event("clipboard", "audit", timestamp=0, n=i) for i in range(25)]
    console = ScriptedConsole(_signed(key, default_policy_text("high")), poison={events[12]["id"]}, down=1)
    syncer, spool, _, _ = _syncer(tmp_path, console, key)
    spool.add(events)
    with pytest.raises(ConsoleError):
        syncer.step()  # console down: nothing lost
    assert spool.depth() == 25
    syncer.step()
    delivered = [i for batch in console.batches for i in batch]
    assert sorted(delivered) == sorted(e["id"] for e in events if e is not events[12])
    assert spool.depth() == 0 and spool.counters()["rejected"] == 1 and console.beats == 1


def test_spool_overflow_is_reported_to_the_console(tmp_path: pathlib.Path) -> None:
    key = Ed25519PrivateKey.generate()
    console = ScriptedConsole(_signed(key, default_policy_text("high")))
    syncer, spool, _, _ = _syncer(tmp_path, console, key, max_events=5)
    spool.add([new_event("clipboard", "audit", timestamp=0, severity="low", n=i) for i in range(8)])
    syncer.deliver()
    sent = [e for e in spool.batch(100)]
    assert sent == []
    reports = [i for batch in console.batches for i in batch]
    assert len(reports) == 6  # 5 kept events plus the report of the 3 dropped
    assert spool.unreported_drops() == {}


def test_a_badly_signed_policy_is_refused_once_and_the_good_one_kept(tmp_path: pathlib.Path) -> None:
    key = Ed25519PrivateKey.generate()
    console = ScriptedConsole(_signed(key, default_policy_text("high")))
    syncer, spool, policies, state = _syncer(tmp_path, console, key)
    syncer.sync_policy()
    assert policies.active.zone == "high" and policies.active.source == "console"
    assert state.policy.exists()
    console.policy = _signed(Ed25519PrivateKey.generate(), default_policy_text("low"))
    syncer.sync_policy()
    syncer.sync_policy()
    assert policies.active.zone == "high"
    rejected = [e for e in spool.batch(100) if e.get("kind") == "policy_rejected"]
    assert len(rejected) == 1 and "does not verify" in rejected[0]["error"]


def test_the_shipped_example_config_parses_and_zones_are_checked() -> None:
    example = pathlib.Path(__file__).parents[2] / "agent" / "agent.example.toml"
    assert load_config(example).policy.fallback_zone == "medium"
    with pytest.raises(ConfigError, match="fallback_zone"):
        parse_config({"policy": {"fallback_zone": "secret"}})
