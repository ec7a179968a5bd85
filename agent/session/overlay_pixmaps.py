"""The X11 overlay's pixmaps: rendered by a short-lived child process, kept by the X server.

The overlay process holds only pixmap ids. Pixels come from `agent.session.overlay_render` (which
loads numpy, and Qt for visible text), are read from its pipe without blocking the event loop,
uploaded once, and dropped from the client at once.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from agent.platform.x11_layers import byte_order, upload_pixmap
from agent.session.overlay_loop import EventLoop

log = logging.getLogger(__name__)
RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class LayerSpec:
    """Everything one pixmap depends on (the cache key)."""

    layer: str  # "tile" (the invisible mark, one period) or "visible" (text for the whole monitor)
    width: int
    height: int
    mark: int | None = None
    text: str | None = None
    opacity: float = 0.0

    def job(self) -> dict[str, Any]:
        if self.layer == "tile":
            return {"layer": "tile", "mark": self.mark, "width": self.width, "height": self.height}
        return {"layer": "visible", "text": self.text, "opacity": self.opacity, "width": self.width,
                "height": self.height}


class PixmapCache:
    def __init__(self, conn: Any, loop: EventLoop, on_ready: Callable[[], None]) -> None:
        self.conn, self.loop, self.on_ready = conn, loop, on_ready
        self.pixmaps: dict[LayerSpec, Any] = {}
        self.failed: set[LayerSpec] = set()  # the renderer refused these: not asked again
        self._queue: list[LayerSpec] = []
        self._child: subprocess.Popen[bytes] | None = None
        self._jobs: list[LayerSpec] = []
        self._chunks: list[bytes] = []

    def ready(self, spec: LayerSpec | None) -> bool:
        return spec is None or spec in self.pixmaps or spec in self.failed

    def get(self, spec: LayerSpec | None) -> Any:
        return None if spec is None else self.pixmaps.get(spec)

    def request(self, specs: Iterable[LayerSpec | None]) -> None:
        busy = set(self._queue) | set(self._jobs)
        for spec in specs:
            if spec is not None and not self.ready(spec) and spec not in busy:
                self._queue.append(spec)
                busy.add(spec)
        if self._queue and self._child is None:
            self._spawn()

    def keep_only(self, keep: set[LayerSpec]) -> None:
        """Free the pixmaps no window shows and no coming slot needs (windows keep their own reference)."""
        for spec in [s for s in self.pixmaps if s not in keep]:
            self.pixmaps.pop(spec).free()

    def close(self) -> None:
        if self._child is not None and self._child.poll() is None:
            self._child.kill()
            self._child.wait()

    def _spawn(self) -> None:
        self._jobs, self._queue = self._queue, []
        request = {"byte_order": byte_order(self.conn), "jobs": [spec.job() for spec in self._jobs]}
        self._child = subprocess.Popen([sys.executable, "-m", "agent.session.overlay_render"],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self._child.stdin is not None and self._child.stdout is not None  # noqa: S101 - set by PIPE
        self._child.stdin.write(json.dumps(request).encode())
        self._child.stdin.close()
        self._chunks = []
        os.set_blocking(self._child.stdout.fileno(), False)
        self.loop.add_reader(self._child.stdout.fileno(), self._read)

    def _read(self) -> None:
        child = self._child
        if child is None or child.stdout is None:
            return
        try:
            chunk = os.read(child.stdout.fileno(), 1 << 20)
        except BlockingIOError:
            return
        if chunk:
            self._chunks.append(chunk)
            return
        self.loop.remove_reader(child.stdout.fileno())
        child.stdout.close()
        code = child.wait()
        data, self._chunks, self._child = b"".join(self._chunks), [], None
        self._unpack(data, code)
        del data
        if self._queue:
            self._spawn()
        self.on_ready()

    def _unpack(self, data: bytes, code: int) -> None:
        offset = 0
        for index, spec in enumerate(self._jobs):
            end = data.find(b"\n", offset)
            header = _header(data[offset:end]) if end >= 0 else None
            size = _pixel_bytes(header)
            if header is None or size is None or end + 1 + size > len(data):
                missing = self._jobs[index:]
                log.error("the overlay renderer exited with %s before %d of %d image(s); retrying in %.0f s",
                          code, len(missing), len(self._jobs), RETRY_SECONDS)
                self.loop.call_later(RETRY_SECONDS, functools.partial(self.request, missing))
                break
            offset = end + 1
            if "error" in header:
                log.error("cannot draw the overlay layer %s %dx%d: %s", spec.layer, spec.width, spec.height,
                          header["error"])
                self.failed.add(spec)
                continue
            self.pixmaps[spec] = upload_pixmap(self.conn, int(header["width"]), int(header["height"]),
                                               data[offset:offset + size])
            offset += size
        self._jobs = []
        self.conn.flush()


def _pixel_bytes(header: dict[str, Any] | None) -> int | None:
    """How many pixel bytes follow a header (0 after an error), None when the header is malformed."""
    if header is None:
        return None
    if "error" in header:
        return 0
    width, height = header.get("width"), header.get("height")
    if not isinstance(width, int) or not isinstance(height, int) or width <= 0 or height <= 0:
        return None
    return width * height * 4


def _header(line: bytes) -> dict[str, Any] | None:
    try:
        header = json.loads(line)
    except ValueError:
        return None
    return header if isinstance(header, dict) else None
