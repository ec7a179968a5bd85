"""fanotify permission events: the agent answers before a watched file is opened (Linux, root).

Only directories under the configured protected paths are marked (FAN_EVENT_ON_CHILD), never a
whole mount, so the rest of the system never waits on the agent; a directory made or moved there
later is marked when inotify reports it (a file opened in it before that is not guarded). Every event is answered, with
"allow" if deciding fails, and the file is read through the descriptor the kernel hands over, so
the agent's own reads cause no events.
"""

from __future__ import annotations

import ctypes
import logging
import os
import select
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

log = logging.getLogger(__name__)

FAN_CLASS_CONTENT = 0x04
FAN_CLOEXEC = 0x01
FAN_MARK_ADD = 0x01
FAN_OPEN_PERM = 0x00010000
FAN_EVENT_ON_CHILD = 0x08000000
FAN_ALLOW, FAN_DENY = 0x01, 0x02
AT_FDCWD = -100
_METADATA = struct.Struct("=IBBHQii")
_RESPONSE = struct.Struct("=iI")
MAX_DIRECTORIES = 4096

Decide = Callable[[int, str, int], bool]


class FanotifyUnavailable(OSError):
    """No fanotify here (not Linux, not root, or a kernel without it)."""


READ_SIZE = 64 * _METADATA.size


def fanotify_events(data: bytes) -> Iterator[tuple[int, int]]:
    """(fd, pid) of each event record in one read; records without a file descriptor are skipped."""
    offset = 0
    while offset + _METADATA.size <= len(data):
        length, _version, _reserved, _meta_len, _mask, fd, pid = _METADATA.unpack_from(data, offset)
        offset += max(length, _METADATA.size)
        if fd >= 0:
            yield fd, pid


def fanotify_open(notification_class: int) -> tuple[ctypes.CDLL, int]:
    """libc with `fanotify_mark` typed, and a new fanotify descriptor of the given class."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]
    fd = libc.fanotify_init(notification_class | FAN_CLOEXEC, os.O_RDONLY | os.O_LARGEFILE)
    if fd < 0:
        raise FanotifyUnavailable(ctypes.get_errno(), f"fanotify_init: {os.strerror(ctypes.get_errno())}")
    return libc, fd


class LinuxOpenGuard:
    def __init__(self) -> None:
        self._libc, self._fd = fanotify_open(FAN_CLASS_CONTENT)
        self._marked: set[str] = set()
        self._lock = threading.Lock()
        self._observer: Any = None

    def protect(self, roots: Iterable[str]) -> int:
        """Mark every directory under `roots` (up to a limit), and every directory made or moved
        under them later (inotify, through watchdog); returns how many were marked now."""
        roots = [root for root in roots if os.path.isdir(root)]
        marked = self._mark_tree(roots)
        self._follow(roots)
        return marked

    def _mark_tree(self, roots: Iterable[str]) -> int:
        marked = 0
        with self._lock:
            for root in roots:
                for directory, _dirs, _files in os.walk(root):
                    if directory in self._marked:
                        continue
                    if len(self._marked) >= MAX_DIRECTORIES:
                        log.warning("fanotify: more than %d protected directories; the rest are scanned",
                                    len(self._marked))
                        return marked
                    mask = FAN_OPEN_PERM | FAN_EVENT_ON_CHILD
                    if self._libc.fanotify_mark(self._fd, FAN_MARK_ADD, mask, AT_FDCWD, directory.encode()) == 0:
                        self._marked.add(directory)
                        marked += 1
        return marked

    def _follow(self, roots: list[str]) -> None:
        """Mark directories made under the roots after start (a new folder of a protected share)."""
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        guard = self

        class NewDirectories(FileSystemEventHandler):
            def on_created(self, event: FileSystemEvent) -> None:
                if event.is_directory:
                    guard._added(str(event.src_path))

            def on_moved(self, event: FileSystemEvent) -> None:
                if event.is_directory:
                    guard._added(str(event.dest_path))

        if not roots:
            return
        observer = Observer()
        try:
            for root in roots:
                observer.schedule(NewDirectories(), root, recursive=True)
            observer.start()
        except OSError as exc:
            log.warning("fanotify: new directories under the protected paths are not followed (%s)", exc)
            return
        self._observer = observer

    def _added(self, path: str) -> None:
        marked = self._mark_tree([path])
        if marked:
            log.info("fanotify: guarding %d new directories from %s", marked, path)

    def serve(self, decide: Decide, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                ready, _, _ = select.select([self._fd], [], [], 1.0)
                if ready:
                    self._answer_all(os.read(self._fd, READ_SIZE), decide)
        finally:
            if self._observer is not None:
                self._observer.stop()

    def _answer_all(self, data: bytes, decide: Decide) -> None:
        for fd, pid in fanotify_events(data):
            allow = True
            try:
                allow = decide(pid, os.readlink(f"/proc/self/fd/{fd}"), fd)
            except Exception:  # an answer must always go back, or the opener hangs
                log.exception("fanotify decision failed; allowing")
            finally:
                os.write(self._fd, _RESPONSE.pack(fd, FAN_ALLOW if allow else FAN_DENY))
                os.close(fd)

    def close(self) -> None:
        if self._observer is not None:
            self._observer.stop()
        os.close(self._fd)
