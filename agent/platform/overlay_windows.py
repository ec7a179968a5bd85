"""Windows backend of the overlay port (Win32 through ctypes).

UNTESTED: this machine has no Windows. The calls follow the Win32 documentation; the first
Windows CI runner must exercise them before this backend is called done.

- Window: WS_EX_LAYERED | WS_EX_TRANSPARENT (click-through) | WS_EX_TOOLWINDOW (no taskbar
  button, not in Alt-Tab) | WS_EX_NOACTIVATE, placed HWND_TOPMOST. DWM composes the layered,
  per-pixel-alpha window; display affinity stays WDA_NONE so screenshots include the overlay.
- Stacking: another topmost window above ours (GetWindow(GW_HWNDPREV)) is checked every 250 ms.
- Screenshot key: GetAsyncKeyState(VK_SNAPSHOT) polled every 50 ms, which observes the key
  without a hook and without taking it from the Snipping Tool. Win+Shift+S starts
  ScreenClippingHost/SnippingTool, which the process watch reports.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Callable
from typing import Any

from agent.platform.overlay_port import Stop

log = logging.getLogger(__name__)
GWL_EXSTYLE = -20
WS_EX_TOPMOST, WS_EX_TRANSPARENT, WS_EX_TOOLWINDOW = 0x00000008, 0x00000020, 0x00000080
WS_EX_LAYERED, WS_EX_NOACTIVATE = 0x00080000, 0x08000000
HWND_TOPMOST = -1
SWP_NOSIZE, SWP_NOMOVE, SWP_NOACTIVATE, SWP_SHOWWINDOW = 0x0001, 0x0002, 0x0010, 0x0040
GW_HWNDPREV = 3
VK_SNAPSHOT = 0x2C
WDA_NONE = 0


def _user32() -> Any:
    return ctypes.windll.user32  # type: ignore[attr-defined]


class WindowsOverlayPlatform:
    name = "windows"

    def prepare_window(self, window_id: int) -> None:
        user32 = _user32()
        style = user32.GetWindowLongW(window_id, GWL_EXSTYLE)
        extra = WS_EX_LAYERED | WS_EX_TRANSPARENT | WS_EX_TOOLWINDOW | WS_EX_NOACTIVATE | WS_EX_TOPMOST
        user32.SetWindowLongW(window_id, GWL_EXSTYLE, style | extra)
        user32.SetWindowDisplayAffinity(window_id, WDA_NONE)
        self._topmost(window_id)

    @staticmethod
    def _topmost(window_id: int) -> None:
        flags = SWP_NOMOVE | SWP_NOSIZE | SWP_NOACTIVATE | SWP_SHOWWINDOW
        _user32().SetWindowPos(window_id, HWND_TOPMOST, 0, 0, 0, 0, flags)

    def watch_stacking(self, own_windows: Callable[[], set[int]], on_covered: Callable[[], None]) -> Stop:
        def covered() -> bool:
            own = own_windows()
            return any(_user32().GetWindow(hwnd, GW_HWNDPREV) not in (0, None, *own) for hwnd in own)

        return _poll(0.25, covered, on_covered, "overlay-stacking")

    def watch_print_key(self, on_press: Callable[[], None]) -> Stop:
        was_down = False

        def pressed() -> bool:
            nonlocal was_down
            down = bool(_user32().GetAsyncKeyState(VK_SNAPSHOT) & 0x8000)
            went_down, was_down = down and not was_down, down
            return went_down

        return _poll(0.05, pressed, on_press, "overlay-print-key")

    def active_window_title(self) -> str | None:
        user32 = _user32()
        hwnd = user32.GetForegroundWindow()
        length = user32.GetWindowTextLengthW(hwnd)
        if not hwnd or length <= 0:
            return None
        buffer = ctypes.create_unicode_buffer(length + 1)
        user32.GetWindowTextW(hwnd, buffer, length + 1)
        return buffer.value or None


def _poll(interval: float, check: Callable[[], bool], action: Callable[[], None], name: str) -> Stop:
    stopped = threading.Event()

    def loop() -> None:
        while not stopped.wait(interval):
            try:
                if check():
                    action()
            except OSError as exc:
                log.warning("%s: %s", name, exc)

    threading.Thread(target=loop, name=name, daemon=True).start()
    return stopped.set
