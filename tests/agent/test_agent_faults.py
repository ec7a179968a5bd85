"""The fault test: 10,000 events flow while the agent is killed with SIGKILL 20 times at random
moments and the console is stopped and started again; at the end the console holds every event
exactly once.

Events enter through `leakguard agent inject-events` (a hidden test command), which sends them
over the agent's own socket into the same spool the channels write to; the injector resends a
batch the agent did not confirm, with the same event ids.
"""

from __future__ import annotations

import pathlib
import random
import subprocess
import time
import uuid

import pytest

from agent.injector import NAMESPACE
from tests.agent.harness import LEAKGUARD, AgentProcess, ConsoleProcess, console_admin, wait_for, write_config
from tests.fixtures.consoles import DB_KINDS, drop_pg_database, make_database_url
from tests.fixtures.realparts import free_port

EVENTS = 10_000
KILLS = 20
CONSOLE_RESTARTS_AT = (6, 13)


@pytest.mark.slow
@pytest.mark.parametrize("kind", DB_KINDS)
def test_every_event_arrives_exactly_once_through_kills_and_console_outages(
    tmp_path: pathlib.Path, kind: str, request: pytest.FixtureRequest
) -> None:
    if kind == "postgres":
        request.applymarker(pytest.mark.postgres)
    db_url = make_database_url(kind, tmp_path)
    console = ConsoleProcess(db_url, free_port(), tmp_path / "console.log")
    console.start()
    rng = random.Random(20261123)
    prefix = uuid.uuid4().hex
    agent = AgentProcess(tmp_path / "state", write_config(tmp_path / "agent.toml", sync={"batch_size": 250}))
    injector: subprocess.Popen[bytes] | None = None
    try:
        admin = console_admin(console)
        agent_id = agent.enroll(console.url, admin.enroll_token("medium"))
        agent.start()
        injector = subprocess.Popen([*LEAKGUARD, "agent", "inject-events", "--state-dir", str(agent.state_dir),
                                     "--count", str(EVENTS), "--batch", "25", "--pause", "0.04",
                                     "--prefix", prefix], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for kill in range(KILLS):
            time.sleep(rng.uniform(0.05, 1.2))
            agent.kill9()
            if kill in CONSOLE_RESTARTS_AT:
                console.stop()
                time.sleep(rng.uniform(0.5, 2.0))
                console.start()
            agent.start(ready=kill % 2 == 0)  # sometimes kill it again before it is even up
        out, err = injector.communicate(timeout=240)
        assert injector.returncode == 0, err.decode()
        assert out.decode().strip() == f"injected {EVENTS}"
        wait_for(lambda: (agent.status() or {}).get("spool_depth") == 0, timeout=120, interval=0.5,
                 what="the spool to drain")
        stored = admin.events(agent_id, channel="removable_media")
        starts = [e for e in admin.events(agent_id, channel="agent") if e["details"].get("kind") == "agent_started"]
    finally:
        if injector is not None and injector.poll() is None:
            injector.kill()
        agent.stop()
        console.stop()
    expected = {str(uuid.uuid5(NAMESPACE, f"{prefix}:{n}")) for n in range(EVENTS)}
    ids = [e["id"] for e in stored]
    assert len(ids) == len(set(ids)) == EVENTS
    assert set(ids) == expected
    unclean = [e for e in starts if e["details"]["previous_stop"].startswith("unclean")]
    assert len(unclean) >= KILLS // 2  # each kill -9 is visible at the console (restarts killed early may not be)
    if kind == "postgres":
        drop_pg_database(db_url)
