"""Events the overlay reports (screenshot signals), handed to the agent service durably.

Each event is first appended to `session-events.jsonl` in the state directory (one line, one
`write` with O_APPEND, fsync'd), then delivered over the service's local socket (`agent.sock`,
request `{"op": "events"}`); only a delivered batch leaves the file. Without a running service the
events wait in the file and go with the next delivery. Each event has its own UUID, so a batch
sent twice (crash between send and delete) is stored once by the service and the console.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import uuid
from typing import Any

SESSION_EVENTS_FILE = "session-events.jsonl"
SENDING_FILE = "session-events.sending.jsonl"
SERVICE_SOCKET = "agent.sock"


def screen_capture_event(
    trigger: str, *, window_title: str | None, tool: str | None = None, now: dt.datetime
) -> dict[str, Any]:
    """`trigger` is `print_key` (the PrintScreen key went down) or `capture_tool` (a tool started)."""
    return {
        "id": str(uuid.uuid4()),
        "ts": now.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "channel": "screen_capture",
        "action": "audit",
        "severity": "low",
        "detectors": [],
        "trigger": trigger,
        "tool": tool,
        "window_title": window_title,
    }


def append_event(state_dir: pathlib.Path, event: dict[str, Any]) -> None:
    line = (json.dumps(event, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(state_dir / SESSION_EVENTS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_events(state_dir: pathlib.Path, name: str = SESSION_EVENTS_FILE) -> list[dict[str, Any]]:
    """Every complete event line; a torn last line (crash mid-write) is skipped, not fatal."""
    path = state_dir / name
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


def deliver_events(state_dir: pathlib.Path, *, timeout: float = 2.0) -> int:
    """Send waiting events to the agent service; returns how many it took (0 when not running)."""
    from agent.ipc import IpcClient, IpcError

    sending, pending = state_dir / SENDING_FILE, state_dir / SESSION_EVENTS_FILE
    if not sending.exists() and not pending.exists():
        return 0
    try:
        client = IpcClient(state_dir / SERVICE_SOCKET, timeout=timeout)
    except IpcError:
        return 0  # the service is not running: the events wait in the file
    try:
        if not sending.exists():
            os.replace(pending, sending)  # events reported from now on start a new file
        events = read_events(state_dir, SENDING_FILE)
        reply = client.request({"op": "events", "events": events}) if events else {"ok": True}
    except (IpcError, OSError, ValueError):
        return 0
    finally:
        client.close()
    if not reply.get("ok"):
        return 0
    sending.unlink(missing_ok=True)
    return len(events)
