"""The real overlay process on a real composited X display (Xvfb + xcompmgr), read back with mss."""

from __future__ import annotations

import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from tests.e2e.screen import (
    backdrop,
    busy_pattern,
    current_slot,
    grab,
    overlay_process,
    psnr,
    read_status,
    settled_slot,
    stop_process,
    wait_for,
    write_marks,
    write_settings,
)
from tests.fixtures.display import XDisplay, start_display, stop_display
from tests.fixtures.realparts import require_binary
from watermark.overlay import render_overlay

pytestmark = pytest.mark.x11
W, H = 1280, 720
MARK = 0x0123456789ABCDEF


@pytest.fixture(scope="module")
def screen() -> Iterator[XDisplay]:
    """A private display, so no other test's windows are on it."""
    display = start_display(W, H)
    yield display
    stop_display(display)


@pytest.fixture
def state_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    state = tmp_path / "state"
    state.mkdir()
    write_marks(state, 600, {settled_slot(600) + i: MARK + i for i in range(-1, 3)})
    return state


def expected_composite(mark: int, background: np.ndarray) -> np.ndarray:
    """What a compositor must show: alpha * colour + (1 - alpha) * background, per channel."""
    overlay = render_overlay(mark, background.shape[1], background.shape[0]).astype(np.float64)
    alpha = overlay[:, :, 3:4] / 255
    return alpha * overlay[:, :, :3] + (1 - alpha) * background.astype(np.float64)


def test_screen_shows_exactly_the_rendered_overlay(screen: XDisplay, state_dir: pathlib.Path,
                                                   tmp_path: pathlib.Path) -> None:
    pattern = busy_pattern(W, H)
    with backdrop(screen, pattern, 0, 0, tmp_path):
        bare = grab(screen, 0, 0, W, H)
        assert np.array_equal(bare, pattern), "the backdrop itself must reach the screen unchanged"
        with overlay_process(screen, state_dir):
            shot = grab(screen, 0, 0, W, H)
            status = read_status(state_dir)
    assert status is not None and status["screens"][0]["mark"] == f"{MARK:016x}"
    assert (status["screens"][0]["width"], status["screens"][0]["height"]) == (W, H)
    error = np.abs(shot.astype(np.float64) - expected_composite(MARK, pattern))
    assert error.max() <= 1.0, f"max error {error.max():.2f} levels (mean {error.mean():.3f})"
    assert not np.array_equal(shot, bare), "the overlay must change the screen"
    # ... and that is what `leakguard watermark render` writes for this screen size (the CLI contract)
    png = tmp_path / "render.png"
    subprocess.run([sys.executable, "-m", "leakguard.cli", "watermark", "render", "--mark", f"{MARK:016x}",
                    "--width", str(W), "--height", str(H), "--out", str(png)], check=True, capture_output=True)
    rendered = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
    assert rendered is not None and rendered.shape == (H, W, 4)
    assert np.array_equal(cv2.cvtColor(rendered, cv2.COLOR_BGRA2RGBA), render_overlay(MARK, W, H))


def test_the_qt_backend_still_shows_exactly_the_rendered_overlay(screen: XDisplay, state_dir: pathlib.Path,
                                                                tmp_path: pathlib.Path) -> None:
    """Windows and macOS draw through the Qt overlay; on X11 `LEAKGUARD_OVERLAY=qt` runs it here."""
    pattern = busy_pattern(W, H, seed=29)
    with backdrop(screen, pattern, 0, 0, tmp_path), \
            overlay_process(screen, state_dir, extra_env={"LEAKGUARD_OVERLAY": "qt"}) as process:
        shot = grab(screen, 0, 0, W, H)
        status = read_status(state_dir)
        maps = pathlib.Path(f"/proc/{process.pid}/maps").read_text()
    assert "libQt6" in maps, "this test is about the Qt backend"
    assert status is not None and status["platform"] == "x11" and status["screens"][0]["mark"] == f"{MARK:016x}"
    error = np.abs(shot.astype(np.float64) - expected_composite(MARK, pattern))
    assert error.max() <= 1.0, f"max error {error.max():.2f} levels (mean {error.mean():.3f})"


def test_overlay_stays_within_the_quality_budget(screen: XDisplay, state_dir: pathlib.Path,
                                                 tmp_path: pathlib.Path) -> None:
    page = np.full((H, W, 3), 255, np.uint8)
    page[100:600:20, 80:1200] = 20  # lines of "text" on a white page
    with backdrop(screen, page, 0, 0, tmp_path):
        without = grab(screen, 0, 0, W, H)
        with overlay_process(screen, state_dir):
            with_overlay = grab(screen, 0, 0, W, H)
    quality = psnr(without, with_overlay)
    assert 42.0 <= quality < float("inf"), f"PSNR {quality:.2f} dB"


def test_clicks_go_through_to_the_window_below(screen: XDisplay, state_dir: pathlib.Path,
                                               tmp_path: pathlib.Path) -> None:
    xdotool = require_binary("xdotool", "xdotool")
    with backdrop(screen, busy_pattern(400, 300), 200, 150, tmp_path) as app, overlay_process(screen, state_dir):
        subprocess.run([xdotool, "mousemove", "300", "250", "click", "1"], env=screen.env(), check=True)
        assert app.stdout is not None
        assert app.stdout.readline().strip() == "click 100 100"


def test_overlay_comes_back_on_top_of_a_new_window(screen: XDisplay, state_dir: pathlib.Path,
                                                   tmp_path: pathlib.Path) -> None:
    pattern = busy_pattern(W, H, seed=11)
    with overlay_process(screen, state_dir), backdrop(screen, pattern, 0, 0, tmp_path):
        expected = expected_composite(MARK, pattern)
        shot = wait_for(lambda: _matching(grab(screen, 0, 0, W, H), expected), 2.0, "overlay raised again")
    assert np.abs(shot - expected).max() <= 1.0


def test_overlay_stays_drawn_when_the_window_below_it_dies_unseen_by_the_compositor(
        screen: XDisplay, state_dir: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """The demo's rare "no mark found": a window that Chromium maps and destroys at start-up, while
    xcompmgr lags behind, is one xcompmgr never learns of; the overlay raises itself right above it,
    and xcompmgr, not finding that sibling, puts the overlay at the bottom of its own list and draws
    the browser over it for good, although the X server keeps the overlay on top. Stopping the
    compositor while the window lives and dies makes the race certain."""
    from Xlib import X, display

    pattern = busy_pattern(W, H, seed=37)
    compositor = screen.processes[1]
    with overlay_process(screen, state_dir), backdrop(screen, pattern, 0, 0, tmp_path):
        expected = expected_composite(MARK, pattern)
        wait_for(lambda: _matching(grab(screen, 0, 0, W, H), expected), 2.0, "overlay on top of the backdrop")
        conn = display.Display(screen.name)
        compositor.send_signal(signal.SIGSTOP)
        try:
            root = conn.screen().root
            brief = root.create_window(0, 0, 10, 10, 0, conn.screen().root_depth, X.InputOutput,
                                       X.CopyFromParent, override_redirect=True)
            brief.map()
            conn.sync()
            wait_for(lambda: root.query_tree().children[-1].id != brief.id, 2.0, "overlay raised above it")
            brief.destroy()
            conn.sync()
            time.sleep(0.3)  # the overlay sees it go
        finally:
            compositor.send_signal(signal.SIGCONT)
            conn.close()
        shot = wait_for(lambda: _matching(grab(screen, 0, 0, W, H), expected), 3.0, "overlay drawn again")
    assert np.abs(shot - expected).max() <= 1.0


def _matching(shot: np.ndarray, expected: np.ndarray) -> np.ndarray | None:
    return shot if np.abs(shot.astype(np.float64) - expected).max() <= 1.0 else None


def test_visible_layer_tiles_faint_text_across_the_screen(screen: XDisplay, state_dir: pathlib.Path,
                                                          tmp_path: pathlib.Path) -> None:
    write_settings(state_dir, invisible=False, text="alice @ pc-042  {time}", opacity=0.3)
    white = np.full((H, W, 3), 255, np.uint8)
    with backdrop(screen, white, 0, 0, tmp_path), overlay_process(screen, state_dir):
        shot = grab(screen, 0, 0, W, H).astype(int)
        status = read_status(state_dir)
    assert status is not None
    assert status["screens"][0]["mark"] is None  # policy switched the invisible layer off
    assert time.strftime("%Y-%m-%d") in status["screens"][0]["visible_text"]
    inked = shot.min(axis=2) < 250
    darkest = shot.min()
    # grey 128 at 30 % over white: 255 - 0.3 * 127 = 217 at the core of each glyph stroke
    assert 210 <= darkest <= 222, darkest
    assert 0.005 < inked.mean() < 0.25, inked.mean()
    for quadrant in (inked[: H // 2, : W // 2], inked[: H // 2, W // 2 :], inked[H // 2 :, : W // 2],
                     inked[H // 2 :, W // 2 :]):
        assert quadrant.mean() > 0.002, "text must be tiled over the whole screen"


def test_bad_state_file_keeps_the_last_overlay(screen: XDisplay, state_dir: pathlib.Path) -> None:
    with overlay_process(screen, state_dir) as process:
        (state_dir / "marks.json").write_text("{not json")
        time.sleep(0.8)
        assert process.poll() is None
        status = read_status(state_dir)
        assert status is not None and status["screens"][0]["mark"] == f"{MARK:016x}"
        assert "keeping the previous overlay" in (state_dir / "overlay.log").read_text()
        assert stop_process(process) == 0, "SIGTERM must end the overlay with exit status 0"


@pytest.mark.parametrize("after", [0.0, 0.7])
def test_sigterm_during_start_up_still_ends_it_cleanly(screen: XDisplay, state_dir: pathlib.Path, after: float) -> None:
    """A stop while Qt and numpy are still loading is kept and honoured: exit 0, not killed."""
    process = subprocess.Popen([sys.executable, "-m", "agent.session.overlay", "--state-dir", str(state_dir)],
                               env=screen.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    assert "starting" in process.stderr.readline()  # the handler is in place from here on
    time.sleep(after)
    process.terminate()
    code = process.wait(timeout=20)
    assert code == 0, process.stderr.read()[-3000:]


def test_mark_survives_the_visible_layer_of_a_high_zone(screen: XDisplay, state_dir: pathlib.Path,
                                                        tmp_path: pathlib.Path) -> None:
    """Visible text (the "high" zone's 12 %) on top of the invisible layer must not hide the mark."""
    from watermark.decoder import decode_image

    write_settings(state_dir, invisible=True, text="alice pc-042 10.0.0.7 {time}", opacity=0.12)
    page = busy_pattern(W, H, seed=17) // 2 + 100
    with backdrop(screen, page, 0, 0, tmp_path), overlay_process(screen, state_dir):
        shot = grab(screen, 0, 0, W, H)
    ok, jpeg = cv2.imencode(".jpg", shot[80:680, 100:1100, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 75])
    assert ok
    leaked = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert leaked is not None
    result = decode_image(np.ascontiguousarray(leaked[:, :, ::-1], dtype=np.uint8))
    assert result.found and [d.mark for d in result.marks] == [MARK]


def test_window_is_unmanaged_and_asks_to_stay_off_taskbar_and_pager(screen: XDisplay, state_dir: pathlib.Path) -> None:
    """Override-redirect: no window manager frames it, lists it in a taskbar or in Alt-Tab."""
    xdotool = require_binary("xdotool", "xdotool")
    with overlay_process(screen, state_dir):
        found = subprocess.run([xdotool, "search", "--name", "^leakguard-overlay$"], env=screen.env(),
                               capture_output=True, text=True, check=True)
        window = found.stdout.split()[0]
        info = subprocess.run(["xwininfo", "-all", "-id", window], env=screen.env(), capture_output=True,
                              text=True, check=True).stdout
        wanted = ("_NET_WM_STATE_SKIP_TASKBAR", "_NET_WM_STATE_SKIP_PAGER", "_NET_WM_STATE_ABOVE")

        def states_set() -> str | None:  # Qt rewrites the property; the overlay re-asserts it each second
            props = subprocess.run(["xprop", "-id", window, "_NET_WM_STATE"], env=screen.env(),
                                   capture_output=True, text=True, check=True).stdout
            return props if all(state in props for state in wanted) else None

        wait_for(states_set, 3.0, "the EWMH states on the overlay window")
    assert "Override Redirect State: yes" in info
    assert f"Width: {W}" in info and f"Height: {H}" in info and "Depth: 32" in info


def test_without_a_mark_for_this_slot_the_screen_is_untouched_and_it_says_why(
    screen: XDisplay, tmp_path: pathlib.Path
) -> None:
    state = tmp_path / "stale"
    state.mkdir()
    write_marks(state, 600, {current_slot(600) - 5: MARK})  # an old batch: the agent lost the console
    pattern = busy_pattern(W, H, seed=23)
    with backdrop(screen, pattern, 0, 0, tmp_path), overlay_process(screen, state):
        shot = grab(screen, 0, 0, W, H)
        status = read_status(state)
    assert status is not None and status["screens"][0]["mark"] is None
    assert np.array_equal(shot, pattern)
    assert "no watermark mark for the current time slot" in (state / "overlay.log").read_text()
