"""Synthetic events for the fault test and the benchmark, sent through the service's own socket.

Event ids derive from a prefix and a sequence number, so a batch resent after the service died
carries the same ids and can only ever be stored once.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from agent.events import now_rfc3339
from agent.ipc import IpcClient, IpcError
from agent.state import StateDir

SEVERITIES = ("info", "low", "medium", "high")
NAMESPACE = uuid.UUID("6f1d2a36-8e9b-4a51-9d59-2f0b7a1c0e11")


def synthetic_event(prefix: str, number: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(NAMESPACE, f"{prefix}:{number}")), "ts": now_rfc3339(time.time()),
        "channel": "removable_media", "action": "audit", "severity": SEVERITIES[number % len(SEVERITIES)],
        "detectors": [{"id": "email", "count": 1 + number % 3}], "synthetic": True, "sequence": number,
    }


def inject_events(state: StateDir, count: int, *, batch: int, prefix: str, pause: float = 0.0,
                  patience: float = 120.0) -> int:
    """Send `count` events; returns how many the service confirmed, raises IpcError when it stays away."""
    client: IpcClient | None = None
    sent = 0
    deadline = time.monotonic() + patience
    while sent < count:
        events = [synthetic_event(prefix, n) for n in range(sent, min(count, sent + batch))]
        try:
            client = client or IpcClient(state.socket, timeout=30)
            reply = client.request({"op": "events", "events": events})
            if not reply.get("ok"):
                raise IpcError(f"the service refused the events: {reply.get('error')}")
        except IpcError:
            if client is not None:
                client.close()
            client = None
            if time.monotonic() > deadline:
                raise IpcError(f"gave up after {sent} events: the service is not reachable") from None
            time.sleep(0.1)
            continue
        sent += len(events)
        deadline = time.monotonic() + patience
        time.sleep(pause)
    return sent
