"""Self-tests proving that the shared fixtures start real parts, not stand-ins."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from tests.fixtures.consoles import ConsoleServer
from tests.fixtures.display import XDisplay


def grab(display: XDisplay, left: int, top: int, width: int, height: int) -> np.ndarray:
    """Screenshot a region of the display with mss, as an RGB array."""
    import os

    import mss

    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display.name
    try:
        with mss.MSS(display=display.name) if hasattr(mss, "MSS") else mss.mss(display=display.name) as sct:
            shot = sct.grab({"left": left, "top": top, "width": width, "height": height})
    finally:
        if old is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = old
    return np.asarray(shot)[:, :, 2::-1].copy()


@pytest.mark.x11
def test_translucent_window_blends_in_a_real_screenshot(x_display: XDisplay) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.fixtures.translucent_window", "100", "100", "300", "200"],
        env=x_display.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        assert line == "ready", child.stderr.read() if child.stderr else ""
        time.sleep(0.3)
        pixels = grab(x_display, 150, 150, 50, 50).reshape(-1, 3)
    finally:
        child.terminate()
        child.wait(timeout=10)
    median = np.median(pixels, axis=0)
    # (0,0,255) at alpha 64/255 over (200,50,50): straight-alpha "over" blend.
    expected = np.array([149.8, 37.5, 101.4])
    assert np.all(np.abs(median - expected) <= 3), f"got {median}, expected about {expected}"


class _Page(http.server.BaseHTTPRequestHandler):
    body = (b"<!doctype html><html><body style='margin:0;background:rgb(10,120,200)'>"
            b"<h1 id='t'>leakguard fixture page</h1></body></html>")

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def local_site() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.mark.browser
def test_chromium_renders_a_local_page(page: Any, local_site: str) -> None:
    page.goto(local_site)
    assert page.inner_text("#t") == "leakguard fixture page"
    import cv2

    png = page.screenshot()
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    b, g, r = (int(v) for v in image[image.shape[0] - 5, 5])
    assert (r, g, b) == (10, 120, 200)


def test_console_answers_healthz(console_server: ConsoleServer) -> None:
    response = httpx.get(f"{console_server.url}/healthz", timeout=5)
    assert response.status_code == 200, console_server.log()
    assert response.json()["status"] == "ok"
    if console_server.kind == "postgres":
        assert console_server.db_url.startswith("postgresql://")
