"""Unit tests of the overlay's pure parts: state files, frame composition, visible layer, events."""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from agent.session.overlay_capture import tool_name
from agent.session.overlay_events import SESSION_EVENTS_FILE, append_event, read_events, screen_capture_event
from agent.session.overlay_frame import FrameSpec, blend_over, compose_frame
from agent.session.overlay_state import (
    MarkSchedule,
    OverlaySettings,
    OverlayStateError,
    parse_marks,
    parse_settings,
    read_settings,
)
from watermark.marks import EPOCH, slot_for


def test_marks_file_gives_the_mark_of_the_current_slot() -> None:
    schedule = parse_marks(json.dumps({"slot_seconds": 600, "marks": [
        {"slot": 100, "mark": "00000000000000ff"}, {"slot": 101, "mark": "ABCDEF0123456789"}]}))
    assert schedule.mark_at(EPOCH + 100 * 600 + 5) == 0xFF
    assert schedule.mark_at(EPOCH + 101 * 600) == 0xABCDEF0123456789
    assert schedule.mark_at(EPOCH + 102 * 600) is None  # batch ran out: no mark, no crash
    assert schedule.next_boundary(EPOCH + 100 * 600 + 5) == EPOCH + 101 * 600
    assert schedule.slot_at(EPOCH + 100 * 600 + 5) == slot_for(EPOCH + 100 * 600 + 5, 600)


def test_the_epoch_handed_over_in_marks_json_counts_slots_as_the_watermark_package_does() -> None:
    entries = [{"slot": 100, "mark": "00000000000000ff"}]
    plain = parse_marks(json.dumps({"slot_seconds": 600, "marks": entries}))
    handed = parse_marks(json.dumps({"slot_seconds": 600, "epoch": EPOCH, "marks": entries}))
    assert handed.epoch == EPOCH and plain.epoch is None
    for when in (EPOCH + 100 * 600 - 0.5, EPOCH + 100 * 600, EPOCH + 100 * 600 + 599.9, EPOCH + 123_456.7):
        assert handed.slot_at(when) == plain.slot_at(when) == slot_for(when, 600)
        assert handed.next_boundary(when) == plain.next_boundary(when)
        assert handed.slot_start(when) == plain.slot_start(when)
        assert handed.mark_at(when) == plain.mark_at(when)
    with pytest.raises(OverlayStateError, match="`epoch` must be a non-negative integer"):
        parse_marks(json.dumps({"slot_seconds": 600, "epoch": "2020", "marks": []}))


def test_a_clock_outside_the_slot_range_shows_no_mark() -> None:
    schedule = MarkSchedule(600, {0: 1})
    assert schedule.mark_at(EPOCH - 10_000) is None


@pytest.mark.parametrize(("body", "message"), [
    ("[1, 2]", "top level must be a JSON object"),
    ("{nope", "not valid JSON"),
    ('{"slot_seconds": 0, "marks": []}', "`slot_seconds` must be a positive integer"),
    ('{"slot_seconds": true, "marks": []}', "`slot_seconds` must be a positive integer"),
    ('{"slot_seconds": 600}', "`marks` must be a list"),
    ('{"slot_seconds": 600, "marks": [5]}', "marks[0] must be an object"),
    ('{"slot_seconds": 600, "marks": [{"slot": -1, "mark": "0000000000000001"}]}', "marks[0].slot"),
    ('{"slot_seconds": 600, "marks": [{"slot": 1, "mark": "123"}]}', "marks[0].mark must be 16 hex"),
    ('{"slot_seconds": 600, "marks": [{"slot": 1, "mark": "zzzzzzzzzzzzzzzz"}]}', "marks[0].mark must be 16 hex"),
])
def test_bad_marks_files_are_refused_with_the_field_named(body: str, message: str) -> None:
    with pytest.raises(OverlayStateError, match="marks.json") as error:
        parse_marks(body)
    assert message in str(error.value)


@pytest.mark.parametrize(("body", "message"), [
    ('{"invisible": "yes"}', "`invisible` must be true or false"),
    ('{"visible_text": 5}', "`visible_text` must be a string or null"),
    ('{"visible_opacity": 1.5}', "`visible_opacity` must be a number from 0 to 1"),
    ('{"visible_opacity": true}', "`visible_opacity` must be a number from 0 to 1"),
    ('{"visible_text": "' + "x" * 600 + '"}', "longer than 512"),
])
def test_bad_settings_are_refused(body: str, message: str) -> None:
    with pytest.raises(OverlayStateError, match="overlay.json") as error:
        parse_settings(body)
    assert message in str(error.value)


def test_settings_default_to_invisible_only(tmp_path: pathlib.Path) -> None:
    assert read_settings(tmp_path) == OverlaySettings(invisible=True, visible_text=None, visible_opacity=0.0)
    assert parse_settings('{"invisible": false, "visible_text": "", "visible_opacity": 0.2}') == OverlaySettings(
        False, None, 0.2)


def _solid(colour: tuple[int, int, int, int], h: int = 2, w: int = 3) -> np.ndarray:
    return np.tile(np.array(colour, np.uint8), (h, w, 1))


def test_blend_over_follows_porter_duff_for_straight_alpha() -> None:
    out = blend_over(_solid((0, 0, 255, 128)), _solid((255, 0, 0, 255)))
    assert tuple(out[0, 0]) == (127, 0, 128, 255)
    out = blend_over(_solid((10, 20, 30, 0)), _solid((1, 2, 3, 3)))
    assert tuple(out[0, 0]) == (1, 2, 3, 3)  # a transparent top keeps the invisible layer untouched
    out = blend_over(_solid((0, 0, 0, 0)), _solid((0, 0, 0, 0)))
    assert tuple(out[0, 0]) == (0, 0, 0, 0)


def test_frame_is_the_invisible_layer_alone_when_no_visible_text() -> None:
    invisible = _solid((1, 2, 3, 3), 4, 5)
    frame = compose_frame(FrameSpec(5, 4, 42, None, 0.0), render_invisible=lambda m, w, h: invisible,
                          render_visible=_never)
    assert np.array_equal(frame, invisible)


def test_frame_without_mark_is_transparent_plus_visible_text() -> None:
    text_layer = _solid((128, 128, 128, 40), 4, 5)
    frame = compose_frame(FrameSpec(5, 4, None, "alice", 0.2), render_invisible=_never,
                          render_visible=lambda t, w, h, o: text_layer)
    assert np.array_equal(frame, text_layer)


def test_a_renderer_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError, match="expected \\(4, 5, 4\\) uint8"):
        compose_frame(FrameSpec(5, 4, 7, None, 0.0), render_invisible=lambda m, w, h: _solid((0, 0, 0, 3)),
                      render_visible=_never)


def _never(*args: object) -> np.ndarray:
    raise AssertionError("this layer must not be rendered")


RENDER_VISIBLE = """
import sys, numpy as np
from PySide6.QtGui import QGuiApplication
from agent.session.visible import render_visible
app = QGuiApplication([])
np.save(sys.argv[1], render_visible(sys.argv[2], 640, 360, opacity=0.25))
try:
    render_visible("x", 0, 10, opacity=0.2)
except ValueError as exc:
    print(exc)
"""


def test_visible_layer_is_faint_grey_text_tiled_over_the_screen(tmp_path: pathlib.Path) -> None:
    from agent.session.visible import fill_placeholders

    text = fill_placeholders("bob @ pc-7 {ip} {time}", dt.datetime(2026, 11, 23, 9, 5), "10.1.2.3")
    assert text == "bob @ pc-7 10.1.2.3 2026-11-23 09:05"
    assert fill_placeholders("{date} {user}", dt.datetime(2026, 1, 2), "::1") == "2026-01-02 {user}"
    # Its own process: a QGuiApplication here would clash with other tests' Qt applications.
    done = subprocess.run([sys.executable, "-c", RENDER_VISIBLE, str(tmp_path / "layer.npy"), text],
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "must be positive" in done.stdout
    layer = np.load(tmp_path / "layer.npy")
    assert layer.shape == (360, 640, 4) and layer.dtype == np.uint8
    assert np.all(layer[..., :3] == 128)
    assert layer[..., 3].max() == round(255 * 0.25)
    inked = layer[..., 3] > 0
    assert 0.01 < inked.mean() < 0.3
    assert inked[:180, :320].any() and inked[180:, 320:].any()


def test_events_are_appended_one_per_line_and_a_torn_line_is_skipped(tmp_path: pathlib.Path) -> None:
    now = dt.datetime(2026, 11, 23, 1, 2, 3, tzinfo=dt.UTC)
    first = screen_capture_event("print_key", window_title="Payroll.xlsx", now=now)
    append_event(tmp_path, first)
    append_event(tmp_path, screen_capture_event("capture_tool", window_title=None, tool="scrot", now=now))
    with open(tmp_path / SESSION_EVENTS_FILE, "a") as torn:
        torn.write('{"id": "half')
    events = read_events(tmp_path)
    assert [e["trigger"] for e in events] == ["print_key", "capture_tool"]
    assert events[0] == first and first["ts"] == "2026-11-23T01:02:03.000Z"
    assert first["channel"] == "screen_capture" and first["id"] != events[1]["id"]
    assert oct(os.stat(tmp_path / SESSION_EVENTS_FILE).st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(("name", "tool"), [
    ("flameshot", "flameshot"), ("SnippingTool.exe", "snippingtool"), ("gnome-screenshot", "gnome-screenshot"),
    ("screencaptureui", "screencaptureui"), ("bash", None), ("chromium", None),
])
def test_capture_tools_are_recognised_by_process_name(name: str, tool: str | None) -> None:
    assert tool_name(name) == tool


def test_without_a_display_the_null_backend_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.platform.overlay_port import select_overlay_platform

    monkeypatch.delenv("DISPLAY", raising=False)
    assert select_overlay_platform("offscreen").name in {"null", "windows", "macos"}


def test_events_wait_for_the_service_and_are_handed_over_once(tmp_path: pathlib.Path) -> None:
    from agent.ipc import IpcServer
    from agent.session.overlay_events import SENDING_FILE, SERVICE_SOCKET, deliver_events

    now = dt.datetime(2026, 11, 23, 1, 2, 3, tzinfo=dt.UTC)
    event = screen_capture_event("print_key", window_title="x", now=now)
    append_event(tmp_path, event)
    assert deliver_events(tmp_path) == 0  # no service yet: nothing lost
    assert read_events(tmp_path) == [event]
    received: list[dict[str, object]] = []

    def dispatch(request: dict[str, object], peer: object, connection: object) -> dict[str, object]:
        assert request["op"] == "events"
        received.extend(request["events"])  # type: ignore[arg-type]
        return {"ok": True, "added": 1}

    server = IpcServer(tmp_path / SERVICE_SOCKET, dispatch)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert deliver_events(tmp_path) == 1
        assert deliver_events(tmp_path) == 0
    finally:
        server.shutdown()
        server.server_close()
    assert received == [event]
    assert not (tmp_path / SESSION_EVENTS_FILE).exists() and not (tmp_path / SENDING_FILE).exists()


def test_oversized_or_binary_state_files_are_refused(tmp_path: pathlib.Path) -> None:
    from agent.session.overlay_state import MAX_FILE_BYTES, read_marks

    (tmp_path / "marks.json").write_bytes(b" " * (MAX_FILE_BYTES + 1))
    with pytest.raises(OverlayStateError, match="larger than"):
        read_marks(tmp_path)
    (tmp_path / "marks.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(OverlayStateError, match="cannot read"):
        read_marks(tmp_path)
    (tmp_path / "overlay.json").mkdir()
    with pytest.raises(OverlayStateError, match="cannot read"):
        read_settings(tmp_path)


def test_a_display_that_does_not_answer_is_a_clear_error_not_an_abort(tmp_path: pathlib.Path) -> None:
    env = {**os.environ, "DISPLAY": ":399", "QT_QPA_PLATFORM": "xcb"}
    done = subprocess.run([sys.executable, "-m", "agent.session.overlay", "--state-dir", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert "cannot open X display ':399'" in done.stderr


def test_a_missing_state_dir_is_a_usage_error(tmp_path: pathlib.Path) -> None:
    done = subprocess.run([sys.executable, "-m", "agent.session.overlay", "--state-dir", str(tmp_path / "nope")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "does not exist" in done.stderr


def test_capture_tools_are_reported_once_and_only_if_started_after_the_watch(tmp_path: pathlib.Path) -> None:
    import time

    from agent.session.overlay_capture import CaptureToolWatch

    tool = tmp_path / "scrot"
    os.symlink("/bin/sleep", tool)
    process = subprocess.Popen([str(tool), "30"])
    try:
        time.sleep(0.3)
        assert CaptureToolWatch(since=time.time() + 60).poll() == []  # already running before: not news
        watch = CaptureToolWatch(since=time.time() - 30)
        assert watch.poll() == ["scrot"]
        assert watch.poll() == []
    finally:
        process.kill()
        process.wait()
