"""Who wrote a file: fanotify close-after-write notices on the watched roots (Linux, root).

inotify (watchdog) says that a file was written, not by whom; fanotify names the process. A
real mount is marked whole (FAN_MARK_MOUNT); a plain directory is marked with its subdirectories
as they are at that moment. The writer's name is read at once, as short-lived tools (cp) exit.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable

from agent.platform.linux_fanotify import (
    AT_FDCWD,
    FAN_EVENT_ON_CHILD,
    FAN_MARK_ADD,
    READ_SIZE,
    fanotify_events,
    fanotify_open,
)

FAN_CLASS_NOTIF = 0x00
FAN_MARK_MOUNT = 0x10
FAN_CLOSE_WRITE = 0x08
MAX_REMEMBERED = 4096
MAX_DIRECTORIES = 4096


class LinuxWriterLog:
    def __init__(self) -> None:
        self._libc, self._fd = fanotify_open(FAN_CLASS_NOTIF)
        self._writers: OrderedDict[str, tuple[int, str | None, float]] = OrderedDict()
        self._cond = threading.Condition()
        self._marked: set[tuple[str, bool, str | None]] = set()

    def watch(self, roots: Iterable[tuple[str, bool, str | None]]) -> None:
        """Mark (path, is_mount_point, device) roots not marked yet (a new mount needs a new mark)."""
        for path, is_mount, device in roots:
            if (path, is_mount, device) in self._marked:
                continue
            self._marked.add((path, is_mount, device))
            if is_mount:
                self._mark(FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_CLOSE_WRITE, path)
                continue
            for count, (directory, _dirs, _files) in enumerate(os.walk(path)):
                if count >= MAX_DIRECTORIES:
                    break
                self._mark(FAN_MARK_ADD, FAN_CLOSE_WRITE | FAN_EVENT_ON_CHILD, directory)

    def _mark(self, flags: int, mask: int, path: str) -> None:
        self._libc.fanotify_mark(self._fd, flags, mask, AT_FDCWD, path.encode())

    def serve(self, stop: threading.Event) -> None:
        while not stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], 1.0)
            if ready:
                self._take(os.read(self._fd, READ_SIZE))

    def _take(self, data: bytes) -> None:
        for fd, pid in fanotify_events(data):
            try:
                path = os.readlink(f"/proc/self/fd/{fd}")
            finally:
                os.close(fd)
            with self._cond:
                self._writers[path] = (pid, _comm(pid), time.monotonic())
                while len(self._writers) > MAX_REMEMBERED:
                    self._writers.popitem(last=False)
                self._cond.notify_all()

    def writer(self, path: str, *, wait: float = 0.1) -> tuple[int, str | None] | None:
        """The last process that wrote `path` (waiting briefly for its notice), or None."""
        deadline = time.monotonic() + wait
        with self._cond:
            while path not in self._writers and (remaining := deadline - time.monotonic()) > 0:
                self._cond.wait(remaining)
            found = self._writers.pop(path, None)
        return (found[0], found[1]) if found else None


def _comm(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/comm", "rb") as handle:
            return handle.read().decode(errors="replace").strip()
    except OSError:
        return None
