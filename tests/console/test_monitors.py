"""Per-monitor marks over real HTTP (SQLite and PostgreSQL): each monitor its own device, traced back."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.console.api import http
from tests.fixtures.consoles import ConsoleServer

pytest.importorskip("watermark.marks", reason="the watermark library is not built yet")


def _marks(url: str, agent, **params: int) -> list[dict]:
    reply = http().get(f"{url}/api/v1/agents/marks", params={"from_slot": 5000, "count": 3, **params},
                       headers=agent.headers, timeout=30)
    assert reply.status_code == 200, reply.text
    return list(reply.json()["marks"])


def _resolve(url: str, staff, mark: str) -> dict:
    reply = http().post(f"{url}/api/v1/marks/resolve", json={"mark": mark}, headers=staff.headers("analyst"),
                        timeout=30)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def test_each_monitor_gets_its_own_mark_traced_to_agent_and_monitor(console_server: ConsoleServer, staff,
                                                                    new_agent) -> None:
    url = console_server.url
    agent = new_agent("two-screens", user="dave")
    single = _marks(url, agent)
    double = _marks(url, agent, monitors=2)
    assert [m for m in double if m["monitor"] == 0] == single  # old agents see exactly what they saw
    second = [m for m in double if m["monitor"] == 1]
    assert [m["slot"] for m in second] == [5000, 5001, 5002]
    assert {m["mark"] for m in second}.isdisjoint(m["mark"] for m in single)
    assert _marks(url, agent, monitors=2) == double  # the monitor's device number is kept
    later = new_agent("enrolled-after")  # its device number does not collide with the monitor's
    for mark, owner, monitor in ((single[0]["mark"], agent, 0), (second[0]["mark"], agent, 1),
                                 (_marks(url, later)[0]["mark"], later, 0)):
        body = _resolve(url, staff, mark)
        assert (body["found"], body["agent_id"], body["monitor"]) == (True, owner.id, monitor)
    assert _resolve(url, staff, second[0]["mark"])["hostname"] == "two-screens"


def test_monitor_count_is_bounded(console_server: ConsoleServer, new_agent) -> None:
    agent = new_agent("bounded")
    for bad in (0, 9, -1):
        reply = http().get(f"{console_server.url}/api/v1/agents/marks", params={"monitors": bad},
                           headers=agent.headers, timeout=30)
        assert reply.status_code == 422, reply.text
    eight = _marks(console_server.url, agent, monitors=8, count=1)
    assert sorted(m["monitor"] for m in eight) == list(range(8)) and len({m["mark"] for m in eight}) == 8


@pytest.mark.slow
def test_capture_across_two_monitors_reports_both(console_server: ConsoleServer, staff, new_agent) -> None:
    pytest.importorskip("watermark.decoder", reason="the watermark decoder is not built yet")
    from tests.watermark.images import marked, text_page

    url = console_server.url
    agent = new_agent("wide-desk", user="erin")
    marks = _marks(url, agent, monitors=2, count=1)
    halves = [marked(text_page(640, 480, seed=m["monitor"] + 1, dark=m["monitor"] == 1), int(m["mark"], 16))
              for m in marks]
    ok, png = cv2.imencode(".png", np.concatenate(halves, axis=1)[..., ::-1])
    reply = http().post(f"{url}/api/v1/trace", files={"image": ("wide.png", png.tobytes(), "image/png")},
                        headers=staff.headers("analyst"), timeout=120)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    found = {(m["mark"], m["agent_id"], m["hostname"], m["monitor"]) for m in body["marks"]}
    assert found == {(m["mark"], agent.id, "wide-desk", m["monitor"]) for m in marks}
    assert body["found"] and body["agent_id"] == agent.id and body["mark"] in {m["mark"] for m in marks}
    assert all(m["time_from"] and m["time_to"] for m in body["marks"])


def test_concurrent_monitor_requests_and_enrollments_never_share_a_device(console_server: ConsoleServer, staff,
                                                                        new_agent) -> None:
    from concurrent.futures import ThreadPoolExecutor

    agents = [new_agent(f"race-{i}") for i in range(6)]
    with ThreadPoolExecutor(8) as pool:  # first requests for monitors 1..3 race each other and enrollments
        asked = [pool.submit(_marks, console_server.url, a, monitors=4, count=1) for a in agents for _ in (0, 1)]
        enrolled = [pool.submit(new_agent, f"race-late-{i}") for i in range(4)]
        issued = [(a, m) for a, f in zip([a for a in agents for _ in (0, 1)], asked, strict=True) for m in f.result()]
        late = [(a, m) for a in (f.result() for f in enrolled) for m in _marks(console_server.url, a, count=1)]
    owners = {m["mark"]: (a.id, m["monitor"]) for a, m in issued + late}
    assert len(owners) == 6 * 4 + 4  # both requests of an agent got the same marks; none shared
    for mark, owner in owners.items():
        body = _resolve(console_server.url, staff, mark)
        assert (body["agent_id"], body["monitor"]) == owner


def test_trace_cli_gives_every_mark_its_owner_and_monitor() -> None:
    from leakguard.trace import _attribute_marks, describe

    record = {"path": "wide.png", "found": True, "seconds": 0.1, "marks": [{"mark": "a" * 16, "confidence": 0.9}]}
    _attribute_marks(record, [
        {"mark": "a" * 16, "agent_id": "A", "hostname": "desk", "user": "erin", "monitor": 0},
        {"mark": "b" * 16, "confidence": 0.7, "agent_id": "A", "hostname": "desk", "user": "erin", "monitor": 1},
    ])
    assert [(m["mark"], m["agent_id"], m["monitor"]) for m in record["marks"]] == [("a" * 16, "A", 0),
                                                                                   ("b" * 16, "A", 1)]
    assert "from desk monitor 1, user erin" in describe(record).splitlines()[1]
