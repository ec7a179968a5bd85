"""Command-line uploads and screen-capture tools, found by scanning the process table.

Where the kernel reports process starts (Linux netlink process events, as root) every exec is
looked at the moment it happens and only running upload tools are re-read each interval; the
whole table is rescanned once a minute as a safety net. Elsewhere the table is scanned each
interval, and an upload that starts and ends between two scans is not seen. fanotify (which
would also see which files a tool opens) is not built yet.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pathlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from agent.events import new_event
from agent.judge import Context, Judgement, judge_bytes, judge_text
from agent.outbox import Outbox
from agent.policystore import PolicyStore
from agent.ports import Clock, ExecEvents, ProcessTable, RunningProcess
from agent.quarantine import file_sha256

log = logging.getLogger(__name__)

UPLOAD_TOOLS = frozenset({
    "curl", "wget", "scp", "sftp", "rsync", "rclone", "ftp", "lftp", "nc", "ncat", "netcat", "socat",
    "aws", "gsutil", "gcloud", "azcopy", "smbclient",
})
CAPTURE_TOOLS = frozenset({
    "scrot", "flameshot", "gnome-screenshot", "spectacle", "obs", "ffmpeg", "import", "maim", "grim",
    "kazam", "simplescreenrecorder", "vokoscreenNG", "peek", "shutter", "ksnip", "recordmydesktop",
    "xfce4-screenshooter", "byzanz-record", "wf-recorder", "gpu-screen-recorder",
})
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:[^@/\s]+@)?([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::\d+)?(?:[/:]|$)")
FULL_RESCAN_SECONDS = 60.0
RECENT_STARTS = 4096
COMM_LENGTH = 15  # Linux keeps the first 15 characters of a program's name
SKIP_PREFIXES = ("/proc/", "/dev/", "/sys/", "/usr/", "/lib", "/etc/ssl/", "/etc/ld.so", "/etc/nsswitch")


def is_capture(proc: RunningProcess) -> bool:
    if proc.name == "ffmpeg":
        return any("x11grab" in arg or "kmsgrab" in arg or "gdigrab" in arg for arg in proc.cmdline)
    return proc.name in CAPTURE_TOOLS


def argv_files(cmdline: tuple[str, ...]) -> list[str]:
    """Local paths named in an upload command (`-T f`, `-F x=@f`, `--data-binary @f`, plain args)."""
    paths = []
    for arg in cmdline[1:]:
        value = arg.split("@", 1)[1] if "=@" in arg or arg.startswith("@") else arg
        value = value.split(";", 1)[0]
        if value.startswith("-") or "://" in value:
            continue
        if os.path.isfile(value):
            paths.append(os.path.abspath(value))
    return paths


SECRET_FLAGS = frozenset({"-u", "--user", "-p", "--password", "--pass", "-H", "--header", "--proxy-user",
                          "--oauth2-bearer", "--aws-sigv4"})
_USERINFO = re.compile(r"(://[^:/@\s]+):[^@/\s]+@")


def redact_argv(cmdline: tuple[str, ...]) -> list[str]:
    """The command line without passwords, tokens and auth headers."""
    redacted, hide_next = [], False
    for arg in cmdline:
        if hide_next:
            redacted.append("***")
            hide_next = False
            continue
        flag, eq, _ = arg.partition("=")
        if flag in SECRET_FLAGS:
            redacted.append(f"{flag}=***" if eq else arg)
            hide_next = not eq
            continue
        redacted.append(_USERINFO.sub(r"\1:***@", arg))
    return redacted


def read_descriptor(fd: int, limit: int) -> bytes | OSError:
    """Up to `limit` bytes of an open file, from its start, without moving its offset."""
    chunks, offset = [], 0
    try:
        while offset <= limit and (chunk := os.pread(fd, min(1 << 20, limit + 1 - offset), offset)):
            chunks.append(chunk)
            offset += len(chunk)
    except OSError as exc:
        return exc
    if offset > limit:
        return OSError(f"larger than {limit} bytes")
    return b"".join(chunks)


def destination_of(cmdline: tuple[str, ...]) -> str | None:
    for arg in cmdline[1:]:
        if "://" in arg or (":" in arg and not arg.startswith("-") and not os.path.exists(arg)):
            match = _URL.match(arg)
            if match:
                return match.group(1)
    return None


class ProcessScanner:
    def __init__(self, table: ProcessTable, outbox: Outbox, policies: PolicyStore, clock: Clock, *,
                 protected: tuple[str, ...], max_bytes: int, uploads: bool, captures: bool,
                 key: bytes | None = None, ocr: bool = True) -> None:
        self.table, self.outbox, self.policies, self.clock = table, outbox, policies, clock
        self.ocr = ocr
        self.protected = tuple(str(pathlib.Path(p).resolve()) for p in protected)
        self.max_bytes, self.uploads, self.captures = max_bytes, uploads, captures
        self.names = (UPLOAD_TOOLS if uploads else frozenset()) | (CAPTURE_TOOLS if captures else frozenset())
        self.seen: set[tuple[int, str]] = set()
        self.watched: dict[int, RunningProcess] = {}
        self.short_names = frozenset(name[:COMM_LENGTH] for name in self.names)
        self.upload_short = frozenset(name[:COMM_LENGTH] for name in UPLOAD_TOOLS)
        self.guarded = False  # set once fanotify guards the protected paths at open
        self.started_names: OrderedDict[int, str] = OrderedDict()
        self.lock = threading.Lock()
        self.key = key

    def run(self, stop: threading.Event, interval: float, execs: ExecEvents | None = None) -> None:
        last_full = self.clock.monotonic()
        self._guarded(self.scan)
        while not stop.is_set():
            if execs is None:
                stop.wait(interval)
                self._guarded(self.scan)
                continue
            started = execs.wait(interval)
            due = self.clock.monotonic() - last_full >= FULL_RESCAN_SECONDS
            if execs.overflowed or due:
                execs.overflowed, last_full = False, self.clock.monotonic()
                self._guarded(self.scan)
            else:
                self._guarded(functools.partial(self.check_pids, started))

    def _guarded(self, call: Callable[[], object]) -> None:
        try:
            call()
        except Exception:  # keep watching after an odd process
            log.exception("process scan")

    def scan(self) -> list[dict[str, Any]]:
        """Look at every running process named like a tool of interest."""
        procs = list(self.table.candidates(self.names))
        self.watched = {proc.pid: proc for proc in procs}
        self.seen = {key for key in self.seen if key[0] in self.watched}
        return [event for proc in procs for event in self._inspect(proc)]

    def check_pids(self, started: list[int]) -> list[dict[str, Any]]:
        """Newly started processes, plus another look at the upload tools still running."""
        for pid in started:
            name = self.table.name(pid)
            self._remember(pid, name)
            if name in self.short_names:
                proc = self.table.describe(pid)
                if proc is not None:
                    self.watched[pid] = proc
        events = []
        for pid, proc in list(self.watched.items()):
            if self.table.name(pid) != proc.name[:COMM_LENGTH]:
                del self.watched[pid]
                self.seen = {key for key in self.seen if key[0] != pid}
                continue
            events += self._inspect(proc)
        return events

    def _remember(self, pid: int, name: str | None) -> None:
        if name is None:
            return
        with self.lock:
            self.started_names[pid] = name
            while len(self.started_names) > RECENT_STARTS:
                self.started_names.popitem(last=False)

    def name_of(self, pid: int) -> str | None:
        """The name of a process seen starting recently, even if it has exited since (cp, scp)."""
        with self.lock:
            return self.started_names.get(pid)

    def _inspect(self, proc: RunningProcess) -> list[dict[str, Any]]:
        if self.captures and is_capture(proc) and self._first(proc.pid, "capture"):
            return [self._capture(proc)]
        if self.uploads and proc.name in UPLOAD_TOOLS:
            paths = [p for p in self._files(proc) if not (self.guarded and self._is_protected(p))]  # guard decides
            return [self._upload(proc, path) for path in paths if self._first(proc.pid, path)]
        return []

    def _first(self, pid: int, what: str) -> bool:
        with self.lock:  # the scan thread and the fanotify thread both ask
            if (pid, what) in self.seen:
                return False
            self.seen.add((pid, what))
            return True

    def _files(self, proc: RunningProcess) -> list[str]:
        opened = [p for p in self.table.open_files(proc.pid) if not p.startswith(SKIP_PREFIXES)]
        return sorted(set(argv_files(proc.cmdline)) | set(opened))

    def _upload(self, proc: RunningProcess, path: str) -> dict[str, Any]:
        try:
            data: bytes | OSError = file_sha256(pathlib.Path(path), limit=self.max_bytes)[0]
        except OSError as exc:
            data = exc
        judgement, info, destination = self._judge_upload(proc, path, data)
        action = self._escalate(judgement.action, self._is_protected(path))
        return self._enforce(proc, judgement, action, file=info, destination={"host": destination},
                             protected_path=self._is_protected(path))

    def on_open(self, pid: int, path: str, fd: int) -> bool:
        """An upload tool opens a protected file: refuse the open where policy blocks the upload."""
        if self.table.name(pid) not in self.upload_short:
            return True
        proc = self.table.describe(pid)
        if proc is None or proc.name not in UPLOAD_TOOLS or not self._first(pid, path):
            return True
        judgement, info, destination = self._judge_upload(proc, path, read_descriptor(fd, self.max_bytes))
        action = self._escalate(judgement.action, True)
        prevent = action in ("block", "quarantine")
        self._enforce(proc, judgement, action, prevented=prevent, file=info, destination={"host": destination},
                      protected_path=True)
        return not prevent

    def _is_protected(self, path: str) -> bool:
        return bool(self.protected) and str(pathlib.Path(path).resolve()).startswith(self.protected)

    def _judge_upload(self, proc: RunningProcess, path: str,
                      data: bytes | OSError) -> tuple[Judgement, dict[str, Any], str | None]:
        destination = destination_of(proc.cmdline)
        context = Context(channel="file_upload", destination=destination, application=proc.name,
                          file_name=os.path.basename(path))
        policy = self.policies.active.policy
        if isinstance(data, OSError):
            judgement = judge_text("", context, policy, status="unscannable", reason=str(data), key=self.key)
            return judgement, {"path": path, "name": os.path.basename(path), "size": None, "sha256": None}, destination
        judgement = judge_bytes(data, os.path.basename(path), context, policy, key=self.key, ocr=self.ocr)
        info = {"path": path, "name": os.path.basename(path), "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest()}
        return judgement, info, destination

    def _escalate(self, action: str, protected: bool) -> str:
        """A protected file leaving by a command-line tool is blocked in a high zone, else warned."""
        if not protected or action == "block":
            return action
        return "block" if self.policies.active.zone == "high" else "warn"

    def _capture(self, proc: RunningProcess) -> dict[str, Any]:
        context = Context(channel="screen_capture", application=proc.name)
        judgement = judge_text("", context, self.policies.active.policy)
        return self._enforce(proc, judgement, judgement.action)

    def _enforce(self, proc: RunningProcess, judgement: Judgement, action: str, *, prevented: bool = False,
                 **details: Any) -> dict[str, Any]:
        action = "block" if action == "quarantine" else action  # nothing to quarantine: the file stays put
        stop_reason = self.table.stop(proc.pid) if action == "block" and not prevented else None
        if prevented:
            details["prevented"] = "the open was refused before the tool read a byte (fanotify)"
        channel = "screen_capture" if "file" not in details else "file_upload"
        event = new_event(
            channel, action, timestamp=self.clock.time(),
            severity=judgement.severity if action == judgement.action else "high", detectors=judgement.detectors,
            process={"pid": proc.pid, "name": proc.name, "exe": proc.exe, "cmdline": redact_argv(proc.cmdline[:16])},
            user=proc.user, stopped=(action == "block" and stop_reason is None), stop_reason=stop_reason,
            **details, **judgement.details(),
        )
        self.outbox.record(event)
        if action in ("warn", "block"):
            what = details.get("file", {}).get("name") if "file" in details else proc.name
            self.outbox.notice(f"leakguard: {proc.name} {action}ed", f"{what}: {judgement.tip}"
                               + ("" if stop_reason is None else f" (could not stop it: {stop_reason})"), event=event)
        return event
