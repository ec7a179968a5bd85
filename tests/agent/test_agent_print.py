"""The print channel end to end: a real CUPS scheduler of the test's own (cupsd on a socket in
the test's folder, a printer whose device is /dev/null), a real agent judging every job over IPP,
reporting to a real console. A document with card numbers never prints in the high zone; a
harmless one prints; printers get their default hold back when the agent stops. In the medium
zone a confidential document waits, held, for a justification: given, it prints; not given in
time, the job is cancelled."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from agent.ipp import CANCELED, COMPLETED, HELD, Client
from tests.agent.harness import AgentProcess, cli, console_admin, wait_for, write_config
from tests.fixtures.consoles import ConsoleServer
from tests.fixtures.realparts import require_binary, unavailable
from tests.rules.samples import pdf

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

FIVE_CARDS = "Payroll export\n" + "".join(f"Customer {i}: card {c}\n" for i, c in enumerate(
    ["4242 4242 4242 4242", "5555 5555 5555 4444", "4000 0566 5566 5556", "5200 8282 8282 8210",
     "3566 0020 2036 0505"]))


class Cups:
    """A cupsd of the test's own: its socket, spool and one printer, "office"."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root, self.socket, self.spool = root, root / "cups.sock", root / "spool"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cupsd = require_binary("cupsd", "cups-daemon")
        require_binary("lpadmin", "cups-client")
        if os.geteuid() != 0:
            unavailable("cupsd runs as root (it drops to the lp user for its backends)")
        for name in ("conf", "spool", "cache", "state", "tmp", "log"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        (self.root / "conf" / "cupsd.conf").write_text(
            f"LogLevel warn\nListen {self.socket}\nWebInterface No\nDefaultAuthType None\n"
            "<Location />\n  Order allow,deny\n  Allow all\n</Location>\n")
        (self.root / "conf" / "cups-files.conf").write_text("".join(f"{key} {value}\n" for key, value in {
            "FileDevice": "Yes", "ServerRoot": self.root / "conf", "RequestRoot": self.spool,
            "CacheDir": self.root / "cache", "StateDir": self.root / "state", "TempDir": self.root / "tmp",
            "AccessLog": self.root / "log/access_log", "ErrorLog": self.root / "log/error_log",
            "PageLog": self.root / "log/page_log", "ServerBin": "/usr/lib/cups", "DataDir": "/usr/share/cups",
            "User": "lp", "Group": "lp"}.items()))
        self.process = subprocess.Popen([cupsd, "-f", "-c", str(self.root / "conf/cupsd.conf"),
                                         "-s", str(self.root / "conf/cups-files.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: self.socket.exists() or self.process.poll() is not None, timeout=20, what="cupsd's socket")
        if self.process.poll() is not None:
            raise AssertionError(f"cupsd exited: {self.process.stderr.read().decode() if self.process.stderr else ''}")
        self.run("lpadmin", "-p", "office", "-E", "-v", "file:///dev/null", "-m", "raw")

    def run(self, tool: str, *args: str) -> str:
        done = subprocess.run([tool, "-h", str(self.socket), *args], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"{tool} {args}: {done.stderr}"
        return done.stdout

    def print(self, path: pathlib.Path) -> int:
        said = self.run("lp", "-d", "office", "-t", path.name, str(path))  # "request id is office-7 (1 file(s))"
        return int(said.split("office-")[1].split()[0])

    def state(self, job: int) -> int:
        """The job's state, completed jobs included."""
        from agent import ipp

        groups = Client(str(self.socket))._call(ipp.GET_JOBS, "ipp://localhost/", [
            (ipp._KEYWORD, "which-jobs", ["all"]), (ipp._KEYWORD, "requested-attributes", ["job-id", "job-state"])])
        states = {a.get("job-id"): a.get("job-state") for tag, a in groups if tag == ipp._JOB}
        return int(states.get(job, 0) or 0)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def cups(tmp_path: pathlib.Path) -> Iterator[Cups]:
    server = Cups(tmp_path / "cups")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _agent(tmp_path: pathlib.Path, console_server: ConsoleServer, zone: str, cups: Cups,
           **channels: Any) -> tuple[AgentProcess, str]:
    config = write_config(tmp_path / "agent.toml", channels={
        "printing": True, "print_server": str(cups.socket), "print_spool": str(cups.spool), "print_poll_seconds": 0.2,
        "removable_media": False, "cloud_sync": False, "network_shares": False, "cli_uploads": False, **channels})
    agent = AgentProcess(tmp_path / "state", config)
    agent_id = agent.enroll(console_server.url, console_admin(console_server).enroll_token(zone))
    agent.start()
    return agent, agent_id


def _print_event(admin: Any, agent_id: str, name: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return next((e for e in admin.events(agent_id, channel="print") if e["details"]["file"]["name"] == name), None)

    return wait_for(found, timeout=60, what=f"the print event of {name}")


def test_a_document_with_card_numbers_never_prints_in_the_high_zone_and_a_harmless_one_does(
        tmp_path: pathlib.Path, console_server: ConsoleServer, cups: Cups) -> None:
    agent, agent_id = _agent(tmp_path, console_server, "high", cups)
    admin = console_admin(console_server)
    try:
        client = Client(str(cups.socket))
        wait_for(lambda: client.printers() == {"office": "indefinite"}, timeout=30,
                 what=f"the printer to hold new jobs\n{agent.log()}")
        secret, memo, scan = tmp_path / "payroll.txt", tmp_path / "lunch.txt", tmp_path / "statement.pdf"
        secret.write_text(FIVE_CARDS)
        memo.write_text("Lunch menu: soup, bread, apples.\n")
        scan.write_bytes(pdf(FIVE_CARDS.splitlines()))  # what applications send CUPS: PDF
        blocked, printed, blocked_pdf = cups.print(secret), cups.print(memo), cups.print(scan)
        wait_for(lambda: cups.state(blocked) == CANCELED, timeout=60, what=f"the payroll job cancelled\n{agent.log()}")
        wait_for(lambda: cups.state(blocked_pdf) == CANCELED, timeout=60, what=f"the PDF job cancelled\n{agent.log()}")
        wait_for(lambda: cups.state(printed) == COMPLETED, timeout=60, what=f"the lunch job printed\n{agent.log()}")
        event = _print_event(admin, agent_id, "payroll.txt")
        assert event["action"] == "block" and event["details"]["verdict"]["rule_id"] == "any-sensitive"
        assert event["details"]["destination"] == {"kind": "print", "printer": "office", "job_id": blocked,
                                                   "held": True, "documents": 1}
        assert {"id": "credit_card", "count": 5} in event["detectors"]
        assert "4242 4242 4242 4242" not in str(event)  # previews only leave the PC
        sealed = tmp_path / "state" / "quarantine" / f"{event['details']['quarantine_id']}.json"
        assert sealed.exists()  # the blocked document, sealed as evidence
        assert _print_event(admin, agent_id, "statement.pdf")["action"] == "block"
        allowed = _print_event(admin, agent_id, "lunch.txt")
        assert allowed["action"] in ("allow", "audit") and allowed["details"]["destination"]["held"] is True
    finally:
        agent.stop()
    assert Client(str(cups.socket)).printers() == {"office": "no-hold"}  # printing goes on without the agent


def test_a_confidential_document_waits_for_a_justification_and_prints_with_one(
        tmp_path: pathlib.Path, console_server: ConsoleServer, cups: Cups) -> None:
    """The medium zone's default pack blocks printing a document marked confidential, with an
    override: the job stays held (never cancelled at once) until the user justifies it, which
    releases it; a second one nobody justifies is cancelled when its time runs out."""
    agent, agent_id = _agent(tmp_path, console_server, "medium", cups, print_override_seconds=15)
    admin = console_admin(console_server)
    try:
        client = Client(str(cups.socket))
        wait_for(lambda: client.printers() == {"office": "indefinite"}, timeout=30,
                 what=f"the printer to hold new jobs\n{agent.log()}")
        plan, draft = tmp_path / "plan.txt", tmp_path / "draft.txt"
        plan.write_text("CONFIDENTIAL - do not distribute\nAcquisition plan for next quarter.\n")
        draft.write_text("Internal only: the draft of the reorganisation.\n")
        justified, abandoned = cups.print(plan), cups.print(draft)
        blocked = _print_event(admin, agent_id, "plan.txt")
        assert blocked["action"] == "block" and blocked["details"]["verdict"]["override_allowed"] is True
        assert blocked["details"]["verdict"]["rule_id"] == "confidential-documents"
        assert (tmp_path / "state" / "quarantine" / f"{blocked['details']['quarantine_id']}.json").exists()
        assert cups.state(justified) == HELD  # waiting for the user, not cancelled
        out = cli("agent", "justify", blocked["id"], "--reason", "the board asked for a paper copy",
                  "--state-dir", str(agent.state_dir))
        assert f"print job {justified} released" in out
        wait_for(lambda: cups.state(justified) == COMPLETED, timeout=60, what=f"the plan printed\n{agent.log()}")
        allowed = wait_for(lambda: admin.events(agent_id, channel="print", action="allow"), timeout=30,
                           what="the override event")[0]
        assert allowed["details"]["override"] == {"of_event": blocked["id"], "restored_path": None,
                                                  "justification": "the board asked for a paper copy",
                                                  "released_job": justified}
        assert allowed["details"]["destination"]["job_id"] == justified
        skipped = _print_event(admin, agent_id, "draft.txt")
        assert skipped["action"] == "block"
        wait_for(lambda: cups.state(abandoned) == CANCELED, timeout=60,
                 what=f"the draft cancelled when its time ran out\n{agent.log()}")
        with pytest.raises(AssertionError, match="unknown or does not allow"):
            cli("agent", "justify", skipped["id"], "--reason", "too late now", "--state-dir", str(agent.state_dir))
    finally:
        agent.stop()


def test_without_cups_the_channel_waits_and_the_agent_runs(tmp_path: pathlib.Path, console_server: ConsoleServer) -> None:
    """No scheduler at the configured socket: nothing is judged, nothing fails, and the agent is
    up; the channel keeps asking (a CUPS started later is found)."""
    if shutil.which("cupsd") is None and os.environ.get("CI") != "true":
        pytest.skip("cupsd not installed")
    missing = Cups(tmp_path / "nowhere")
    agent, agent_id = _agent(tmp_path, console_server, "high", missing)
    try:
        time.sleep(1.0)
        assert agent.process is not None and agent.process.poll() is None
        assert "inspecting print job" not in agent.log()
    finally:
        agent.stop()
