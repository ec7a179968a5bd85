"""Policy life cycle against a real console: overrides with a justification, a tampered policy on
disk refused and reported, and the files the overlay reads (marks.json, overlay.json)."""

from __future__ import annotations

import json
import pathlib
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.agent.harness import AgentProcess, ConsoleProcess, cli, console_admin, wait_for, write_config
from tests.fixtures.realparts import free_port
from watermark.marks import slot_for

OVERRIDE_POLICY = """\
version: 1
zone: medium
name: Override test
default_action: allow
watermark:
  invisible: true
  visible_template: "{user} @ {host} {time}"
  visible_opacity: 0.1
rules:
  - id: cards-need-a-reason
    channels: [removable_media]
    when:
      detectors: [credit_card]
    action: block_with_override
    severity: high
    message: Card data may only leave with a business reason.
"""


@pytest.fixture(scope="module")
def own_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleProcess]:
    """A console of our own: this module publishes a zone policy, which must not touch other tests."""
    work = tmp_path_factory.mktemp("policy-console")
    console = ConsoleProcess(f"sqlite:///{work / 'console.db'}", free_port(), work / "console.log")
    console.start()
    admin = console_admin(console)
    response = httpx.put(f"{console.url}/api/v1/zones/medium/policy", json={"policy": OVERRIDE_POLICY},
                         headers={"Authorization": f"Bearer {admin.token}"}, timeout=30)
    assert response.status_code == 201, response.text
    yield console
    console.stop()


def _agent(tmp_path: pathlib.Path, console: ConsoleProcess, **channels: object) -> tuple[AgentProcess, str]:
    agent = AgentProcess(tmp_path / "state", write_config(tmp_path / "agent.toml", channels=channels))
    agent_id = agent.enroll(console.url, console_admin(console).enroll_token("medium"))
    agent.start()
    return agent, agent_id


def test_a_justified_override_restores_the_file_and_is_recorded(tmp_path: pathlib.Path,
                                                                own_console: ConsoleProcess) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    agent, agent_id = _agent(tmp_path, own_console, removable_paths=[str(usb)])
    admin = console_admin(own_console)
    try:
        target = usb / "refunds.txt"
        target.write_text("refund to card 4111 1111 1111 1111\n")
        wait_for(lambda: not target.exists(), timeout=20, what=f"the file to be quarantined\n{agent.log()}")
        blocked = wait_for(lambda: admin.events(agent_id, channel="removable_media"), timeout=20,
                           what="the block event")[0]
        assert blocked["details"]["verdict"]["override_allowed"] is True
        out = cli("agent", "justify", blocked["id"], "--reason", "customer asked for the refund list",
                  "--state-dir", str(agent.state_dir))
        assert "restored" in out and target.read_text().startswith("refund to card")
        allowed = wait_for(lambda: admin.events(agent_id, channel="removable_media", action="allow"), timeout=20,
                           what="the override event")[0]
        assert allowed["details"]["override"] == {"of_event": blocked["id"], "restored_path": str(target),
                                                  "justification": "customer asked for the refund list"}
        with pytest.raises(AssertionError, match="unknown or does not allow"):
            cli("agent", "justify", blocked["id"], "--reason", "a second time", "--state-dir", str(agent.state_dir))
    finally:
        agent.stop()


def test_a_tampered_policy_on_disk_is_refused_and_reported(tmp_path: pathlib.Path,
                                                           own_console: ConsoleProcess) -> None:
    agent, agent_id = _agent(tmp_path, own_console)
    agent.stop()
    saved = json.loads((agent.state_dir / "policy.json").read_text())
    saved["body"]["policy"] = saved["body"]["policy"].replace("block_with_override", "allow")
    (agent.state_dir / "policy.json").write_text(json.dumps(saved))
    agent.start()
    try:
        events = wait_for(lambda: [e for e in console_admin(own_console).events(agent_id, channel="agent")
                                   if e["details"].get("kind") == "policy_rejected"], timeout=20,
                          what="the policy_rejected event")
        assert "signature" in events[0]["details"]["error"]
        assert agent.status()["policy"]["source"] == "console"  # the console's good copy replaced it
    finally:
        agent.stop()
    stops = [e for e in console_admin(own_console).events(agent_id, channel="agent")
             if e["details"].get("kind") == "agent_stopping"]
    assert len(stops) == 2  # every stop is reported


def test_overlay_files_hold_marks_ahead_and_the_filled_template(tmp_path: pathlib.Path,
                                                                 own_console: ConsoleProcess) -> None:
    agent, _ = _agent(tmp_path, own_console)
    try:
        marks = wait_for(lambda: _json(agent.state_dir / "marks.json"), timeout=20, what="marks.json")
        overlay = wait_for(lambda: _json(agent.state_dir / "overlay.json"), timeout=20, what="overlay.json")
    finally:
        agent.stop()
    slot = slot_for(time.time(), marks["slot_seconds"])
    slots = [m["slot"] for m in marks["marks"]]
    assert slot in slots and max(slots) > slot
    assert all(len(m["mark"]) == 16 and int(m["mark"], 16) >= 0 for m in marks["marks"])
    assert overlay["invisible"] is True and overlay["visible_opacity"] == pytest.approx(0.1)
    assert overlay["visible_text"].endswith(f"@ {socket.gethostname()} {{time}}")  # the overlay fills the clock


def _json(path: pathlib.Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def test_a_wrong_enrollment_token_is_a_clear_error(tmp_path: pathlib.Path, own_console: ConsoleProcess) -> None:
    with pytest.raises(AssertionError, match="enrollment: HTTP 4"):
        cli("agent", "enroll", "--console", own_console.url, "--token", "lge_not-a-real-token",
            "--state-dir", str(tmp_path / "state"))
    assert not (tmp_path / "state" / "credentials.json").exists()
    with pytest.raises(AssertionError, match="cannot reach"):
        cli("agent", "enroll", "--console", f"http://127.0.0.1:{free_port()}", "--token", "lge_x" * 3,
            "--state-dir", str(tmp_path / "state"))
