"""Mount and unmount notices, and keeping the file channels' watched roots current."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict

from agent.channels.roots import WatchedRoot, compute_roots
from agent.config import ChannelsConfig
from agent.events import new_event
from agent.outbox import Outbox
from agent.ports import Clock, MountTable

log = logging.getLogger(__name__)
RESCAN_SECONDS = 30.0


class MountWatcher:
    def __init__(self, table: MountTable, config: ChannelsConfig, outbox: Outbox, clock: Clock,
                 on_roots: Callable[[list[WatchedRoot]], None], user: Callable[[], str | None]) -> None:
        self.table, self.config, self.outbox, self.clock = table, config, outbox, clock
        self.on_roots, self.user = on_roots, user
        self.roots: list[WatchedRoot] = []

    def refresh(self, *, report: bool) -> None:
        roots = compute_roots(self.table.mounts(), self.table.identify, self.config)
        self.on_roots(roots)  # watch a new mount before anyone hears of it
        if report:
            self._report(self.roots, roots)
        self.roots = roots

    def _report(self, before: list[WatchedRoot], after: list[WatchedRoot]) -> None:
        old = {r.path: r for r in before if r.is_mount_point}
        new = {r.path: r for r in after if r.is_mount_point}
        for kind, changed in (("mounted", [new[p] for p in new.keys() - old.keys()]),
                              ("unmounted", [old[p] for p in old.keys() - new.keys()])):
            for root in changed:
                self.outbox.record(new_event(
                    root.channel, "audit", timestamp=self.clock.time(), severity="info", kind=kind,
                    user=self.user(), destination={"kind": root.channel, "root": root.path, "fstype": root.fstype,
                                                   "source": root.source, "device": asdict(root.identity)},
                ))

    def run(self, stop: threading.Event) -> None:
        """Follow mount changes; call `refresh(report=False)` once before, so watching starts at once."""
        while not stop.is_set():
            try:
                changed = self.table.wait_for_change(RESCAN_SECONDS)
                if changed or self._due():
                    self.refresh(report=True)
            except Exception:  # the watcher must survive an odd mount table
                log.exception("mount watcher")
                stop.wait(1.0)

    _last = 0.0

    def _due(self) -> bool:
        now = self.clock.monotonic()
        if now - self._last >= RESCAN_SECONDS:
            self._last = now
            return True
        return False
