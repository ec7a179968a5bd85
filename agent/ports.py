"""The agent's ports: every touch of the operating system goes through one of these Protocols.

Backends live in `agent/platform/`, one module per platform, and `agent.platform.select_backends`
is the only place that looks at `sys.platform`. Null backends keep the agent running (and say
what is missing) where a platform part is absent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class DeviceIdentity:
    """What an allow-list can match a storage device on."""

    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    vendor_id: str | None = None
    product_id: str | None = None
    bus: str | None = None
    removable: bool = False


@dataclass(frozen=True)
class Mount:
    mount_point: str
    source: str
    fstype: str
    device_number: str | None = None


@dataclass(frozen=True)
class RunningProcess:
    pid: int
    name: str
    cmdline: tuple[str, ...]
    user: str | None
    exe: str | None = None


class Clock(Protocol):
    def time(self) -> float: ...
    def monotonic(self) -> float: ...


class MountTable(Protocol):
    def mounts(self) -> list[Mount]: ...
    def wait_for_change(self, timeout: float) -> bool: ...
    def identify(self, mount: Mount) -> DeviceIdentity: ...


class ProcessTable(Protocol):
    def candidates(self, names: frozenset[str]) -> Iterable[RunningProcess]:
        """Running processes whose executable name is in `names`."""
        ...

    def open_files(self, pid: int) -> list[str]: ...

    def describe(self, pid: int) -> RunningProcess | None: ...

    def name(self, pid: int) -> str | None:
        """The executable's short name alone: the cheapest look at a process."""
        ...

    def stop(self, pid: int) -> str | None:
        """Stop a process; None when done, else why it could not be done."""
        ...


class ExecEvents(Protocol):
    """Process starts as the kernel reports them (no polling)."""

    overflowed: bool

    def wait(self, timeout: float) -> list[int]: ...


class OpenGuard(Protocol):
    """Decide on opens of protected files before they happen (fanotify permission events)."""

    def protect(self, roots: Iterable[str]) -> int: ...

    def serve(self, decide: Callable[[int, str, int], bool], stop: threading.Event) -> None: ...


class WriterLog(Protocol):
    """Which process last wrote a file in the watched roots (pid, name)."""

    def watch(self, roots: Iterable[tuple[str, bool, str | None]]) -> None: ...

    def serve(self, stop: threading.Event) -> None: ...

    def writer(self, path: str, *, wait: float = 0.1) -> tuple[int, str | None] | None: ...


class Clipboard(Protocol):
    def wait_for_change(self, timeout: float) -> bool: ...
    def read_text(self) -> str | None: ...
    def read_files(self) -> list[str] | None:
        """Local paths of files copied in a file manager; None when the clipboard holds none."""
        ...
    def read_image(self) -> bytes | None:
        """The copied image as PNG (a screenshot tool's, a browser's "copy image"); None when the
        clipboard offers none."""
        ...
    def write_text(self, text: str | bytes, target: str | None = None) -> None: ...
    def owner(self) -> RunningProcess | None: ...
    def close(self) -> None: ...


class Notifier(Protocol):
    def notify(self, title: str, body: str, *, urgency: str = "normal") -> str | None:
        """Show a desktop notice; None when shown, else why it could not be shown."""
        ...


class SystemClock:
    def time(self) -> float:
        import time

        return time.time()

    def monotonic(self) -> float:
        import time

        return time.monotonic()
