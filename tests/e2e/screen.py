"""Helpers for tests that look at a real (virtual) screen: capture, backdrops, the overlay process."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import cv2
import numpy as np

from tests.fixtures.display import XDisplay

EPOCH = 1_577_836_800  # watermark.marks.EPOCH


def grab(display: XDisplay, left: int, top: int, width: int, height: int) -> np.ndarray:
    """The composited screen region as RGB, read back from the X server with mss."""
    import mss

    with mss.MSS(display=display.name) as sct:
        shot = sct.grab({"left": left, "top": top, "width": width, "height": height})
    return np.asarray(shot)[:, :, 2::-1].copy()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def current_slot(slot_seconds: int, now: float | None = None) -> int:
    return int(((time.time() if now is None else now) - EPOCH) // slot_seconds)


def settled_slot(slot_seconds: int, margin: float = 30.0) -> int:
    """The current slot, after waiting for the next one if this one ends within ``margin`` seconds:
    an overlay started near the end of a slot re-keys to the next slot's mark during the test."""
    left = slot_seconds - (time.time() - EPOCH) % slot_seconds
    if left < margin:
        time.sleep(left + 0.05)
    return current_slot(slot_seconds)


def write_marks(state_dir: pathlib.Path, slot_seconds: int, marks: dict[int, int]) -> None:
    body = {"slot_seconds": slot_seconds, "marks": [{"slot": s, "mark": f"{m:016x}"} for s, m in marks.items()]}
    _atomic_write(state_dir / "marks.json", json.dumps(body))


def write_settings(state_dir: pathlib.Path, *, invisible: bool = True, text: str | None = None,
                   opacity: float = 0.0) -> None:
    body = {"invisible": invisible, "visible_text": text, "visible_opacity": opacity}
    _atomic_write(state_dir / "overlay.json", json.dumps(body))


def _atomic_write(path: pathlib.Path, text: str) -> None:
    temp = path.with_suffix(".tmp")
    temp.write_text(text)
    os.replace(temp, path)


def read_status(state_dir: pathlib.Path) -> dict[str, Any] | None:
    try:
        status: dict[str, Any] = json.loads((state_dir / "overlay-status.json").read_text())
        return status
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value is not None and value is not False:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def wait_status(state_dir: pathlib.Path, pid: int, check: Callable[[dict[str, Any]], bool],
                timeout: float = 20.0) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        status = read_status(state_dir)
        return status if status and status["pid"] == pid and check(status) else None

    status: dict[str, Any] = wait_for(ready, timeout, f"overlay {pid} status")
    return status


@contextmanager
def overlay_process(display: XDisplay, state_dir: pathlib.Path, screens: int = 1,
                    extra_env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """The real overlay process on `display`, ready (painted on `screens` monitors) on entry."""
    log = (state_dir / "overlay.log").open("ab")
    process = subprocess.Popen([sys.executable, "-m", "agent.session.overlay", "--state-dir", str(state_dir)],
                               env=display.env(**(extra_env or {})), stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_status(state_dir, process.pid, lambda s: len(s["screens"]) == screens)
        except AssertionError:
            raise AssertionError((state_dir / "overlay.log").read_text()[-3000:]) from None
        time.sleep(0.4)  # let the compositor draw the first frame
        yield process
    finally:
        stop_process(process)
        log.close()


def stop_process(process: subprocess.Popen[Any]) -> int | None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@contextmanager
def backdrop(display: XDisplay, image: np.ndarray, x: int, y: int, tmp: pathlib.Path,
             title: str = "backdrop") -> Iterator[subprocess.Popen[str]]:
    """An ordinary opaque application window showing `image` (RGB) at (x, y)."""
    path = tmp / f"backdrop-{x}-{y}.png"
    cv2.imwrite(str(path), image[:, :, ::-1])
    process = subprocess.Popen([sys.executable, "-m", "tests.e2e.backdrop", str(path), str(x), str(y), title],
                               env=display.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if line != "ready":
            raise AssertionError(f"backdrop did not start: {process.stderr.read() if process.stderr else ''}")
        yield process
    finally:
        stop_process(process)


def busy_pattern(width: int, height: int, seed: int = 7) -> np.ndarray:
    """A busy RGB image: gradients plus noise, so every pixel value range is exercised."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 255 // max(1, width - 1), yy * 255 // max(1, height - 1),
                     (xx + yy) * 255 // max(1, width + height - 2)], axis=-1)
    noise = rng.integers(-20, 21, size=(height, width, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)
