"""Process information through psutil (Linux, Windows and macOS alike)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import psutil

from agent.ports import RunningProcess


class PsutilProcessTable:
    def candidates(self, names: frozenset[str]) -> Iterator[RunningProcess]:
        for proc in psutil.process_iter(["name"]):
            name = proc.info.get("name") or ""
            if name not in names:
                continue
            try:
                with proc.oneshot():
                    yield RunningProcess(
                        pid=proc.pid, name=name, cmdline=tuple(proc.cmdline()),
                        user=_safe(proc.username), exe=_safe(proc.exe),
                    )
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue

    def open_files(self, pid: int) -> list[str]:
        try:
            return [f.path for f in psutil.Process(pid).open_files()]
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return []

    def stop(self, pid: int) -> str | None:
        kill = getattr(signal, "SIGKILL", signal.SIGTERM)
        try:
            os.kill(pid, kill)
        except ProcessLookupError:
            return "the process had already ended"
        except PermissionError:
            return "not allowed to stop the process (the agent lacks the privilege)"
        return None

    def name(self, pid: int) -> str | None:
        """On Linux the kernel's `comm` (at most 15 characters), read without building a Process."""
        try:
            with open(f"/proc/{pid}/comm", "rb") as handle:
                return handle.read().decode(errors="replace").rstrip("\n")
        except FileNotFoundError:
            pass
        except OSError:
            return None
        try:
            return psutil.Process(pid).name()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return None

    def describe(self, pid: int) -> RunningProcess | None:
        try:
            proc = psutil.Process(pid)
            with proc.oneshot():
                return RunningProcess(
                    pid=pid, name=proc.name(), cmdline=tuple(proc.cmdline()),
                    user=_safe(proc.username), exe=_safe(proc.exe),
                )
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return None


def _safe(getter: object) -> str | None:
    try:
        value = getter()  # type: ignore[operator]
    except (psutil.Error, OSError):
        return None
    return str(value) if value else None
