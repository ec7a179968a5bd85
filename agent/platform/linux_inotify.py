"""Which files in one directory were written or replaced, from Linux inotify (ctypes, no thread).

The overlay puts `fileno()` into its select loop and calls `changed()` when it is readable, so it
re-reads its state files when the agent replaces them instead of stat'ing them four times a second.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import pathlib
import struct

IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x8, 0x80, 0x100, 0x200
IN_Q_OVERFLOW = 0x4000
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000
_EVENT = struct.Struct("iIII")


class DirectoryWatch:
    """Names of files closed after writing, created, renamed into or deleted from one directory."""

    def __init__(self, directory: pathlib.Path) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self._fd: int = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE
        if libc.inotify_add_watch(self._fd, os.fsencode(directory), mask) < 0:
            errno = ctypes.get_errno()
            os.close(self._fd)
            raise OSError(errno, f"inotify_add_watch {directory} failed")

    def fileno(self) -> int:
        return self._fd

    def changed(self) -> set[str] | None:
        """The names seen since the last call; None when the kernel queue overflowed (re-read all)."""
        names: set[str] = set()
        overflow = False
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            offset = 0
            while offset + _EVENT.size <= len(data):
                _wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                raw = data[offset + _EVENT.size: offset + _EVENT.size + length]
                overflow |= bool(mask & IN_Q_OVERFLOW)
                names.add(raw.rstrip(b"\0").decode("utf-8", "replace"))
                offset += _EVENT.size + length
        return None if overflow else names

    def close(self) -> None:
        os.close(self._fd)
