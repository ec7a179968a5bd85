"""The short-lived renderer of the X11 overlay: `python -m agent.session.overlay_render`.

The overlay process itself loads neither numpy nor Qt: it asks this process, once per time slot
and monitor size, for the pixels it hands to the X server, and the server keeps them. A request
is one JSON object on stdin:

    {"byte_order": "lsb" | "msb",
     "jobs": [{"layer": "tile", "mark": INT, "width": W, "height": H},
              {"layer": "visible", "text": STR, "width": W, "height": H, "opacity": 0..1}]}

For each job, in order, stdout gets one JSON header line, `{"width": w, "height": h}` followed
by `w * h * 4` bytes of premultiplied ARGB32 pixels in the X server's byte order (what a 32-bit
ZPixmap holds), or `{"error": "..."}` and no bytes. A "tile" job is
`watermark.overlay.render_tile(mark, W, H)` (the X server tiles it from the window's origin, which
is `render_overlay`); a "visible" job is `agent.session.visible.render_visible` for the whole
monitor. Exit 0 when the request was read, 2 when it was not valid.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

MAX_REQUEST_BYTES = 1 << 20
_APP: list[object] = []


def premultiplied(rgba: np.ndarray, byte_order: str) -> bytes:
    """Straight-alpha RGBA (h, w, 4) uint8 -> premultiplied ARGB32 pixels as the X server stores them.

    Each colour is rounded to the nearest of `c * a / 255`; for the invisible layer (colours 0 and
    255 only) that is exact, so the compositor's "over" is the only rounding left.
    """
    colour = rgba[..., :3].astype(np.uint32)
    alpha = rgba[..., 3].astype(np.uint32)
    scaled = (colour * alpha[..., None] + 127) // 255
    pixels = (alpha << 24) | (scaled[..., 0] << 16) | (scaled[..., 1] << 8) | scaled[..., 2]
    dtype = "<u4" if byte_order == "lsb" else ">u4"
    return np.ascontiguousarray(pixels, dtype=dtype).tobytes()


def render_job(job: dict[str, Any], visible: Callable[[str, int, int, float], np.ndarray]) -> np.ndarray:
    from watermark.overlay import render_tile

    width, height = _size(job)
    if job.get("layer") == "tile":
        mark = job.get("mark")
        if not isinstance(mark, int) or isinstance(mark, bool) or not 0 <= mark < 1 << 64:
            raise ValueError("`mark` must be a 64-bit unsigned integer")
        return render_tile(mark, width, height)
    if job.get("layer") == "visible":
        text, opacity = job.get("text"), job.get("opacity")
        if not isinstance(text, str) or not isinstance(opacity, int | float) or isinstance(opacity, bool):
            raise ValueError("a visible job needs `text` (string) and `opacity` (number)")
        return visible(text, width, height, float(opacity))
    raise ValueError(f"unknown layer {job.get('layer')!r}")


def _size(job: dict[str, Any]) -> tuple[int, int]:
    width, height = job.get("width"), job.get("height")
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 16384 for v in (width, height)):
        raise ValueError(f"width and height must be integers 1..16384, got {width!r} x {height!r}")
    return int(width), int(height)  # type: ignore[arg-type]


def qt_visible() -> Callable[[str, int, int, float], np.ndarray]:
    """The visible layer is drawn with Qt (fontconfig finds fonts for any script, CJK too); an
    offscreen QGuiApplication is only created when a request has a visible job."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["QT_ENABLE_HIGHDPI_SCALING"] = "0"
    from PySide6.QtGui import QGuiApplication

    from agent.session.visible import render_visible

    _APP.append(QGuiApplication.instance() or QGuiApplication([sys.argv[0]]))  # alive until exit
    return lambda text, width, height, opacity: render_visible(text, width, height, opacity=opacity)


def serve(request: dict[str, Any], out: BinaryIO) -> None:
    jobs = request.get("jobs")
    order = request.get("byte_order", "lsb")
    if not isinstance(jobs, list) or order not in ("lsb", "msb"):
        raise ValueError("a request needs `jobs` (list) and `byte_order` (lsb or msb)")
    visible = qt_visible() if any(isinstance(j, dict) and j.get("layer") == "visible" for j in jobs) else None
    for job in jobs:
        try:
            if not isinstance(job, dict):
                raise ValueError("a job must be an object")
            image = render_job(job, visible or _no_visible)
        except ValueError as exc:
            out.write((json.dumps({"error": str(exc)}) + "\n").encode())
            continue
        out.write((json.dumps({"width": int(image.shape[1]), "height": int(image.shape[0])}) + "\n").encode())
        out.write(premultiplied(image, order))
    out.flush()


def _no_visible(text: str, width: int, height: int, opacity: float) -> np.ndarray:
    raise ValueError("no visible renderer")


def main() -> int:
    raw = sys.stdin.buffer.read(MAX_REQUEST_BYTES + 1)
    try:
        if len(raw) > MAX_REQUEST_BYTES:
            raise ValueError("request too large")
        request = json.loads(raw)
        if not isinstance(request, dict):
            raise ValueError("the request must be a JSON object")
        serve(request, sys.stdout.buffer)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        sys.stderr.write(f"overlay renderer: bad request: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
