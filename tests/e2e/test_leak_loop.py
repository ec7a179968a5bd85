"""The leak-to-user loop end to end: a real console (SQLite and PostgreSQL), a real enrolled agent
whose supervisor runs the overlay on a composited Xvfb display, Chromium showing a confidential
document under it, a real screenshot (mss), cropped and saved as JPEG 75, traced back to the person."""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np
import psutil
import pytest

from tests.e2e.deployment import (
    DOCUMENT_TITLE,
    Analyst,
    RunningAgent,
    create_analyst,
    current_user,
    enrollment_token,
    launch_document,
    start_agent,
    wait_document,
)
from tests.e2e.screen import grab, psnr, stop_process, wait_for
from tests.fixtures.consoles import ConsoleServer
from tests.fixtures.display import XDisplay, start_display, stop_display
from tests.fixtures.realparts import require_binary

pytestmark = [pytest.mark.x11, pytest.mark.slow]
W, H = 1920, 1080
DOC = (0, 0, 1400, 900)  # where Chromium shows the document


@dataclass
class Deployment:
    display: XDisplay
    console: ConsoleServer
    analyst: Analyst
    agent: RunningAgent
    workdir: pathlib.Path
    bare_document: np.ndarray  # the document on screen before the agent (and its overlay) started


@pytest.fixture(scope="module")
def deployment(console_server: ConsoleServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    require_binary("xdotool", "xdotool")
    workdir = tmp_path_factory.mktemp(f"e2e-{console_server.kind}")
    display = start_display(W, H)
    browser = agent = None
    try:
        browser = launch_document(display, workdir, *DOC)  # starts while the CLI steps run
        with ThreadPoolExecutor(2) as pool:  # two independent console CLI calls, side by side
            analyst_job = pool.submit(create_analyst, console_server.url, console_server.db_url)
            token = enrollment_token(console_server.db_url)
            analyst = analyst_job.result()
        wait_document(display)
        bare = grab(display, *DOC)
        agent = start_agent(console_server.url, console_server.db_url, display, workdir, token=token)
        agent.wait_overlay()
        time.sleep(0.5)
        yield Deployment(display, console_server, analyst, agent, workdir, bare)
    finally:
        if agent is not None:
            agent.stop()
        if browser is not None:
            stop_process(browser)
        stop_display(display)


def leak_screenshot(deployment: Deployment, name: str, box: tuple[int, int, int, int]) -> tuple[pathlib.Path, float]:
    """What a leaker does: grab the screen, crop the interesting part, save it as JPEG 75."""
    taken = time.time()
    shot = grab(deployment.display, 0, 0, W, H)
    left, top, width, height = box
    path = deployment.workdir / name
    cv2.imwrite(str(path), shot[top : top + height, left : left + width, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 75])
    return path, taken


def parse_time(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_leaked_screenshot_names_the_user_host_and_time(deployment: Deployment) -> None:
    status = deployment.agent.wait_overlay()
    leak, taken = leak_screenshot(deployment, "leak.jpg", (60, 40, 1200, 760))
    from_cli = deployment.analyst.trace_cli(leak)
    assert from_cli["found"] is True, from_cli
    assert from_cli["mark"] == status["screens"][0]["mark"]
    assert from_cli["user"] == current_user()
    assert from_cli["hostname"] == socket.gethostname()
    assert parse_time(from_cli["time_from"]) <= taken < parse_time(from_cli["time_to"])
    from_http = deployment.analyst.trace_http(leak)
    same = ("found", "mark", "agent_id", "hostname", "user", "time_from", "time_to", "evidence_sha256")
    assert {k: from_http[k] for k in same} == {k: from_cli[k] for k in same}
    assert from_http["case_id"] is not None


def test_overlay_costs_less_than_the_quality_budget(deployment: Deployment) -> None:
    deployment.agent.wait_overlay()
    with_overlay = grab(deployment.display, *DOC)
    quality = psnr(deployment.bare_document, with_overlay)
    assert 42.0 <= quality < float("inf"), f"PSNR {quality:.2f} dB"


def test_clicks_reach_the_document_under_the_overlay(deployment: Deployment) -> None:
    env = deployment.display.env()
    # The "Acknowledge" button sits under the document text; click where Chromium drew it.
    target = _find_button(grab(deployment.display, *DOC))
    subprocess.run(["xdotool", "mousemove", str(target[0]), str(target[1]), "click", "1"], env=env, check=True)
    wait_for(lambda: _window_titled(deployment.display, "acknowledged"), 10, "the page to see the click")


def _find_button(shot: np.ndarray) -> tuple[int, int]:
    """Centre of the lowest block of non-white pixels: the button below the last paragraph."""
    ink_rows = np.where(np.any(shot < 200, axis=(1, 2)))[0]
    last_row = int(ink_rows.max())
    row = shot[last_row - 8]
    ink_cols = np.where((row < 230).any(axis=1))[0]
    return int(ink_cols.min() + ink_cols.max()) // 2, last_row - 8


def _window_titled(display: XDisplay, title: str) -> bool:
    found = subprocess.run(["xdotool", "search", "--name", f"^{title}$"], env=display.env(), capture_output=True)
    return found.returncode == 0


def test_printscreen_reaches_the_console_with_the_window_title(deployment: Deployment) -> None:
    env = deployment.display.env()
    titles = f"^({DOCUMENT_TITLE}|acknowledged)$"  # the click test may have renamed the page
    window = subprocess.run(["xdotool", "search", "--name", titles], env=env, capture_output=True, text=True)
    subprocess.run(["xdotool", "windowfocus", "--sync", window.stdout.split()[0]], env=env, check=True)
    subprocess.run(["xdotool", "key", "Print"], env=env, check=True)

    def reported() -> dict[str, object] | None:
        for event in deployment.analyst.events("screen_capture"):
            if event.get("details", {}).get("trigger") == "print_key":
                return dict(event)
        return None

    event = wait_for(reported, 20, "the screen_capture event in the console", interval=0.5)
    assert event["details"]["window_title"] in (DOCUMENT_TITLE, "acknowledged")
    assert event["user"] == current_user()


def test_killed_overlay_comes_back_and_the_console_hears_of_it(deployment: Deployment) -> None:
    old = deployment.agent.wait_overlay()["pid"]
    killed_at = time.monotonic()
    os.kill(old, signal.SIGKILL)
    restarted = wait_for(lambda: _overlay_process(deployment.agent, exclude=old), 2.0, "a new overlay process",
                         interval=0.02)
    back_after = time.monotonic() - killed_at
    status = deployment.agent.wait_overlay(lambda s: s["pid"] == restarted, timeout=15)
    painted_after = time.monotonic() - killed_at
    print(f"overlay restarted after {back_after:.2f} s, painting again after {painted_after:.2f} s")
    assert status["screens"][0]["mark"]

    def died_event() -> dict[str, object] | None:
        for event in deployment.analyst.events("agent"):
            details = event.get("details", {})
            if details.get("kind") == "session_part_died" and details.get("part") == "overlay":
                return dict(event)
        return None

    event = wait_for(died_event, 20, "the agent event about the overlay", interval=0.5)
    assert event["details"]["exit_code"] == -signal.SIGKILL


def _overlay_process(agent: RunningAgent, exclude: int) -> int | None:
    for child in psutil.Process(agent.process.pid).children(recursive=True):
        try:
            if child.pid != exclude and "agent.session.overlay" in " ".join(child.cmdline()):
                return child.pid
        except psutil.NoSuchProcess:
            continue
    return None


def test_capture_across_two_monitors_reports_both_marks(deployment: Deployment) -> None:
    env = deployment.display.env()
    xrandr = require_binary("xrandr", "x11-xserver-utils")
    subprocess.run([xrandr, "--setmonitor", "LEFT", f"{W // 2}/254x{H}/286+0+0", "screen"], env=env, check=True)
    subprocess.run([xrandr, "--setmonitor", "RIGHT", f"{W // 2}/254x{H}/286+{W // 2}+0", "none"], env=env, check=True)
    try:
        # The agent sees two screens in overlay-status.json, fetches a mark for monitor 1, the overlay shows it.
        two_marks = lambda s: len(s["screens"]) == 2 and len({x["mark"] for x in s["screens"]}) == 2  # noqa: E731
        for _attempt in range(3):  # a capture that straddles a time-slot change is taken again
            status = deployment.agent.wait_overlay(two_marks, timeout=30)
            time.sleep(0.5)
            leak, _ = leak_screenshot(deployment, "across.jpg", (560, 100, 800, 700))  # spans the monitor edge
            shown = {s["monitor"]: s["mark"] for s in status["screens"]}
            after = deployment.agent.wait_overlay(two_marks, timeout=30)
            if {s["monitor"]: s["mark"] for s in after["screens"]} == shown:
                break
        assert sorted(shown) == [0, 1]
        left, right = (shown[s["monitor"]] for s in sorted(status["screens"], key=lambda s: s["x"]))
        expected = {(shown[m], m) for m in (0, 1)}
        from_http = deployment.analyst.trace_http(leak)
        assert {(m["mark"], m["monitor"]) for m in from_http["marks"]} == expected
        assert {(m["agent_id"], m["user"]) for m in from_http["marks"]} == {(from_http["agent_id"], current_user())}
        from_cli = deployment.analyst.trace_cli(leak)
        assert {(m["mark"], m.get("monitor")) for m in from_cli["marks"]} == expected
        assert {m.get("agent_id") for m in from_cli["marks"]} == {from_http["agent_id"]}
        raw = cv2.imread(str(leak))
        assert raw is not None
        image = raw[:, :, ::-1]
        from watermark.decoder import decode_image

        for half, mark in ((image[:, :400], left), (image[:, 400:], right)):  # each monitor's part, its mark
            assert f"{decode_image(np.ascontiguousarray(half)).marks[0].mark:016x}" == mark
    finally:
        subprocess.run([xrandr, "--delmonitor", "RIGHT"], env=env, check=False)
        subprocess.run([xrandr, "--delmonitor", "LEFT"], env=env, check=False)
