"""The print channel (Linux, CUPS): every document sent to a printer is judged before it prints.

CUPS can hold a job until it is released: with `print_hold` (the default) the channel sets each
printer's default `job-hold-until` to `indefinite` (and puts back what it was when the agent
stops cleanly), so every new job waits in the spool. The channel asks CUPS over IPP for the jobs
not yet printed; for each held job it reads the documents CUPS spooled
(`d<job>-<n>` in the spool directory, the bytes the application printed: PDF, PostScript or
text; the channel wakes when CUPS writes there, and polls every 2 s besides), extracts and judges them as a file on its way out (`channel: print`, the printer as the
destination), records the event, and then releases the job or cancels it. A cancelled job's
first blocked document is sealed into the quarantine as evidence. A job that was not held (a
printer added since the last check, or `print_hold` off) is judged all the same, and cancelled
if it has not printed yet: detection without the guarantee.

A held job blocked by a rule that allows an override (`block_with_override`) is not cancelled at
once: it stays held, sealed as evidence all the same, and the user's notice offers the override.
A justification (`leakguard agent justify EVENT --reason ...`) releases it and is recorded as an
`allow` event that names the blocked one; with none within `print_override_seconds` the job is
cancelled. A job that was not held cannot wait, so it is cancelled.

If the agent dies, held jobs stay held (fail closed) until it is back, when they are judged again
(a job waiting for a justification then waits anew); a job a user held on purpose is released
when judged.
"""

from __future__ import annotations

import logging
import os
import pathlib
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from agent.events import FileInfo, agent_event, new_event
from agent.ipp import HELD, PENDING, PROCESSING, Client, IppError, Job
from agent.judge import Context, Judgement, judge_bytes, judge_text
from agent.outbox import Outbox
from agent.policystore import PolicyStore
from agent.ports import Clock
from agent.quarantine import Quarantine, QuarantineError, file_sha256, streamed_sha256

log = logging.getLogger(__name__)

STOPPING = ("block", "quarantine", "block_with_override")
_RANK = {"allow": 0, "audit": 1, "warn": 2, "block_with_override": 3, "block": 4, "quarantine": 5}
_HOLD = "indefinite"
_PRINTERS_EVERY = 5.0  # seconds between checks that every printer holds new jobs
_IDLE_POLL = 2.0  # seconds between polls when the spool is watched (a new job wakes the channel at once)


class PrintChannel:
    def __init__(self, outbox: Outbox, policies: PolicyStore, quarantine: Quarantine, *, clock: Clock,
                 user: Callable[[], str | None], server: str, spool: str, hold: bool, poll_seconds: float,
                 max_bytes: int, override_seconds: float = 600.0, key: bytes | None = None,
                 ocr: bool = True) -> None:
        self.outbox, self.policies, self.quarantine = outbox, policies, quarantine
        self.clock, self.user, self.key, self.ocr = clock, user, key, ocr
        self.client = Client(server)
        self.server, self.spool, self.hold = server, pathlib.Path(spool), hold
        self.poll_seconds, self.max_bytes, self.override_seconds = poll_seconds, max_bytes, override_seconds
        self.judged: set[int] = set()
        self.awaiting: dict[int, tuple[float, str]] = {}  # job held for a justification -> (deadline, its event)
        self.retry: dict[int, tuple[str, str]] = {}  # job -> (release or cancel, its event) CUPS refused
        self.refused: set[str] = set()  # printers lpadmin failed on (logged once each)
        self.changed: dict[str, str] = {}  # printer -> its default hold before the agent set it
        self.lock = threading.Lock()
        self.printers_checked = 0.0
        self.unreachable_since: float | None = None

    def run(self, stop: threading.Event) -> None:
        """Poll when CUPS writes to its spool (a new job's files), and every `_IDLE_POLL`
        seconds besides; every `poll_seconds` where the spool cannot be watched."""
        wake = threading.Event()
        observer = self._watch_spool(wake)
        try:
            while not stop.is_set():
                self.poll()
                wake.wait(_IDLE_POLL if observer is not None else self.poll_seconds)
                wake.clear()
        finally:
            if observer is not None:
                observer.stop()

    def _watch_spool(self, wake: threading.Event) -> Any:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        class Wake(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                wake.set()

        if not self.spool.is_dir():
            return None
        observer = Observer()
        try:
            observer.schedule(Wake(), str(self.spool), recursive=False)
            observer.start()
        except OSError as exc:
            log.info("print channel: cannot watch %s (%s); polling every %.2f s", self.spool, exc, self.poll_seconds)
            return None
        return observer

    def poll(self) -> None:
        try:
            if self.hold and time.monotonic() - self.printers_checked > _PRINTERS_EVERY:
                self.hold_printers()
            jobs = self.client.jobs()
        except IppError as exc:
            if self.unreachable_since is None:
                log.info("print channel: %s (no CUPS here, or it is down; checked again every %.1f s)",
                         exc, self.poll_seconds)
                self.unreachable_since = time.monotonic()
            return
        self.unreachable_since = None
        waiting = {job.id for job in jobs}
        for job_id, (action, event_id) in list(self.retry.items()):  # a release or cancel CUPS refused before
            if job_id not in waiting or self._move(job_id, action, event_id, report=False):
                del self.retry[job_id]  # done now, or the job is gone (printed, cancelled by someone)
        self._expire(waiting)
        for job in jobs:
            if job.id in self.judged or job.state not in (HELD, PENDING, PROCESSING) or job.reason == "job-incoming":
                continue  # judged; printed or gone; or its documents still arriving
            self.judged.add(job.id)
            try:
                self.inspect(job)
            except Exception:  # one bad job must not stop the channel
                log.exception("inspecting print job %d failed", job.id)

    def hold_printers(self) -> None:
        """Make every printer hold its new jobs until they are judged."""
        self.printers_checked = time.monotonic()
        for name, default in self.client.printers().items():
            with self.lock:
                if default != _HOLD and self._lpadmin(name, _HOLD):
                    self.changed.setdefault(name, default)

    def restore(self) -> None:
        """Put back each printer's default hold as it was (a clean stop; jobs held now stay held
        until someone releases them)."""
        with self.lock:
            for name, default in self.changed.items():
                self._lpadmin(name, default or "no-hold")
            self.changed.clear()

    def _lpadmin(self, printer: str, hold: str) -> bool:
        command = ["lpadmin", "-h", self.server, "-p", printer, "-o", f"job-hold-until-default={hold}"]
        try:
            done = subprocess.run(command, capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.error("print channel: cannot run lpadmin: %s", exc)
            return False
        if done.returncode != 0 and printer not in self.refused:
            self.refused.add(printer)
            log.error("print channel: lpadmin %s: %s (jobs on it are judged but not held)", printer,
                      done.stderr.decode(errors="replace").strip())
        return done.returncode == 0

    def inspect(self, job: Job) -> dict[str, Any]:
        """Judge a job's documents, record the event, then release or cancel the job."""
        held = job.state == HELD
        name = job.name or f"print job {job.id}"
        judged: list[tuple[Judgement, FileInfo, pathlib.Path]] = []
        for number in range(1, max(1, job.documents) + 1):
            path = self.spool / f"d{job.id:05d}-{number:03d}"
            judged.append((self._judge(path, name, job), _info(path, name), path))
        judgement, info, evidence = max(judged, key=lambda j: _RANK.get(j[0].action, 0))
        stopping = judgement.action in STOPPING
        event = new_event(
            "print", "block" if stopping else judgement.action, timestamp=self.clock.time(),
            severity=judgement.severity, detectors=judgement.detectors, file=info,
            user=job.user or self.user(),
            destination={"kind": "print", "printer": job.printer, "job_id": job.id, "held": held,
                         "documents": job.documents},
            **judgement.details(),
        )
        if stopping:
            event["quarantine_id"] = secrets.token_hex(8)
        self.outbox.record(event)  # recorded before the job moves: never lost
        self._act(job, event, judgement, evidence, held)
        return event

    def _judge(self, path: pathlib.Path, name: str, job: Job) -> Judgement:
        context = Context(channel="print", destination=job.printer, file_name=name,
                          size=path.stat().st_size if path.exists() else None)
        policy = self.policies.active.policy
        try:
            data, _ = file_sha256(path, limit=self.max_bytes)
        except FileNotFoundError:
            return judge_text("", context, policy, status="unscannable",
                              reason=f"{name}: the spooled document is gone (printed already?)", key=self.key)
        except OSError as exc:
            return judge_text("", context, policy, status="unscannable", reason=f"{name}: {exc.strerror or exc}",
                              key=self.key)
        return judge_bytes(data, name, context, policy, key=self.key, ocr=self.ocr)

    def _act(self, job: Job, event: dict[str, Any], judgement: Judgement, evidence: pathlib.Path, held: bool) -> None:
        blocked = event["action"] == "block"
        if blocked:
            self._seal(evidence, event)
        waits = blocked and held and judgement.override_allowed
        action = None if waits else "cancel" if blocked else "release" if held else None
        if action is not None and not self._move(job.id, action, event["id"], report=True):
            self.retry[job.id] = (action, event["id"])  # tried again at each poll; the job stays held meanwhile
        if waits:
            with self.lock:
                self.awaiting[job.id] = (time.monotonic() + self.override_seconds, event["id"])
            self.outbox.allow_override(event, {"print_job": job.id})
        if event["action"] in ("warn", "block"):
            title = "leakguard: print " + ("held" if waits else "blocked" if blocked else "warning")
            body = f"{event['file']['name']}: {judgement.tip}"
            if waits:
                body += (f" The job is held: give a justification within {self.override_seconds / 60:.0f} minutes"
                         " to print it, or it is cancelled.")
            self.outbox.notice(title, body, event=event, override=waits)

    def release_overridden(self, job_id: int, event_id: str) -> str | None:
        """Release a job held for a justification the user has now given; why not, when it cannot be."""
        with self.lock:
            if self.awaiting.pop(job_id, None) is None:
                return f"print job {job_id} was cancelled: its time for a justification ran out; print it again"
        try:
            self.client.release(job_id)
        except IppError as exc:
            try:
                gone = job_id not in {job.id for job in self.client.jobs()}
            except IppError:
                gone = False
            if gone:
                return f"print job {job_id} is gone (cancelled or deleted): print the document again"
            self.retry[job_id] = ("release", event_id)  # CUPS refused for now: released at a later poll
            log.warning("print channel: releasing job %d after its override: %s (tried again)", job_id, exc)
        return None

    def _expire(self, waiting: set[int]) -> None:
        """Cancel the held jobs whose justification did not come in time; forget those gone."""
        now = time.monotonic()
        with self.lock:
            due = [(job_id, event_id) for job_id, (deadline, event_id) in self.awaiting.items()
                   if deadline <= now or job_id not in waiting]
            for job_id, _ in due:
                del self.awaiting[job_id]
        for job_id, event_id in due:
            self.outbox.take_override(event_id)  # too late to justify now (a justification already given took it)
            if job_id in waiting and not self._move(job_id, "cancel", event_id, report=True):
                self.retry[job_id] = ("cancel", event_id)

    def _move(self, job: int, action: str, event_id: str, *, report: bool) -> bool:
        """Release or cancel a job; a refusal is reported once (the job stays held: fail closed)."""
        try:
            (self.client.cancel if action == "cancel" else self.client.release)(job)
        except IppError as exc:
            if report:
                self.outbox.record(agent_event("print_action_failed", timestamp=self.clock.time(), severity="high",
                                               of_event=event_id, job_id=job, action=action, error=str(exc)))
            return False
        return True

    def _seal(self, evidence: pathlib.Path, event: dict[str, Any]) -> None:
        """A copy of the blocked document into the quarantine (CUPS keeps its own until the job
        is gone)."""
        copy = self.quarantine.directory.parent / f".print-{event['quarantine_id']}"
        try:
            shutil.copyfile(evidence, copy)
            os.chmod(copy, 0o600)
            self.quarantine.capture(copy, event_id=event["id"], item_id=event["quarantine_id"])
        except (OSError, QuarantineError) as exc:
            copy.unlink(missing_ok=True)
            self.outbox.record(agent_event("quarantine_failed", timestamp=self.clock.time(), severity="high",
                                           of_event=event["id"], error=str(exc)))


def _info(path: pathlib.Path, name: str) -> FileInfo:
    try:
        size, sha256 = streamed_sha256(path)
    except OSError:
        return FileInfo(str(path), name, 0, None)
    return FileInfo(str(path), name, size, sha256)
