"""Start a virtual X display (Xvfb) with a compositor, for the demo and the tests.

Without a compositor X11 has no translucency, so the overlay would not blend; xcompmgr is the
smallest compositor that does it.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import IO


class DisplayError(RuntimeError):
    """The virtual display or its compositor could not start."""


@dataclass
class VirtualDisplay:
    name: str
    width: int
    height: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: dict[str, IO[bytes]] = field(default_factory=dict)  # what Xvfb and xcompmgr wrote

    def trouble(self) -> str:
        """Empty while Xvfb and xcompmgr run; else which one exited and what it wrote last."""
        for process, (name, log) in zip(self.processes, self.logs.items(), strict=False):
            if process.poll() is not None:
                return f"{name} exited with status {process.returncode}: {_tail(log)}"
        return ""

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a child process that should draw on this display."""
        env = dict(os.environ)
        env.update(DISPLAY=self.name, QT_QPA_PLATFORM="xcb", XDG_SESSION_TYPE="x11")
        env.pop("WAYLAND_DISPLAY", None)
        env.update(extra)
        return env

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
        for log in self.logs.values():
            log.close()


def display_works(name: str) -> bool:
    """True when an X server answers on `name` (needs xdpyinfo from x11-utils)."""
    probe = shutil.which("xdpyinfo")
    if not name or probe is None:
        return False
    result = subprocess.run([probe, "-display", name], capture_output=True, timeout=10)
    return result.returncode == 0


def start_virtual_display(width: int = 1920, height: int = 1080, *, screens: int = 1) -> VirtualDisplay:
    """Start Xvfb (several Xinerama screens side by side when asked) plus xcompmgr.

    Xvfb picks its own free display number (``-displayfd``), so two displays started at the same
    moment, by two test runs say, can never end up sharing one server."""
    xvfb, xcompmgr = shutil.which("Xvfb"), shutil.which("xcompmgr")
    if xvfb is None or xcompmgr is None:
        raise DisplayError("Xvfb and xcompmgr are needed (Debian packages xvfb and xcompmgr)")
    readable, writable = os.pipe()
    args = [xvfb, "-displayfd", str(writable), "-nolisten", "tcp", "-noreset"]
    for screen in range(screens):
        args += ["-screen", str(screen), f"{width}x{height}x24"]
    if screens > 1:
        args.append("+xinerama")
    # Their messages go to unnamed files, not pipes: a pipe nobody reads would stall the server once
    # its buffer filled (xkbcomp warnings at every keymap change add up over a long test session).
    # They live as long as the display, which closes them in stop().
    server_log, compositor_log = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115
    try:
        server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=server_log, pass_fds=(writable,))
    finally:
        os.close(writable)
    display = VirtualDisplay(name="", width=width * screens, height=height, processes=[server],
                             logs={"Xvfb": server_log, "xcompmgr": compositor_log})
    try:
        display.name = f":{_read_display_number(readable, server, server_log)}"
    except DisplayError:
        display.stop()
        raise
    finally:
        os.close(readable)
    compositor = subprocess.Popen(
        [xcompmgr], env=display.env(), stdout=subprocess.DEVNULL, stderr=compositor_log
    )
    display.processes.append(compositor)
    time.sleep(0.3)
    if compositor.poll() is not None:
        display.stop()
        raise DisplayError(f"xcompmgr exited at once; translucent windows would not blend: {_tail(compositor_log)}")
    return display


def _read_display_number(readable: int, server: subprocess.Popen[bytes], log: IO[bytes],
                         timeout: float = 15.0) -> int:
    """The display number Xvfb writes to its ``-displayfd`` once it listens."""
    deadline = time.monotonic() + timeout
    received = b""
    while not received.endswith(b"\n"):
        left = deadline - time.monotonic()
        ready, _, _ = select.select([readable], [], [], max(0.0, left))
        chunk = os.read(readable, 16) if ready else b""
        if not chunk:
            reason = "exited" if server.poll() is not None else f"did not answer within {timeout:.0f} s"
            raise DisplayError(f"Xvfb {reason}: {_tail(log)}")
        received += chunk
    return int(received)


def _tail(log: IO[bytes]) -> str:
    """The last few hundred characters a process wrote to `log`."""
    log.seek(0)
    return log.read().decode(errors="replace").strip()[-400:]
