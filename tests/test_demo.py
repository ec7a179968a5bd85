"""`leakguard demo --once` runs the whole customer loop on a virtual display and traces the leak."""

from __future__ import annotations

import pathlib
import re
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
