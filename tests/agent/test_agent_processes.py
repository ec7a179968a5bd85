"""Command-line uploads with real curl to a real local HTTP server, and a real screenshot tool."""

from __future__ import annotations

import http.server
import os
import pathlib
import subprocess
import threading
from collections.abc import Iterator

import pytest

from tests.agent.harness import AgentProcess, console_admin, wait_for, write_config
from tests.fixtures.consoles import ConsoleServer
from tests.fixtures.display import XDisplay
from tests.fixtures.realparts import free_port, require_binary

ROW = "customer,4111 1111 1111 1111,alice@example.com\n"

#: Channels are exercised against the SQLite console; the fault test covers PostgreSQL too.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class _Sink(http.server.BaseHTTPRequestHandler):
    received: list[int] = []

    def _take(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        got = 0
        while got < length:
            chunk = self.rfile.read(min(65536, length - got))
            if not chunk:
                break
            got += len(chunk)
        self.received.append(got)
        self.send_response(200)
        self.end_headers()

    do_PUT = do_POST = _take

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def upload_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/upload"
    server.shutdown()


def _start(tmp_path: pathlib.Path, console_server: ConsoleServer, zone: str, **env: str) -> tuple[AgentProcess, str]:
    config = write_config(tmp_path / "agent.toml")
    agent = AgentProcess(tmp_path / "state", config)
    agent.env.update(env)
    agent_id = agent.enroll(console_server.url, console_admin(console_server).enroll_token(zone))
    agent.start()
    return agent, agent_id


def _curl(path: pathlib.Path, url: str, rate: str) -> subprocess.Popen[bytes]:
    require_binary("curl", "curl")
    return subprocess.Popen(["curl", "-sS", "--limit-rate", rate, "-T", str(path), url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_high_zone_stops_a_curl_upload_of_sensitive_data(tmp_path: pathlib.Path, console_server: ConsoleServer,
                                                         upload_server: str) -> None:
    export = tmp_path / "export.csv"
    # ~200 KB: 10 s at 20 KB/s, so the agent meets it mid-transfer. One card number: a high zone
    # blocks it, while a medium-zone agent elsewhere on a shared test machine only warns.
    export.write_text(ROW + "order,shipped,on time\n" * 9000)
    agent, agent_id = _start(tmp_path, console_server, "high")
    try:
        curl = _curl(export, upload_server, "20k")
        assert curl.wait(timeout=30) == -9  # killed by the agent, not finished
        events = wait_for(lambda: console_admin(console_server).events(agent_id, channel="file_upload"), timeout=20,
                          what="the upload event at the console")
    finally:
        agent.stop()
    event = events[0]
    assert event["action"] == "block" and event["details"]["stopped"] is True, [(e["ts"], e["details"].get("stop_reason"), e["details"]["process"]["pid"]) for e in events]
    assert event["details"]["process"]["name"] == "curl" and event["details"]["process"]["pid"] == curl.pid
    assert event["details"]["destination"]["host"] == "127.0.0.1"
    assert event["details"]["file"]["name"] == "export.csv" and event["details"]["file"]["size"] == export.stat().st_size
    assert {d["id"] for d in event["detectors"]} >= {"credit_card"}


def test_medium_zone_warns_and_lets_the_upload_finish(tmp_path: pathlib.Path, console_server: ConsoleServer,
                                                      upload_server: str) -> None:
    export = tmp_path / "note.txt"
    export.write_text("card 4111 1111 1111 1111\n" + "quarterly notes, nothing else.\n" * 2500)  # ~80 KB at 50 KB/s
    agent, agent_id = _start(tmp_path, console_server, "medium")
    try:
        curl = _curl(export, upload_server, "50k")
        assert curl.wait(timeout=30) == 0
        events = wait_for(lambda: console_admin(console_server).events(agent_id, channel="file_upload"), timeout=20,
                          what="the upload event at the console")
    finally:
        agent.stop()
    assert events[0]["action"] == "warn" and events[0]["details"]["stopped"] is False


@pytest.mark.x11
def test_a_running_screenshot_tool_is_reported(tmp_path: pathlib.Path, console_server: ConsoleServer,
                                               x_display: XDisplay) -> None:
    scrot = require_binary("scrot", "scrot")
    agent, agent_id = _start(tmp_path, console_server, "high")
    try:
        shot = subprocess.Popen([scrot, "--delay", "2", str(tmp_path / "shot.png")], env=x_display.env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        events = wait_for(lambda: console_admin(console_server).events(agent_id, channel="screen_capture"),
                          timeout=20, what="the screen_capture event")
        shot.wait(timeout=20)
    finally:
        agent.stop()
    assert events[0]["details"]["process"]["name"] == "scrot" and events[0]["details"]["process"]["pid"] == shot.pid


@pytest.mark.skipif(os.geteuid() != 0, reason="fanotify permission events need root")
def test_high_zone_refuses_an_upload_tool_the_open_of_a_protected_file(
    tmp_path: pathlib.Path, console_server: ConsoleServer, upload_server: str
) -> None:
    protected = tmp_path / "finance"
    (protected / "q3").mkdir(parents=True)
    secret = protected / "q3" / "plan.txt"
    secret.write_text("card 4111 1111 1111 1111\n")  # tiny: gone in a millisecond without a guard
    config = write_config(tmp_path / "agent.toml", channels={"protected_paths": [str(protected)]})
    agent = AgentProcess(tmp_path / "state", config)
    agent_id = agent.enroll(console_server.url, console_admin(console_server).enroll_token("high"))
    agent.start()
    before = len(_Sink.received)
    try:
        curl = subprocess.run(["curl", "-sS", "-T", str(secret), upload_server], capture_output=True, text=True,
                              timeout=30)
        assert curl.returncode != 0 and len(_Sink.received) == before, curl
        assert subprocess.run(["cat", str(secret)], capture_output=True, text=True).stdout == secret.read_text()
        events = wait_for(lambda: console_admin(console_server).events(agent_id, channel="file_upload"), timeout=20,
                          what="the refused upload at the console")
        later = protected / "q4" / "forecast"  # folders made after the agent started are guarded too
        later.mkdir(parents=True)
        wait_for(lambda: "guarding" in agent.log() and "new directories" in agent.log(), timeout=20,
                 what=f"the new folders to be marked\n{agent.log()}")
        (later / "forecast.txt").write_text("card 4111 1111 1111 1111\n")
        curl = subprocess.run(["curl", "-sS", "-T", str(later / "forecast.txt"), upload_server], capture_output=True,
                              text=True, timeout=30)
        assert curl.returncode != 0 and len(_Sink.received) == before, curl
    finally:
        agent.stop()
    details = events[0]["details"]
    assert events[0]["action"] == "block" and "fanotify" in details["prevented"], details
    assert details["protected_path"] is True and details["file"]["name"] == "plan.txt"
