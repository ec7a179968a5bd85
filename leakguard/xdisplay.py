"""Start a virtual X display (Xvfb) with a compositor, for the demo and the tests.

Without a compositor X11 has no translucency, so the overlay would not blend; xcompmgr is the
smallest compositor that does it.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import time
from dataclasses import dataclass, field


class DisplayError(RuntimeError):
    """The virtual display or its compositor could not start."""


@dataclass
class VirtualDisplay:
    name: str
    width: int
    height: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

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


def display_works(name: str) -> bool:
    """True when an X server answers on `name` (needs xdpyinfo from x11-utils)."""
    probe = shutil.which("xdpyinfo")
    if not name or probe is None:
        return False
    result = subprocess.run([probe, "-display", name], capture_output=True, timeout=10)
    return result.returncode == 0


def free_display_number(first: int = 90, last: int = 400) -> int:
    for number in range(first, last):
        lock = pathlib.Path(f"/tmp/.X{number}-lock")
        sock = pathlib.Path(f"/tmp/.X11-unix/X{number}")
        if not lock.exists() and not sock.exists():
            return number
    raise DisplayError(f"no free X display number between :{first} and :{last - 1}")


def start_virtual_display(width: int = 1920, height: int = 1080, *, screens: int = 1) -> VirtualDisplay:
    """Start Xvfb (several Xinerama screens side by side when asked) plus xcompmgr."""
    xvfb, xcompmgr = shutil.which("Xvfb"), shutil.which("xcompmgr")
    if xvfb is None or xcompmgr is None:
        raise DisplayError("Xvfb and xcompmgr are needed (Debian packages xvfb and xcompmgr)")
    number = free_display_number()
    name = f":{number}"
    args = [xvfb, name, "-nolisten", "tcp", "-noreset"]
    for screen in range(screens):
        args += ["-screen", str(screen), f"{width}x{height}x24"]
    if screens > 1:
        args.append("+xinerama")
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    display = VirtualDisplay(name=name, width=width * screens, height=height, processes=[server])
    _wait_for_socket(display, server, pathlib.Path(f"/tmp/.X11-unix/X{number}"))
    compositor = subprocess.Popen(
        [xcompmgr], env=display.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    display.processes.append(compositor)
    time.sleep(0.3)
    if compositor.poll() is not None:
        display.stop()
        raise DisplayError("xcompmgr exited at once; translucent windows would not blend")
    return display


def _wait_for_socket(display: VirtualDisplay, server: subprocess.Popen[bytes], socket_path: pathlib.Path) -> None:
    deadline = time.monotonic() + 15
    while not socket_path.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            err = server.stderr.read().decode(errors="replace") if server.stderr and server.poll() is not None else ""
            display.stop()
            raise DisplayError(f"Xvfb {display.name} did not start: {err.strip()[-400:]}")
        time.sleep(0.05)
