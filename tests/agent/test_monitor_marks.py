"""One mark per monitor: marks.json carries `monitor`, the overlay picks each screen's own mark."""

from __future__ import annotations

import json
import pathlib
import time

import pytest

from agent.session.overlay_state import OverlayStateError, parse_marks
from tests.agent.harness import AgentProcess, ConsoleProcess, console_admin, wait_for, write_config
from tests.fixtures.realparts import free_port
from watermark.marks import slot_for

NOW = 1_800_000_000.0


def _schedule(entries: list[dict]) -> str:
    return json.dumps({"slot_seconds": 600, "marks": entries})


def test_each_monitor_shows_its_own_mark_and_borrows_monitor_0s_when_it_has_none() -> None:
    slot = slot_for(NOW, 600)
    schedule = parse_marks(_schedule([
        {"slot": slot, "mark": "00000000000000a0"},  # an old agent's entry: monitor 0
        {"slot": slot, "mark": "00000000000000b1", "monitor": 1},
        {"slot": slot + 1, "mark": "00000000000000c0", "monitor": 0},
    ]))
    assert schedule.mark_at(NOW) == 0xA0
    assert schedule.mark_for(0, NOW) == (0xA0, False)
    assert schedule.mark_for(1, NOW) == (0xB1, False)
    assert schedule.mark_for(2, NOW) == (0xA0, True)  # no mark issued for monitor 2 yet
    assert schedule.mark_for(1, NOW + 600) == (0xC0, True)  # monitor 1 has none for the next slot
    assert parse_marks(_schedule([])).mark_for(1, NOW) == (None, True)


@pytest.mark.parametrize("monitor", [-1, 8, True, "1", 1.0])
def test_a_bad_monitor_number_is_refused_with_the_field_named(monitor: object) -> None:
    with pytest.raises(OverlayStateError, match=r"marks\[0\]\.monitor"):
        parse_marks(_schedule([{"slot": 1, "mark": "0000000000000001", "monitor": monitor}]))


@pytest.mark.slow
def test_the_agent_fetches_a_mark_per_screen_the_overlay_reports(tmp_path: pathlib.Path) -> None:
    console = ConsoleProcess(f"sqlite:///{tmp_path / 'console.db'}", free_port(), tmp_path / "console.log")
    console.start()
    agent = AgentProcess(tmp_path / "state", write_config(tmp_path / "agent.toml"))
    try:
        agent.enroll(console.url, console_admin(console).enroll_token("medium"))
        agent.start()
        marks_file = agent.state_dir / "marks.json"
        first = wait_for(lambda: _read(marks_file), timeout=20, what="marks.json")
        assert {m["monitor"] for m in first["marks"]} == {0}
        screens = [{"name": n, "x": x, "y": 0} for n, x in (("LEFT", 0), ("RIGHT", 960))]
        (agent.state_dir / "overlay-status.json").write_text(json.dumps({"pid": 1, "screens": screens}))
        second = wait_for(lambda: _with_monitors(marks_file, 2), timeout=30, what=f"marks for 2 monitors\n{agent.log()}")
    finally:
        agent.stop()
        console.stop()
    slot = slot_for(time.time(), second["slot_seconds"])
    by_monitor = {m: {e["slot"]: e["mark"] for e in second["marks"] if e["monitor"] == m} for m in (0, 1)}
    assert slot in by_monitor[1] and by_monitor[1][slot] != by_monitor[0][slot]
    assert by_monitor[0][slot] == {e["slot"]: e["mark"] for e in first["marks"]}[slot]


def _read(path: pathlib.Path) -> dict | None:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def _with_monitors(path: pathlib.Path, count: int) -> dict | None:
    data = _read(path)
    return data if data and {m.get("monitor") for m in data["marks"]} == set(range(count)) else None
