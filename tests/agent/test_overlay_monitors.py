"""Several monitors (RandR 1.5 monitors on one Xvfb screen), hot-plug, resolution and scale changes,
and the re-key at a time-slot boundary, all read back from the real composited screen."""

from __future__ import annotations

import contextlib
import pathlib
import subprocess
import time
from collections.abc import Iterator

import numpy as np
import pytest

from tests.e2e.screen import (
    EPOCH,
    backdrop,
    busy_pattern,
    current_slot,
    grab,
    overlay_process,
    wait_status,
    write_marks,
)
from tests.fixtures.display import XDisplay, start_display, stop_display
from tests.fixtures.realparts import require_binary
from watermark.decoder import decode_image
from watermark.overlay import render_overlay

pytestmark = pytest.mark.x11
W, H = 1920, 1080
MARK = 0x5EC0DE5EC0DE0042


@pytest.fixture(scope="module")
def screen() -> Iterator[XDisplay]:
    display = start_display(W, H)
    yield display
    stop_display(display)


def xrandr(display: XDisplay, *args: str) -> None:
    binary = require_binary("xrandr", "x11-xserver-utils")
    subprocess.run([binary, *args], env=display.env(), check=True, capture_output=True)


@pytest.fixture
def two_monitors(screen: XDisplay) -> Iterator[None]:
    xrandr(screen, "--setmonitor", "LEFT", f"{W // 2}/254x{H}/286+0+0", "screen")
    xrandr(screen, "--setmonitor", "RIGHT", f"{W // 2}/254x{H}/286+{W // 2}+0", "none")
    yield
    xrandr(screen, "--delmonitor", "RIGHT")
    xrandr(screen, "--delmonitor", "LEFT")


def composite(mark: int, background: np.ndarray, screen_size: tuple[int, int] | None = None) -> np.ndarray:
    """The expected screen; the overlay is rendered for `screen_size` (w, h) and cropped to fit."""
    width, height = screen_size or (background.shape[1], background.shape[0])
    overlay = render_overlay(mark, width, height)[: background.shape[0], : background.shape[1]].astype(np.float64)
    alpha = overlay[:, :, 3:4] / 255
    return np.asarray(alpha * overlay[:, :, :3] + (1 - alpha) * background, dtype=np.float64)


def max_error(shot: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(shot.astype(np.float64) - expected).max())


def marks_dir(tmp_path: pathlib.Path, slot_seconds: int = 600, marks: dict[int, int] | None = None) -> pathlib.Path:
    """A state folder with marks.json: `marks`, or MARK for this slot and the next (a test that
    starts just before a slot boundary still finds its mark; seen once in CI, at 16:10 UTC)."""
    state = tmp_path / "state"
    state.mkdir()
    slot = current_slot(slot_seconds)
    write_marks(state, slot_seconds, marks or {slot: MARK, slot + 1: MARK})
    return state


def test_each_monitor_carries_its_own_full_overlay(screen: XDisplay, two_monitors: None,
                                                   tmp_path: pathlib.Path) -> None:
    pattern = busy_pattern(W, H, seed=3)
    state = marks_dir(tmp_path)
    with backdrop(screen, pattern, 0, 0, tmp_path), overlay_process(screen, state, screens=2) as process:
        shot = grab(screen, 0, 0, W, H)
        status = wait_status(state, process.pid, lambda s: len(s["screens"]) == 2)
    assert sorted((s["x"], s["width"], s["height"], s["mark"]) for s in status["screens"]) == [
        (0, W // 2, H, f"{MARK:016x}"), (W // 2, W // 2, H, f"{MARK:016x}")]
    for left in (0, W // 2):  # each monitor shows render_overlay for its own size, from its own origin
        region = np.s_[:, left : left + W // 2]
        assert max_error(shot[region], composite(MARK, pattern[region])) <= 1.0
    across = decode_image(shot)
    assert across.found and {d.mark for d in across.marks} == {MARK}
    for left in (0, W // 2):
        assert {d.mark for d in decode_image(shot[:, left : left + W // 2]).marks} == {MARK}


def test_follows_hotplug_and_resolution_changes(screen: XDisplay, tmp_path: pathlib.Path) -> None:
    pattern = busy_pattern(W, H, seed=5)
    state = marks_dir(tmp_path)
    with backdrop(screen, pattern, 0, 0, tmp_path), overlay_process(screen, state, screens=1) as process:
        xrandr(screen, "--setmonitor", "LEFT", f"{W // 2}/254x{H}/286+0+0", "screen")
        xrandr(screen, "--setmonitor", "RIGHT", f"{W // 2}/254x{H}/286+{W // 2}+0", "none")
        wait_status(state, process.pid, lambda s: len(s["screens"]) == 2, timeout=5)
        time.sleep(0.4)
        right = np.s_[:, W // 2 :]
        assert max_error(grab(screen, 0, 0, W, H)[right], composite(MARK, pattern[right])) <= 1.0
        # the right panel is swapped for one with twice the DPI: still one image pixel per pixel
        xrandr(screen, "--delmonitor", "RIGHT")
        xrandr(screen, "--setmonitor", "RIGHT", f"{W // 2}/127x{H}/143+{W // 2}+0", "none")
        time.sleep(1.0)
        wait_status(state, process.pid, lambda s: len(s["screens"]) == 2, timeout=5)
        assert max_error(grab(screen, 0, 0, W, H)[right], composite(MARK, pattern[right])) <= 1.0
        xrandr(screen, "--delmonitor", "RIGHT")
        xrandr(screen, "--delmonitor", "LEFT")
        wait_status(state, process.pid, lambda s: [m["width"] for m in s["screens"]] == [W], timeout=5)
        _add_mode(screen, 1280, 720)
        try:
            xrandr(screen, "--output", "screen", "--mode", "1280x720")
            wait_status(state, process.pid, lambda s: [m["width"] for m in s["screens"]] == [1280], timeout=5)
            time.sleep(0.4)
            small = np.s_[:720, :1280]
            assert max_error(grab(screen, 0, 0, 1280, 720), composite(MARK, pattern[small])) <= 1.0
        finally:
            xrandr(screen, "--output", "screen", "--mode", f"{W}x{H}")


def _add_mode(display: XDisplay, width: int, height: int) -> None:
    name = f"{width}x{height}"
    with contextlib.suppress(subprocess.CalledProcessError):  # defined by an earlier run already
        xrandr(display, "--newmode", name, "74.50", str(width), str(width + 64), str(width + 192),
               str(width + 384), str(height), str(height + 3), str(height + 8), str(height + 28))
    xrandr(display, "--addmode", "screen", name)


def test_toolkit_scaling_settings_do_not_scale_the_overlay(screen: XDisplay, tmp_path: pathlib.Path) -> None:
    """A user's QT_SCALE_FACTOR / 192-dpi setting must not make Qt resample the watermark."""
    pattern = busy_pattern(W, H, seed=9)
    state = marks_dir(tmp_path)
    env = {"QT_SCALE_FACTOR": "2", "QT_FONT_DPI": "192", "QT_SCREEN_SCALE_FACTORS": "2"}
    with backdrop(screen, pattern, 0, 0, tmp_path), overlay_process(screen, state, extra_env=env):
        shot = grab(screen, 0, 0, W, H)
    assert max_error(shot, composite(MARK, pattern)) <= 1.0


def _slot_seconds_with_boundary_in(low: float, high: float) -> tuple[int, float]:
    """A slot length (a legal one: slots fit in 22 bits) whose next boundary is low..high s away.

    For one instant no length in range may qualify (CI once hit that), so the search looks again a
    quarter second later, which shifts every phase, for up to ten seconds.
    """
    for _ in range(40):
        now = time.time()
        for seconds in range(60, 20_000):
            wait = seconds - (now - EPOCH) % seconds
            if low <= wait <= high:
                return seconds, now + wait
        time.sleep(0.25)
    raise AssertionError("no slot length has a boundary in that window for ten seconds")


@pytest.mark.slow
def test_rekeys_at_the_slot_boundary_without_a_flash(screen: XDisplay, tmp_path: pathlib.Path) -> None:
    seconds, boundary = _slot_seconds_with_boundary_in(5.0, 7.0)
    old, new = 0x0BAD0BAD0BAD0001, 0x600D600D600D0002
    slot = current_slot(seconds)
    state = marks_dir(tmp_path, seconds, {slot: old, slot + 1: new})
    pattern = busy_pattern(512, 512, seed=13)
    expect_old, expect_new = composite(old, pattern, (W, H)), composite(new, pattern, (W, H))
    seen: list[str] = []
    with backdrop(screen, pattern, 0, 0, tmp_path), overlay_process(screen, state):
        while time.time() < boundary + 1.5:
            shot = grab(screen, 0, 0, 512, 512)
            seen.append("old" if max_error(shot, expect_old) <= 1 else "new" if max_error(shot, expect_new) <= 1
                        else "other")
    assert "other" not in seen, f"a frame showed neither mark: {seen.count('other')} of {len(seen)}"
    transitions = [i for i in range(1, len(seen)) if seen[i] != seen[i - 1]]
    assert seen[0] == "old" and seen[-1] == "new" and len(transitions) == 1, transitions
