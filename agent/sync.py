"""Talking to the console: heartbeat, signed policy, watermark marks, and spool delivery.

One thread does it all, so the console sees one connection per agent; any failure backs off
exponentially with jitter and nothing in the spool is lost meanwhile.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any

from agent.backoff import Backoff
from agent.client import ConsoleClient, ConsoleError
from agent.config import SyncConfig
from agent.events import agent_event
from agent.outbox import Outbox
from agent.policystore import PolicyStore
from agent.policysync import PolicyVerifyError
from agent.ports import Clock
from agent.spool import Spool

log = logging.getLogger(__name__)
POISON_STATUSES = (400, 413, 422)


class Syncer:
    def __init__(self, client: ConsoleClient, spool: Spool, outbox: Outbox, policies: PolicyStore, config: SyncConfig,
                 clock: Clock, *, heartbeat_body: Callable[[], dict[str, Any]],
                 on_policy: Callable[[], None], marks: Callable[[ConsoleClient], None]) -> None:
        self.client, self.spool, self.outbox, self.policies = client, spool, outbox, policies
        self.config, self.clock = config, clock
        self.heartbeat_body, self.on_policy, self.refresh_marks = heartbeat_body, on_policy, marks
        self.backoff = Backoff(config.backoff_base_seconds, config.backoff_max_seconds)
        self.rng = random.Random()
        self.failures = 0
        self.last_error: str | None = None
        self.last_success: float | None = None
        self._due = {"policy": 0.0, "heartbeat": 0.0, "marks": 0.0}
        self._rejected: set[str] = set()

    def run(self, stop: threading.Event, wake: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.step()
                self.failures, self.last_error, self.last_success = 0, None, self.clock.time()
                wait = self._next_wait()
            except ConsoleError as exc:
                self.failures += 1
                self.last_error = str(exc)
                wait = self.backoff.delay(self.failures, self.rng)
                log.warning("console unreachable (%s); retrying in %.1f s", exc, wait)
            wake.wait(wait)
            wake.clear()

    def _next_wait(self) -> float:
        now = self.clock.monotonic()
        return max(0.05, min([self.config.deliver_seconds, *(due - now for due in self._due.values())]))

    def step(self) -> None:
        now = self.clock.monotonic()
        periodic = (("policy", self.sync_policy, self.config.policy_seconds),
                    ("heartbeat", self.heartbeat, self.config.heartbeat_seconds),
                    ("marks", lambda: self.refresh_marks(self.client), 5.0))  # local check; fetches rarely
        for name, call, period in periodic:
            if now >= self._due[name]:
                self._due[name] = now + period
                self._guarded(name, call)
        self.deliver()

    def _guarded(self, name: str, call: Callable[[], None]) -> None:
        """A console that answers with an error for one call must not stop event delivery."""
        try:
            call()
        except ConsoleError as exc:
            if exc.status is None:
                raise
            log.warning("%s: %s", name, exc)

    def heartbeat(self) -> None:
        answer = self.client.heartbeat(self.heartbeat_body())
        if answer.get("policy_version") not in (None, self.policies.active.version):
            self.sync_policy()  # the console says a new policy is out

    def sync_policy(self) -> None:
        answer = self.client.fetch_policy(self.policies.active.etag if self.policies.active.source != "fallback" else None)
        if answer.body is None:
            return
        try:
            self.policies.accept(answer.body, answer.etag)
        except PolicyVerifyError as exc:
            key = f"{answer.etag}:{exc}"
            if key not in self._rejected:  # report each bad policy once, keep enforcing the last good one
                self._rejected.add(key)
                self.outbox.record(agent_event("policy_rejected", timestamp=self.clock.time(), severity="high",
                                               error=str(exc), etag=answer.etag, kept=self.policies.describe()))
            return
        self.on_policy()

    def deliver(self) -> int:
        """Send every spooled event, batch by batch; returns how many the console confirmed."""
        sent = 0
        while True:
            drops = self.spool.unreported_drops()
            if drops:
                report = agent_event("spool_overflow", timestamp=self.clock.time(), severity="critical", dropped=drops)
                self.spool.add_drop_report(report, drops)
            batch = self.spool.batch(self.config.batch_size)
            if not batch:
                return sent
            self._send(batch)
            sent += len(batch)

    def _send(self, batch: list[dict[str, Any]]) -> None:
        try:
            self.client.send_events(batch)
        except ConsoleError as exc:
            if exc.status not in POISON_STATUSES:
                raise
            if len(batch) > 1:
                for event in batch:
                    self._send([event])
                return
            log.error("the console refuses event %s for good: %s", batch[0]["id"], exc)
            self.spool.ack([batch[0]["id"]], rejected=True)
            return
        self.spool.ack([event["id"] for event in batch])
