"""Backends per platform; `select_backends` is the only place that looks at `sys.platform`."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from agent.ports import Clipboard, ExecEvents, MountTable, Notifier, OpenGuard, ProcessTable, WriterLog


@dataclass(frozen=True)
class Backends:
    mounts: MountTable
    processes: ProcessTable


def select_backends() -> Backends:
    """The service's OS backends for this platform (null ones where none exists yet)."""
    from agent.platform.processes import PsutilProcessTable

    if sys.platform.startswith("linux"):
        from agent.platform.linux_mounts import LinuxMountTable

        return Backends(mounts=LinuxMountTable(), processes=PsutilProcessTable())
    from agent.platform.null import NullMountTable

    return Backends(mounts=NullMountTable(), processes=PsutilProcessTable())


def select_exec_events() -> tuple[ExecEvents | None, str | None]:
    """Kernel process-start notices, or None and why the agent must scan instead."""
    if sys.platform.startswith("linux"):
        from agent.platform.linux_exec import ExecEventsUnavailable, LinuxExecEvents

        try:
            return LinuxExecEvents(), None
        except ExecEventsUnavailable as exc:
            return None, str(exc)
    return None, f"no process-start notices on {sys.platform} yet"


def select_open_guard() -> tuple[OpenGuard | None, str | None]:
    """Permission checks on opens of protected files, or None and why not."""
    if sys.platform.startswith("linux"):
        from agent.platform.linux_fanotify import FanotifyUnavailable, LinuxOpenGuard

        try:
            return LinuxOpenGuard(), None
        except FanotifyUnavailable as exc:
            return None, str(exc)
    return None, f"no open permission checks on {sys.platform} yet"


def select_writer_log() -> tuple[WriterLog | None, str | None]:
    """Who-wrote-this notices for the file channels, or None and why not."""
    if sys.platform.startswith("linux"):
        from agent.platform.linux_fanotify import FanotifyUnavailable
        from agent.platform.linux_writers import LinuxWriterLog

        try:
            return LinuxWriterLog(), None
        except FanotifyUnavailable as exc:
            return None, str(exc)
    return None, f"no writer attribution on {sys.platform} yet"


def select_clipboard() -> tuple[Clipboard | None, str | None]:
    """The session's clipboard backend, or None and the reason there is none."""
    if sys.platform.startswith("linux") and os.environ.get("DISPLAY"):
        from agent.platform.x11_clipboard import X11Clipboard, X11Error

        try:
            return X11Clipboard.open(os.environ["DISPLAY"]), None
        except X11Error as exc:
            return None, str(exc)
    return None, f"no clipboard backend for {sys.platform} without an X display"


def select_notifier() -> Notifier:
    if sys.platform.startswith("linux"):
        from agent.platform.linux_notify import NotifySend

        return NotifySend()
    from agent.platform.null import LogNotifier

    return LogNotifier(f"no desktop notifications on {sys.platform} yet")
