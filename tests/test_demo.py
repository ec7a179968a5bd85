"""`leakguard demo --once` runs the whole customer loop on a virtual display and traces the leak."""

from __future__ import annotations

import pathlib
import re
import sqlite3
import subprocess
import sys

import pytest

from tests.fixtures.realparts import free_port, require_binary


@pytest.mark.x11
@pytest.mark.slow
def test_demo_leaks_a_screenshot_and_traces_it_to_the_user(tmp_path: pathlib.Path) -> None:
    require_binary("Xvfb", "xvfb")
    require_binary("xcompmgr", "xcompmgr")
    result = subprocess.run(
        [sys.executable, "-m", "leakguard.cli", "demo", "--once", "--virtual",
         "--dir", str(tmp_path / "demo"), "--port", str(free_port())],
        capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    traced = re.search(r"Traced:\s+mark ([0-9a-f]{16}) -> user (\S+) on (\S+), (\S+) \.\. (\S+)", result.stdout)
    assert traced, result.stdout
    marks = (tmp_path / "demo" / "agent" / "marks.json").read_text()
    assert traced.group(1) in marks  # the traced mark is one the console issued to this agent
    assert (tmp_path / "demo" / "leak.jpg").stat().st_size > 10_000
    assert "login: admin / " in result.stdout
    assert (tmp_path / "demo" / "master.key").stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(tmp_path / "demo" / "console.db") as db:  # the console's keys sealed under it
        assert all(secret.startswith(b"LGK1") for (secret,) in db.execute(
            "SELECT secret FROM key_material WHERE kind IN ('policy_sign', 'mark_secret')"))


@pytest.mark.x11
def test_a_failed_trace_names_the_windows_on_top(tmp_path: pathlib.Path) -> None:
    """When the demo's leak carries no mark, it says which windows were uppermost (an overlay
    pushed under a browser window would show there)."""
    from Xlib import display

    from leakguard.demo_steps import DemoRun
    from leakguard.xdisplay import start_virtual_display

    require_binary("Xvfb", "xvfb")
    require_binary("xcompmgr", "xcompmgr")
    screen = start_virtual_display(640, 480)
    try:
        conn = display.Display(screen.name)
        root = conn.screen().root
        for name in ("leakguard-overlay", "Project Falcon - Chromium"):
            window = root.create_window(0, 0, 100, 100, 0, conn.screen().root_depth)
            window.set_wm_name(name)
            window.map()
        conn.sync()
        demo = DemoRun(tmp_path, free_port())
        demo.display_name = screen.name
        assert demo.top_windows()[:2] == ["Project Falcon - Chromium", "leakguard-overlay"]
        conn.close()
    finally:
        screen.stop()
