"""The overlay's port to the operating system, and the one place that picks a backend.

A backend adjusts the native overlay window (kept out of taskbar and switcher, above everything,
click-through), tells the overlay when another window may have covered it, and observes the
screenshot key without taking it from the user. Backends:

- `overlay_x11`: X11 through python-xlib. Tested on Xvfb + xcompmgr.
- `overlay_windows`: Win32 through ctypes. UNTESTED on this machine.
- `overlay_macos`: AppKit through pyobjc. UNTESTED on this machine.
- `overlay_null`: does nothing; Qt's own window flags and the periodic raise still apply.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Protocol

Stop = Callable[[], None]


class OverlayPlatform(Protocol):
    name: str

    def prepare_window(self, window_id: int) -> None:
        """Native tweaks (skip taskbar/pager, topmost, no input); idempotent, called again now and
        then because toolkits rewrite some of these hints."""

    def watch_stacking(self, own_windows: Callable[[], set[int]], on_covered: Callable[[], None]) -> Stop:
        """Call `on_covered` (from any thread) when another window may now be above ours."""

    def watch_print_key(self, on_press: Callable[[], None]) -> Stop:
        """Call `on_press` (from any thread) when the screenshot key goes down; never consume it."""

    def active_window_title(self) -> str | None:
        """Title of the window the user is working in, for the screenshot event."""


def select_overlay_platform(qt_platform: str | None = None) -> OverlayPlatform:
    """The backend for this OS and Qt platform plugin (`xcb`, `windows`, `cocoa`, ...)."""
    qt_platform = qt_platform or os.environ.get("QT_QPA_PLATFORM", "")
    if sys.platform.startswith("linux") and qt_platform.startswith("xcb") and os.environ.get("DISPLAY"):
        from agent.platform.overlay_x11 import X11OverlayPlatform

        return X11OverlayPlatform(os.environ["DISPLAY"])
    if sys.platform == "win32":
        from agent.platform.overlay_windows import WindowsOverlayPlatform

        return WindowsOverlayPlatform()
    if sys.platform == "darwin":
        from agent.platform.overlay_macos import MacOverlayPlatform

        return MacOverlayPlatform()
    from agent.platform.overlay_null import NullOverlayPlatform

    return NullOverlayPlatform()
