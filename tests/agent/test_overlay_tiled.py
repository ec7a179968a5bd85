"""The server-tiled X11 overlay's parts: the renderer child, the event loop, inotify, /proc polling,
and the lean process itself on a real composited display."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from agent.platform.linux_inotify import DirectoryWatch
from agent.session.overlay_capture import CaptureToolWatch
from agent.session.overlay_loop import PRINT_KEY, EventLoop
from agent.session.overlay_render import premultiplied
from tests.e2e.screen import (
    overlay_process,
    settled_slot,
    wait_for,
    write_marks,
    write_settings,
)
from tests.fixtures.display import XDisplay, start_display, stop_display
from watermark.marks import EPOCH
from watermark.overlay import render_tile

MARK = 0x0123456789ABCDEF


def run_renderer(request: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "agent.session.overlay_render"], input=json.dumps(request).encode(),
                          capture_output=True, timeout=60, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def split_output(data: bytes) -> list[tuple[dict[str, object], bytes]]:
    parts, offset = [], 0
    while offset < len(data):
        end = data.index(b"\n", offset)
        header = json.loads(data[offset:end])
        size = 0 if "error" in header else int(header["width"]) * int(header["height"]) * 4
        parts.append((header, data[end + 1 : end + 1 + size]))
        offset = end + 1 + size
    return parts


def test_premultiplying_is_exact_for_the_mark_and_rounds_grey_text() -> None:
    rgba = np.array([[[255, 255, 255, 3], [0, 0, 0, 4], [128, 128, 128, 77], [10, 20, 30, 0]]], np.uint8)
    lsb = np.frombuffer(premultiplied(rgba, "lsb"), "<u4")
    assert [hex(v) for v in lsb] == ["0x3030303", "0x4000000", hex((77 << 24) | (39 << 16) | (39 << 8) | 39), "0x0"]
    assert premultiplied(rgba, "msb") == np.frombuffer(premultiplied(rgba, "lsb"), "<u4").astype(">u4").tobytes()


def test_the_renderer_answers_each_job_in_order_and_names_bad_ones() -> None:
    jobs = [{"layer": "tile", "mark": MARK, "width": 1280, "height": 720},
            {"layer": "tile", "mark": MARK, "width": 0, "height": 720},
            {"layer": "nonsense", "width": 10, "height": 10},
            {"layer": "visible", "text": "alice pc-042", "opacity": 0.25, "width": 320, "height": 200}]
    done = run_renderer({"byte_order": "lsb", "jobs": jobs})
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    (tile_header, tile), (bad_size, _), (bad_layer, _), (text_header, text) = split_output(done.stdout)
    expected = render_tile(MARK, 1280, 720)
    assert (tile_header["width"], tile_header["height"]) == (expected.shape[1], expected.shape[0])
    pixels = np.frombuffer(tile, "<u4").reshape(expected.shape[:2])
    alpha = (pixels >> 24).astype(np.uint8)
    assert np.array_equal(alpha, expected[..., 3])
    assert np.array_equal(((pixels >> 16) & 0xFF).astype(np.uint8), np.where(expected[..., 0] == 255, alpha, 0))
    assert "width and height" in str(bad_size["error"]) and "unknown layer" in str(bad_layer["error"])
    text_pixels = np.frombuffer(text, "<u4").reshape(200, 320)
    assert (text_pixels >> 24).max() == round(255 * 0.25) and 0.01 < ((text_pixels >> 24) > 0).mean() < 0.5


@pytest.mark.parametrize("request_body", ["{not json", "[]", '{"jobs": 5}', '{"jobs": [], "byte_order": "middle"}'])
def test_a_bad_request_is_a_clear_error(request_body: str) -> None:
    done = subprocess.run([sys.executable, "-m", "agent.session.overlay_render"], input=request_body.encode(),
                          capture_output=True, timeout=60)
    assert done.returncode == 2 and b"bad request" in done.stderr and done.stdout == b""


def test_the_loop_runs_timers_in_order_cancels_and_wakes_from_threads() -> None:
    loop = EventLoop()
    seen: list[str] = []
    loop.call_later(0.02, lambda: seen.append("second"))
    loop.call_later(0.0, lambda: seen.append("first"))
    loop.call_later(0.01, lambda: seen.append("never")).cancel()
    loop.on_wake = lambda data: seen.append(data.decode())
    threading.Thread(target=lambda: loop.wake(PRINT_KEY)).start()
    try:
        loop.run(lambda: len(seen) >= 3, lambda: None)
    finally:
        loop.close()
    assert sorted(seen) == ["P", "first", "second"]  # the thread's wake-up may come before or between
    assert [name for name in seen if name != "P"] == ["first", "second"]


def test_the_loop_calls_a_reader_when_its_descriptor_has_data() -> None:
    loop = EventLoop()
    read_end, write_end = os.pipe()
    got: list[bytes] = []
    loop.add_reader(read_end, lambda: got.append(os.read(read_end, 100)))
    os.write(write_end, b"hello")
    try:
        loop.run(lambda: bool(got), lambda: None)
    finally:
        loop.close()
        os.close(read_end)
        os.close(write_end)
    assert got == [b"hello"]


def test_inotify_names_files_written_and_replaced(tmp_path: pathlib.Path) -> None:
    watch = DirectoryWatch(tmp_path)
    try:
        assert watch.changed() == set()
        (tmp_path / "overlay.json").write_text("{}")
        (tmp_path / ".marks.tmp").write_text("{}")
        os.replace(tmp_path / ".marks.tmp", tmp_path / "marks.json")
        names = watch.changed()
        assert names is not None and {"overlay.json", "marks.json"} <= names
        assert watch.changed() == set()
    finally:
        watch.close()


def test_a_tool_whose_name_linux_truncates_is_still_recognised(tmp_path: pathlib.Path) -> None:
    tool = tmp_path / "xfce4-screenshooter"  # /proc/PID/comm keeps "xfce4-screensho"
    os.symlink("/bin/sleep", tool)
    watch = CaptureToolWatch(since=0)
    watch.poll()
    process = subprocess.Popen([str(tool), "30"])
    try:
        comm = pathlib.Path(f"/proc/{process.pid}/comm")
        wait_for(lambda: comm.read_text().strip() == "xfce4-screensho", 10.0, "the child to exec")
        assert watch.poll() == ["xfce4-screenshooter"]
        assert watch.poll() == []
    finally:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def screen() -> Iterator[XDisplay]:
    display = start_display(640, 480)
    yield display
    stop_display(display)


@pytest.mark.x11
def test_the_x11_overlay_process_loads_neither_qt_nor_numpy(screen: XDisplay, tmp_path: pathlib.Path) -> None:
    """The point of the server-tiled overlay: pixels live in the X server, the process stays small."""
    state = tmp_path / "state"
    state.mkdir()
    write_marks(state, 600, {settled_slot(600): MARK})
    marks = json.loads((state / "marks.json").read_text())
    (state / "marks.json").write_text(json.dumps({**marks, "epoch": EPOCH}))  # as the agent service writes it
    write_settings(state, text="alice pc-042 {time}", opacity=0.12)
    with overlay_process(screen, state) as process:
        maps = pathlib.Path(f"/proc/{process.pid}/maps").read_text()
        threads = len(os.listdir(f"/proc/{process.pid}/task"))
    assert "libQt6" not in maps and "PySide6" not in maps
    assert "numpy" not in maps
    assert "cryptography" not in maps, "slots are counted from the epoch in marks.json"
    assert threads == 2, "the main loop plus the RECORD key watcher"
