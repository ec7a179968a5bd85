"""Screenshot signals from the real overlay process: the PrintScreen key and capture tools starting."""

from __future__ import annotations

import os
import pathlib
import subprocess
from collections.abc import Iterator

import numpy as np
import pytest

from agent.session.overlay_events import read_events
from tests.e2e.screen import backdrop, overlay_process, settled_slot, stop_process, wait_for, write_marks
from tests.fixtures.display import XDisplay, start_display, stop_display
from tests.fixtures.realparts import require_binary

pytestmark = pytest.mark.x11


@pytest.fixture(scope="module")
def screen() -> Iterator[XDisplay]:
    display = start_display(800, 600)
    yield display
    stop_display(display)


@pytest.fixture
def state_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    state = tmp_path / "state"
    state.mkdir()
    write_marks(state, 600, {settled_slot(600): 0x1111222233334444})
    return state


def captures(state_dir: pathlib.Path) -> list[dict[str, object]]:
    return [e for e in read_events(state_dir) if e.get("channel") == "screen_capture"]


@pytest.mark.parametrize("overlay", ["tiled", "qt"])
def test_printscreen_key_is_reported_with_the_active_window_title(
    screen: XDisplay, state_dir: pathlib.Path, tmp_path: pathlib.Path, overlay: str
) -> None:
    """Both overlays (X11 default; Qt, the Windows/macOS path) report through ScreenshotSignals."""
    xdotool = require_binary("xdotool", "xdotool")
    title = "Quarterly results - confidential"
    page = np.full((300, 400, 3), 240, np.uint8)
    env = {"LEAKGUARD_OVERLAY": "qt"} if overlay == "qt" else {}
    with backdrop(screen, page, 50, 50, tmp_path, title=title), overlay_process(screen, state_dir, extra_env=env):
        subprocess.run([xdotool, "key", "Print"], env=screen.env(), check=True)
        events = wait_for(lambda: captures(state_dir) or None, 5.0, "a screen_capture event")
    event = events[0]
    assert event["trigger"] == "print_key"
    assert event["window_title"] == title
    assert event["action"] == "audit" and event["detectors"] == []
    assert len(str(event["id"])) == 36 and str(event["ts"]).endswith("Z")


def test_the_key_still_reaches_the_application_and_a_burst_is_one_event(
    screen: XDisplay, state_dir: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """Observing PrintScreen must not take it away from the user's own capture tool."""
    from PySide6.QtCore import Qt

    xdotool = require_binary("xdotool", "xdotool")
    page = np.full((300, 400, 3), 240, np.uint8)
    with backdrop(screen, page, 50, 50, tmp_path, title="editor") as app, overlay_process(screen, state_dir):
        for _ in range(3):
            subprocess.run([xdotool, "key", "Print"], env=screen.env(), check=True)
        assert app.stdout is not None
        received = [app.stdout.readline().strip() for _ in range(3)]
        wait_for(lambda: captures(state_dir) or None, 5.0, "a screen_capture event")
    assert received == [f"key {Qt.Key.Key_Print.value}"] * 3
    assert len(captures(state_dir)) == 1, "three quick presses are one burst, one event"


def test_a_capture_tool_starting_is_reported(screen: XDisplay, state_dir: pathlib.Path,
                                             tmp_path: pathlib.Path) -> None:
    tool = tmp_path / "bin" / "flameshot"  # a process the OS names "flameshot", as the real tool is
    tool.parent.mkdir()
    os.symlink("/bin/sleep", tool)
    with overlay_process(screen, state_dir):
        process = subprocess.Popen([str(tool), "5"])
        try:
            events = wait_for(lambda: captures(state_dir) or None, 5.0, "a capture tool event")
        finally:
            stop_process(process)
    assert events[0]["trigger"] == "capture_tool" and events[0]["tool"] == "flameshot"


def test_active_window_comes_from_ewmh_when_a_window_manager_sets_it(screen: XDisplay, tmp_path: pathlib.Path) -> None:
    """With a window manager, _NET_ACTIVE_WINDOW names the active window (not the input focus)."""
    from agent.platform.overlay_x11 import X11OverlayPlatform

    xdotool = require_binary("xdotool", "xdotool")
    page = np.full((200, 300, 3), 200, np.uint8)
    with backdrop(screen, page, 10, 10, tmp_path, title="Payroll 2026.xlsx"), \
            backdrop(screen, page, 400, 10, tmp_path, title="Inbox"):
        found = subprocess.run([xdotool, "search", "--name", "^Payroll 2026.xlsx$"], env=screen.env(),
                               capture_output=True, text=True, check=True)
        window = found.stdout.split()[0]
        subprocess.run(["xprop", "-root", "-f", "_NET_ACTIVE_WINDOW", "32x", "-set", "_NET_ACTIVE_WINDOW", window],
                       env=screen.env(), check=True)
        try:
            assert X11OverlayPlatform(screen.name).active_window_title() == "Payroll 2026.xlsx"
        finally:
            subprocess.run(["xprop", "-root", "-remove", "_NET_ACTIVE_WINDOW"], env=screen.env(), check=True)
