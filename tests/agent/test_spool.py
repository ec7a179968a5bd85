"""The durable spool: durability across reopen, dedup by id, bounded size with severity eviction."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from agent.events import new_event
from agent.spool import Spool


def _event(severity: str = "info", n: int = 0) -> dict:
    return new_event("clipboard", "audit", timestamp=1_700_000_000 + n, severity=severity, n=n)


def test_events_survive_reopen_and_leave_only_when_acked(tmp_path: pathlib.Path) -> None:
    spool = Spool(tmp_path / "s.db")
    events = [_event(n=i) for i in range(5)]
    assert spool.add(events) == 5
    spool.close()
    reopened = Spool(tmp_path / "s.db")
    batch = reopened.batch(3)
    assert [e["id"] for e in batch] == [e["id"] for e in events[:3]]
    reopened.ack([e["id"] for e in batch])
    assert [e["id"] for e in reopened.batch(10)] == [e["id"] for e in events[3:]]
    assert reopened.counters()["delivered"] == 3


def test_same_id_is_stored_once(tmp_path: pathlib.Path) -> None:
    spool = Spool(tmp_path / "s.db")
    event = _event()
    assert spool.add([event]) == 1
    assert spool.add([event, event]) == 0
    assert spool.depth() == 1


def test_full_spool_evicts_lowest_severity_oldest_first_and_counts(tmp_path: pathlib.Path) -> None:
    spool = Spool(tmp_path / "s.db", max_events=4)
    high = [_event("high", i) for i in range(2)]
    info = [_event("info", 10 + i) for i in range(3)]
    spool.add(high[:1] + info + high[1:])  # 5 events into room for 4
    kept = {e["id"] for e in spool.batch(10)}
    assert kept == {high[0]["id"], high[1]["id"], info[1]["id"], info[2]["id"]}
    assert spool.unreported_drops() == {"info": 1}
    report = new_event("agent", "audit", timestamp=0, severity="critical", kind="spool_overflow")
    spool.add_drop_report(report, spool.unreported_drops())
    assert spool.unreported_drops() == {}
    assert report["id"] in {e["id"] for e in spool.batch(10)}


def test_bound_must_be_positive(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="max_events"):
        Spool(tmp_path / "s.db", max_events=0)


def test_a_killed_writer_loses_nothing_it_committed(tmp_path: pathlib.Path) -> None:
    """A process that spools events then dies by SIGKILL leaves every committed event readable."""
    code = (
        "import os, sys, pathlib; from agent.spool import Spool; from agent.events import new_event\n"
        "s = Spool(pathlib.Path(sys.argv[1]))\n"
        "for i in range(50): s.add([new_event('clipboard', 'audit', timestamp=0, n=i)])\n"
        "print('done', flush=True); os.kill(os.getpid(), 9)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s.db")], capture_output=True, text=True)
    assert result.returncode == -9 and "done" in result.stdout
    assert sorted(e["n"] for e in Spool(tmp_path / "s.db").batch(100)) == list(range(50))
