"""Agent events as the console's HTTP API v1 expects them (see CONTRACTS.md).

Events carry detector ids, counts and redacted previews, never the matched text.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

CHANNELS = (
    "file_upload", "removable_media", "cloud_sync", "network_share",
    "clipboard", "screen_capture", "print", "agent",
)
ACTIONS = ("allow", "audit", "warn", "block", "quarantine")


@dataclass(frozen=True)
class FileInfo:
    path: str
    name: str
    size: int
    sha256: str | None


@dataclass(frozen=True)
class ProcessInfo:
    pid: int | None
    name: str | None
    exe: str | None = None
    cmdline: tuple[str, ...] = ()
    user: str | None = None


def now_rfc3339(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_event(
    channel: str,
    action: str,
    *,
    timestamp: float,
    severity: str = "info",
    detectors: Iterable[tuple[str, int]] = (),
    **details: Any,
) -> dict[str, Any]:
    """One event with a fresh UUID; `details` are channel-specific fields (file, process, ...)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    event: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "ts": now_rfc3339(timestamp),
        "channel": channel,
        "action": action,
        "severity": severity,
        "detectors": [{"id": name, "count": count} for name, count in detectors],
    }
    event.update({key: _plain(value) for key, value in details.items() if value is not None})
    return event


MAX_STRING = 300


def _plain(value: Any) -> Any:
    """JSON-ready and small: the console keeps at most 4 KB of details per event."""
    if isinstance(value, FileInfo | ProcessInfo):
        value = vars(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value[:32]]
    if isinstance(value, str) and len(value) > MAX_STRING:
        return value[: MAX_STRING - 1] + "…"
    return value


def agent_event(kind: str, *, timestamp: float, severity: str = "medium", **details: Any) -> dict[str, Any]:
    """A tamper-evidence or health event on the `agent` channel (start, stop, restarts, policy)."""
    return new_event("agent", "audit", timestamp=timestamp, severity=severity, kind=kind, **details)


SESSION_CHANNELS = ("screen_capture", "clipboard")


def check_events(events: Any, *, admin: bool) -> str | None:
    """Why a batch of events from the socket is refused, or None."""
    if not isinstance(events, list) or not events or len(events) > 1000:
        return "events must be a list of 1 to 1000 objects"
    for event in events:
        if not isinstance(event, dict):
            return "each event must be an object"
        try:
            uuid.UUID(str(event.get("id")))
        except ValueError:
            return f"event id {event.get('id')!r} is not a UUID"
        if event.get("channel") not in CHANNELS or event.get("action") not in ACTIONS:
            return f"event {event['id']}: unknown channel or action"
        if not admin and event["channel"] not in SESSION_CHANNELS:
            return f"event {event['id']}: a session part may only report {', '.join(SESSION_CHANNELS)}"
    return None
