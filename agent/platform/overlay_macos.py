"""macOS backend of the overlay port (AppKit through pyobjc, imported only here).

UNTESTED: this machine has no macOS, and pyobjc is not a dependency (install
`pyobjc-framework-Cocoa` on Macs). Without pyobjc, Qt's own window flags still give a frameless,
translucent, click-through, top-level window; this backend adds what Qt cannot:

- Window: level NSScreenSaverWindowLevel (above full-screen apps), collection behaviour
  CanJoinAllSpaces | Stationary | IgnoresCycle | FullScreenAuxiliary (every Space, not in
  Cmd-Tab or Mission Control), ignoresMouseEvents, sharingType ReadOnly so captures include it.
- Screenshot key: macOS has no PrintScreen key; Cmd-Shift-3/4/5 start `screencaptureui`, which
  the process watch reports. Observing the keys themselves needs a CGEventTap and the user's
  Input Monitoring permission, which this backend does not ask for.
- Active window: the frontmost application's name (window titles need Screen Recording permission).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agent.platform.overlay_port import Stop

log = logging.getLogger(__name__)
NS_SCREEN_SAVER_WINDOW_LEVEL = 1000
CAN_JOIN_ALL_SPACES, STATIONARY, IGNORES_CYCLE, FULL_SCREEN_AUXILIARY = 1 << 0, 1 << 4, 1 << 6, 1 << 8
NS_WINDOW_SHARING_READ_ONLY = 1


def _appkit() -> Any | None:
    try:
        import AppKit
    except ImportError:
        log.warning("pyobjc is not installed: the overlay uses Qt's window flags only")
        return None
    return AppKit


def _nothing() -> None:
    return None


class MacOverlayPlatform:
    name = "macos"

    def prepare_window(self, window_id: int) -> None:
        if _appkit() is None:
            return
        import objc

        window = objc.objc_object(c_void_p=window_id).window()  # Qt's winId() is the NSView
        window.setLevel_(NS_SCREEN_SAVER_WINDOW_LEVEL)
        window.setCollectionBehavior_(CAN_JOIN_ALL_SPACES | STATIONARY | IGNORES_CYCLE | FULL_SCREEN_AUXILIARY)
        window.setIgnoresMouseEvents_(True)
        window.setHasShadow_(False)
        window.setSharingType_(NS_WINDOW_SHARING_READ_ONLY)

    def watch_stacking(self, own_windows: Callable[[], set[int]], on_covered: Callable[[], None]) -> Stop:
        return _nothing  # the screen-saver level is above every application window already

    def watch_print_key(self, on_press: Callable[[], None]) -> Stop:
        return _nothing  # see the module docstring: screencaptureui is caught by the process watch

    def active_window_title(self) -> str | None:
        appkit = _appkit()
        if appkit is None:
            return None
        app = appkit.NSWorkspace.sharedWorkspace().frontmostApplication()
        return None if app is None else str(app.localizedName())
