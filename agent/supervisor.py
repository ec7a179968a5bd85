"""The supervisor: starts the session parts, restarts a dead one, and reports every restart."""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field

from agent.events import agent_event
from agent.outbox import Outbox
from agent.ports import Clock

log = logging.getLogger(__name__)
CRASH_WINDOW_SECONDS = 60.0
MAX_DELAY_SECONDS = 30.0


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    starts: list[float] = field(default_factory=list)
    restart_at: float | None = None


def session_children(state_dir: str, *, overlay: bool, session: bool) -> tuple[list[Child], list[str]]:
    """The session parts to run here, and notes on the ones that are skipped."""
    children, notes = [], []
    if not os.environ.get("DISPLAY"):
        return [], ["no DISPLAY: the session parts (clipboard, notices, overlay) are not started"]
    if session:
        children.append(Child("session", [sys.executable, "-m", "agent.session", "--state-dir", state_dir]))
    if overlay:
        if importlib.util.find_spec("agent.session.overlay") is None:
            notes.append("agent.session.overlay is not built yet: the overlay is not started")
        else:
            children.append(Child("overlay", [sys.executable, "-m", "agent.session.overlay", "--state-dir", state_dir]))
    return children, notes


class Supervisor:
    def __init__(self, children: list[Child], outbox: Outbox, clock: Clock, *, delay: float, log_path: str) -> None:
        self.children, self.outbox, self.clock, self.delay, self.log_path = children, outbox, clock, delay, log_path

    def start(self, child: Child) -> None:
        with open(self.log_path, "ab") as out:
            child.process = subprocess.Popen(child.argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        now = self.clock.monotonic()
        child.starts = [t for t in child.starts if now - t < CRASH_WINDOW_SECONDS] + [now]
        child.restart_at = None

    def run(self, stop: threading.Event) -> None:
        for child in self.children:
            self.start(child)
        while not stop.wait(0.2):
            for child in self.children:
                self._check(child)
        self.stop_all()

    def _check(self, child: Child) -> None:
        now = self.clock.monotonic()
        if child.process is not None and child.process.poll() is not None:
            code = child.process.returncode
            child.process = None
            crashes = len(child.starts)
            # The first crash in a minute is restarted at once (the overlay's screen gap must stay
            # under 2 s); repeated crashes back off exponentially.
            delay = 0.0 if crashes <= 1 else min(MAX_DELAY_SECONDS, self.delay * 2 ** (crashes - 2))
            child.restart_at = now + delay
            self.outbox.record(agent_event("session_part_died", timestamp=self.clock.time(), severity="high",
                                           part=child.name, exit_code=code, restart_in_seconds=round(delay, 2),
                                           crashes_last_minute=crashes))
            log.warning("%s exited with %s; restarting in %.1f s", child.name, code, delay)
        elif child.process is None and child.restart_at is not None and now >= child.restart_at:
            self.start(child)

    def stop_all(self) -> None:
        for child in self.children:
            if child.process is not None and child.process.poll() is None:
                child.process.terminate()
        for child in self.children:
            if child.process is not None:
                try:
                    child.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    child.process.kill()

    def pids(self) -> list[int]:
        return [c.process.pid for c in self.children if c.process is not None and c.process.poll() is None]
