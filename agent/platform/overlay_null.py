"""A backend that does nothing: for platforms without a native one (Wayland, offscreen)."""

from __future__ import annotations

from collections.abc import Callable

from agent.platform.overlay_port import Stop


def _nothing() -> None:
    return None


class NullOverlayPlatform:
    name = "null"

    def prepare_window(self, window_id: int) -> None:
        return None

    def watch_stacking(self, own_windows: Callable[[], set[int]], on_covered: Callable[[], None]) -> Stop:
        return _nothing

    def watch_print_key(self, on_press: Callable[[], None]) -> Stop:
        return _nothing

    def active_window_title(self) -> str | None:
        return None
