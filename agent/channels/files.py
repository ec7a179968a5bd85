"""File channels: a file written to removable media, a cloud-sync folder or a network share.

watchdog reports the close of a written file (inotify IN_CLOSE_WRITE on Linux); one worker
thread judges it and, when policy blocks, moves it off the device into the encrypted quarantine.
"""

from __future__ import annotations

import errno
import logging
import pathlib
import queue
import secrets
import threading
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from watchdog.events import FileClosedEvent, FileMovedEvent, FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from agent.channels.roots import WatchedRoot
from agent.events import FileInfo, agent_event, new_event
from agent.extraction import extract_large
from agent.judge import Context, Judgement, judge_bytes, judge_text
from agent.outbox import Outbox
from agent.policystore import PolicyStore
from agent.ports import Clock, WriterLog
from agent.quarantine import Quarantine, QuarantineError, file_sha256, streamed_sha256

log = logging.getLogger(__name__)
STOPPING_ACTIONS = ("block", "quarantine")
TIP = "{name} was moved to the quarantine: {explanation}"


class _Handler(FileSystemEventHandler):
    def __init__(self, root: WatchedRoot, work: queue.Queue[tuple[str, WatchedRoot, float] | None], clock: Clock) -> None:
        self.root, self.work, self.clock = root, work, clock

    def on_closed(self, event: FileSystemEvent) -> None:
        if isinstance(event, FileClosedEvent) and not event.is_directory:
            self.work.put((str(event.src_path), self.root, self.clock.monotonic()))

    def on_moved(self, event: FileSystemEvent) -> None:
        if isinstance(event, FileMovedEvent) and not event.is_directory:
            self.work.put((str(event.dest_path), self.root, self.clock.monotonic()))


class FileChannel:
    def __init__(self, outbox: Outbox, policies: PolicyStore, quarantine: Quarantine, *, clock: Clock,
                 user: Callable[[], str | None], max_bytes: int, key: bytes | None = None, ocr: bool = True) -> None:
        self.outbox, self.policies, self.quarantine = outbox, policies, quarantine
        self.clock, self.user, self.max_bytes, self.key, self.ocr = clock, user, max_bytes, key, ocr
        self.work: queue.Queue[tuple[str, WatchedRoot, float] | None] = queue.Queue()
        # files over max_bytes: hashed whole and read in a worker of their own, for up to a minute
        # or more, on a thread of their own so that the files copied after them are not kept waiting
        self.large: queue.Queue[tuple[str, WatchedRoot, float] | None] = queue.Queue()
        self.observer = Observer()
        self.watches: dict[WatchedRoot, ObservedWatch] = {}
        self.verdict_ms: list[float] = []
        self.exempt: dict[str, str] = {}  # path -> sha256 of a file the user was allowed to put back
        self.writers: WriterLog | None = None
        self.name_of: Callable[[int], str | None] = lambda pid: None  # processes seen starting
        self.writers_reason = "inotify does not name the writing process"

    def start(self) -> None:
        self.observer.start()
        threading.Thread(target=self._work, name="file-channel", daemon=True).start()
        threading.Thread(target=self._work_large, name="file-channel-large", daemon=True).start()

    def stop(self) -> None:
        self.work.put(None)
        self.large.put(None)
        self.observer.stop()

    def set_roots(self, roots: list[WatchedRoot]) -> None:
        """Watch exactly these roots (re-watching a root whose mount changed under it)."""
        if self.writers is not None:
            self.writers.watch((root.path, root.is_mount_point, root.device_number) for root in roots)
        for root in set(self.watches) - set(roots):
            self.observer.unschedule(self.watches.pop(root))
        for root in roots:
            if root not in self.watches:
                try:
                    self.watches[root] = self.observer.schedule(_Handler(root, self.work, self.clock), root.path,
                                                                recursive=True)
                except OSError as exc:
                    log.error("cannot watch %s: %s", root.path, exc)

    def _work(self) -> None:
        while (item := self.work.get()) is not None:
            try:
                self.inspect(pathlib.Path(item[0]), item[1], item[2])
            except Exception:  # one bad file must not stop the channel
                log.exception("inspecting %s failed", item[0])

    def _work_large(self) -> None:
        while (item := self.large.get()) is not None:
            try:
                self._too_large(pathlib.Path(item[0]), item[1], item[2])
            except Exception:
                log.exception("inspecting %s failed", item[0])

    def inspect(self, path: pathlib.Path, root: WatchedRoot, seen_at: float) -> dict[str, Any] | None:
        """Judge a file and act on it; a file over `max_bytes` is handed to the large files'
        thread (None is returned for it here)."""
        if not path.is_file() or self.quarantine.directory in path.parents:
            return None
        try:
            data, sha256 = file_sha256(path, limit=self.max_bytes)
        except OSError as exc:
            if exc.errno != errno.EFBIG:
                return self._unreadable(path, root, exc)
            self.large.put((str(path), root, seen_at))
            return None
        if self._exempt(path, sha256):
            return None
        judgement = judge_bytes(data, path.name, self._context(path, root, len(data)), self.policies.active.policy,
                                key=self.key, ocr=self.ocr)
        return self._conclude(path, root, judgement, FileInfo(str(path), path.name, len(data), sha256), seen_at)

    def _too_large(self, path: pathlib.Path, root: WatchedRoot, seen_at: float) -> dict[str, Any] | None:
        """A file over `max_bytes`, on the large files' thread: a disc or disk image, an Outlook
        data file, a OneNote section, an Access database or a Parquet file of up to 1 GiB is read
        in a worker of its own (`extract_large`); anything else is judged as unscannable, so a zone that lets
        nothing unreadable leave blocks it (such files used to be only audited). The event carries
        its size and SHA-256, hashed a chunk at a time."""
        try:
            size, sha256 = streamed_sha256(path)
        except OSError as exc:
            return self._unreadable(path, root, exc)
        if self._exempt(path, sha256):
            return None
        got = extract_large(str(path), path.name, max_input=self.max_bytes)
        judgement = judge_text(got.text, self._context(path, root, size), self.policies.active.policy, status=got.status,
                               reason=got.reason, key=self.key)
        return self._conclude(path, root, judgement, FileInfo(str(path), path.name, size, sha256), seen_at)

    def _exempt(self, path: pathlib.Path, sha256: str) -> bool:
        """Whether this is a file released by an override, back where it was: already recorded,
        not judged again (once)."""
        if self.exempt.get(str(path)) != sha256:
            return False
        self.exempt.pop(str(path), None)  # the other thread may have taken it already
        return True

    def _conclude(self, path: pathlib.Path, root: WatchedRoot, judgement: Judgement, info: FileInfo,
                  seen_at: float) -> dict[str, Any]:
        """Record the event of a judged file and act on it (quarantine, notice)."""
        event = self._event(path, root, judgement, info)
        self.verdict_ms.append((self.clock.monotonic() - seen_at) * 1000)
        event["latency_ms"] = round(self.verdict_ms[-1], 2)
        self.outbox.record(event)
        self._act(path, event, judgement)
        return event

    def _context(self, path: pathlib.Path, root: WatchedRoot, size: int) -> Context:
        identity = root.identity
        return Context(channel=root.channel, destination=root.path, file_type=path.suffix.lstrip(".").lower() or None,
                       size=size, usb_vendor=identity.vendor_id, usb_product=identity.product_id,
                       usb_serial=identity.serial, file_name=path.name)

    def _event(self, path: pathlib.Path, root: WatchedRoot, judgement: Judgement, info: FileInfo) -> dict[str, Any]:
        action = "quarantine" if judgement.action in STOPPING_ACTIONS else judgement.action
        event = new_event(
            root.channel, action, timestamp=self.clock.time(), severity=judgement.severity,
            detectors=judgement.detectors, file=info, user=self.user(),
            destination={"kind": root.channel, "root": root.path, "fstype": root.fstype, "source": root.source,
                         "device": asdict(root.identity)},
            process=self._writer(str(path)),
            **judgement.details(),
        )
        if action == "quarantine":
            event["quarantine_id"] = secrets.token_hex(8)
        return event

    def _writer(self, path: str) -> dict[str, Any]:
        found = self.writers.writer(path) if self.writers is not None else None
        if found is None:
            return {"pid": None, "name": None, "reason": self.writers_reason}
        return {"pid": found[0], "name": found[1] or self.name_of(found[0])}

    def _act(self, path: pathlib.Path, event: dict[str, Any], judgement: Judgement) -> None:
        if event["action"] == "quarantine":
            try:
                self.quarantine.capture(path, event_id=event["id"], item_id=event["quarantine_id"])
            except (OSError, QuarantineError) as exc:
                self.outbox.record(agent_event("quarantine_failed", timestamp=self.clock.time(), severity="high",
                                               of_event=event["id"], error=str(exc)))
                return
            if judgement.override_allowed:
                self.outbox.allow_override(event, {"quarantine_id": event["quarantine_id"]})
        if event["action"] in ("warn", "quarantine"):
            tip = TIP.format(name=path.name, explanation=judgement.tip)
            if event["action"] == "warn":
                tip = f"{path.name}: {judgement.tip}"
            self.outbox.notice("leakguard: file " + event["action"], tip, event=event,
                               override=judgement.override_allowed)

    def _unreadable(self, path: pathlib.Path, root: WatchedRoot, exc: OSError) -> dict[str, Any]:
        event = new_event(root.channel, "audit", timestamp=self.clock.time(), severity="medium",
                          file={"path": str(path), "name": path.name, "size": None, "sha256": None},
                          user=self.user(), destination={"kind": root.channel, "root": root.path},
                          verdict={"scan_status": "unscannable", "scan_reason": str(exc)})
        self.outbox.record(event)
        return event
