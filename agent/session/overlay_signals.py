"""Screenshot signals of the X11 overlay: the PrintScreen key (RECORD, via the platform backend)
and capture tools starting (`/proc`), appended to `session-events.jsonl` and handed to the service."""

from __future__ import annotations

import datetime as dt
import logging
import pathlib
import time
from typing import Any

from agent.session.overlay_capture import CaptureToolWatch
from agent.session.overlay_events import (
    SENDING_FILE,
    SESSION_EVENTS_FILE,
    append_event,
    deliver_events,
    screen_capture_event,
)

log = logging.getLogger(__name__)


class ScreenshotSignals:
    def __init__(self, state_dir: pathlib.Path, platform: Any) -> None:
        self.state_dir, self.platform = state_dir, platform
        self._capture_tools = CaptureToolWatch(since=time.time())
        self._last_print = 0.0
        self._pending_events = self._waiting()

    def _waiting(self) -> bool:
        return any((self.state_dir / name).exists() for name in (SESSION_EVENTS_FILE, SENDING_FILE))

    def poll_capture_tools(self) -> None:
        for tool in self._capture_tools.poll():
            self.report_capture("capture_tool", tool)

    def report_capture(self, trigger: str, tool: str | None = None) -> None:
        if trigger == "print_key":
            if time.monotonic() - self._last_print < 1.0:  # key repeat: one event per press burst
                return
            self._last_print = time.monotonic()
        title = self.platform.active_window_title()
        event = screen_capture_event(trigger, window_title=title, tool=tool, now=dt.datetime.now(dt.UTC))
        append_event(self.state_dir, event)
        log.info("screen capture signal: %s %s (window %r)", trigger, tool or "", title)
        self._pending_events = True
        self.deliver_if_pending()

    def deliver_if_pending(self) -> None:
        if not self._pending_events:
            return
        delivered = deliver_events(self.state_dir)
        if delivered:
            log.info("handed %d event(s) to the agent service", delivered)
        self._pending_events = self._waiting()
