"""Where the service's channels put what they decide: the spool, the user's screen, the override list."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from agent.ipc import Connection
from agent.spool import Spool

log = logging.getLogger(__name__)
MAX_PENDING_OVERRIDES = 1000


class Outbox:
    def __init__(self, spool: Spool, wake: threading.Event) -> None:
        self.spool = spool
        self._wake = wake
        self._lock = threading.Lock()
        self._sessions: list[Connection] = []
        self._overridable: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.on_record: Callable[[dict[str, Any]], None] | None = None

    def record(self, *events: dict[str, Any]) -> None:
        """Store events durably; returns only once they are in the spool."""
        self.spool.add(events)
        self._wake.set()
        if self.on_record is not None:
            for event in events:
                self.on_record(event)

    def subscribe(self, connection: Connection) -> None:
        with self._lock:
            self._sessions.append(connection)

    def notice(self, title: str, body: str, *, event: dict[str, Any] | None = None, override: bool = False) -> str | None:
        """Tell the user through every connected session part; the reason when nobody was told."""
        message = {"op": "notice", "title": title, "body": body,
                   "event_id": event["id"] if event else None, "override_allowed": override}
        if self.push(message):
            return None
        log.warning("no session part to show the notice: %s: %s", title, body)
        return "no user session is connected"

    def push(self, message: dict[str, Any]) -> bool:
        """Send a message to every connected session part; False when none is connected."""
        with self._lock:
            self._sessions = [s for s in self._sessions if s.push(message)]
            return bool(self._sessions)

    def allow_override(self, event: dict[str, Any], undo: dict[str, Any]) -> None:
        """Remember a blocked event the user may override with a justification."""
        with self._lock:
            self._overridable[event["id"]] = {"event": event, "undo": undo}
            while len(self._overridable) > MAX_PENDING_OVERRIDES:
                self._overridable.popitem(last=False)

    def take_override(self, event_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._overridable.pop(event_id, None)
