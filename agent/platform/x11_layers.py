"""Server-tiled overlay windows on X11, through python-xlib (no toolkit, no numpy).

A layer is one override-redirect window with the 32-bit ARGB visual, border 0, an empty input
shape (SHAPE extension: clicks go to the window below) and, as its background, a pixmap the X
server tiles from the window's origin. The client uploads a pixmap once and never paints: the
server redraws the background itself on every expose, and a compositor blends the window over the
screen (`alpha * colour + (1 - alpha) * background`, the pixmap being premultiplied).

Re-keying swaps the background with one ChangeWindowAttributes and one ClearArea: the server
repaints the whole window from the new pixmap in one request, so no frame shows neither pixmap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
WINDOW_STATES = ("_NET_WM_STATE_SKIP_TASKBAR", "_NET_WM_STATE_SKIP_PAGER", "_NET_WM_STATE_ABOVE",
                 "_NET_WM_STATE_STICKY")
REQUEST_HEADER_BYTES = 64


class X11LayerError(RuntimeError):
    """The X server lacks what the overlay needs (a 32-bit visual, the SHAPE extension)."""


@dataclass(frozen=True)
class Monitor:
    """One monitor as RandR 1.5 reports it, in device pixels."""

    name: str
    x: int
    y: int
    width: int
    height: int
    primary: bool = False


def list_monitors(conn: Any) -> list[Monitor]:
    """Active monitors, primary first, then by (x, y); the whole root window without RandR 1.5."""
    root = conn.screen().root
    found: list[Monitor] = []
    if conn.has_extension("RANDR"):
        try:
            reply = root.xrandr_get_monitors(is_active=True)
            found = [Monitor(conn.get_atom_name(m.name), m.x, m.y, m.width_in_pixels, m.height_in_pixels,
                             bool(m.primary)) for m in reply.monitors if m.width_in_pixels and m.height_in_pixels]
        except Exception as exc:  # noqa: BLE001 - RandR < 1.5: one monitor, the root window
            log.debug("RandR monitors unavailable: %s", exc)
    if not found:
        geometry = root.get_geometry()
        found = [Monitor("screen", 0, 0, geometry.width, geometry.height, True)]
    return sorted(found, key=lambda m: (not m.primary, m.x, m.y))


def argb_visual(conn: Any) -> int:
    for depth in conn.screen().allowed_depths:
        if depth.depth == 32:
            for visual in depth.visuals:
                if visual.visual_class == 4:  # TrueColor
                    return int(visual.visual_id)
    raise X11LayerError("the X server offers no 32-bit TrueColor visual: no translucent overlay possible")


def byte_order(conn: Any) -> str:
    """How the server stores 32-bit ZPixmap pixels: `lsb` (BGRA bytes) or `msb` (ARGB)."""
    return "lsb" if conn.display.info.image_byte_order == 0 else "msb"


def upload_pixmap(conn: Any, width: int, height: int, pixels: bytes) -> Any:
    """A depth-32 pixmap holding `pixels` (premultiplied ARGB32 in the server's byte order)."""
    if len(pixels) != width * height * 4:
        raise ValueError(f"{len(pixels)} bytes do not make a {width}x{height} ARGB32 image")
    root = conn.screen().root
    pixmap = root.create_pixmap(width, height, 32)
    gc = pixmap.create_gc()
    limit = conn.display.info.max_request_length * 4 - REQUEST_HEADER_BYTES
    rows = max(1, limit // (width * 4))  # python-xlib does not use BIG-REQUESTS: send strips
    stride = width * 4
    for top in range(0, height, rows):
        count = min(rows, height - top)
        pixmap.put_image(gc, 0, top, width, count, 2, 32, 0, pixels[top * stride:(top + count) * stride])
    gc.free()
    return pixmap


class Layer:
    """One click-through, unmanaged, translucent window whose background is a tiled pixmap."""

    def __init__(self, conn: Any, monitor: Monitor, title: str) -> None:
        from Xlib import X, Xatom

        self.conn, self.monitor = conn, monitor
        screen = conn.screen()
        visual = argb_visual(conn)
        colormap = screen.root.create_colormap(visual, X.AllocNone)
        self.window = screen.root.create_window(
            monitor.x, monitor.y, monitor.width, monitor.height, 0, 32, X.InputOutput, visual,
            background_pixmap=X.NONE, border_pixel=0, colormap=colormap, override_redirect=True)
        self.window.set_wm_name(title)
        self.window.set_wm_class(title, "leakguard")
        self.window.change_property(conn.intern_atom("_NET_WM_NAME"), conn.intern_atom("UTF8_STRING"), 8,
                                    title.encode())
        states = [conn.intern_atom(name) for name in WINDOW_STATES]
        self.window.change_property(conn.intern_atom("_NET_WM_STATE"), Xatom.ATOM, 32, states)
        self._click_through()
        self.mapped = False

    def _click_through(self) -> None:
        from Xlib import X
        from Xlib.ext import shape

        if not self.conn.has_extension("SHAPE"):
            raise X11LayerError("the X server has no SHAPE extension: the overlay cannot let clicks through")
        self.window.shape_rectangles(shape.SO.Set, shape.SK.Input, X.Unsorted, 0, 0, [])

    def show(self, pixmap: Any, monitor: Monitor) -> None:
        """Cover `monitor` with `pixmap` tiled from its top-left; the old background is replaced in
        one repaint. The caller may free `pixmap` any time: the window keeps its own reference."""
        if monitor != self.monitor:
            self.window.configure(x=monitor.x, y=monitor.y, width=monitor.width, height=monitor.height)
            self.monitor = monitor
        self.window.change_attributes(background_pixmap=pixmap)
        self.window.clear_area(0, 0, 0, 0, False)
        if not self.mapped:
            self.window.map()
            self.mapped = True
        self.raise_()

    def hide(self) -> None:
        if self.mapped:
            self.window.unmap()
            self.mapped = False

    def raise_(self) -> None:
        from Xlib import X

        if self.mapped:
            self.window.configure(stack_mode=X.Above)

    def destroy(self) -> None:
        self.window.destroy()
