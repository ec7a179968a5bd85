"""Real agents against a real console: enrollment tokens, admin queries, agent subprocesses.

Shared by the agent's integration tests; every part here is a real process talking over real
sockets (the console over loopback HTTP, the agent over its Unix socket).
"""

from __future__ import annotations

import os
import pathlib
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import tomli_w

from agent.ipc import IpcClient, IpcError
from tests.fixtures.consoles import ConsoleServer

LEAKGUARD = [sys.executable, "-m", "leakguard.cli"]
T = TypeVar("T")


def cli(*args: str, stdin: str | None = None, timeout: float = 60) -> str:
    result = subprocess.run([*LEAKGUARD, *args], input=stdin, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"leakguard {' '.join(args)} exited {result.returncode}: {result.stderr[-2000:]}")
    return result.stdout.strip()


def wait_for(check: Callable[[], T], *, timeout: float, what: str, interval: float = 0.1) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


@dataclass
class ConsoleAdmin:
    """An admin API token on a running console, to issue enrollment tokens and read events."""

    server: ConsoleServer | ConsoleProcess
    token: str

    def enroll_token(self, zone: str) -> str:
        return cli("console", "enroll-token", "--db", self.server.db_url, "--zone", zone)

    def events(self, agent_id: str, **filters: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"agent_id": agent_id, "limit": 1000, **filters}
        while True:
            response = httpx.get(f"{self.server.url}/api/v1/events", params=params, timeout=30,
                                 headers={"Authorization": f"Bearer {self.token}"})
            response.raise_for_status()
            page = response.json()
            items += page["items"]
            if not page.get("next_cursor"):
                return items
            params["cursor"] = page["next_cursor"]


@dataclass
class ConsoleProcess:
    """A console on a fixed port that a test can stop and start again (agents keep its URL)."""

    db_url: str
    port: int
    log_path: pathlib.Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*LEAKGUARD, "console", "serve", "--db", self.db_url, "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._healthy, timeout=60, what="the console to answer /healthz")

    def _healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"console exited: {self.log_path.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


_ADMINS: dict[str, ConsoleAdmin] = {}


def console_admin(server: ConsoleServer | ConsoleProcess) -> ConsoleAdmin:
    if server.db_url not in _ADMINS:
        name = f"agenttest{secrets.token_hex(3)}"
        cli("console", "createadmin", "--db", server.db_url, "--username", name, "--password-stdin",
            stdin=secrets.token_urlsafe(16) + "\n")
        token = cli("console", "token", "create", "--db", server.db_url, "--username", name, "--name", "agent tests")
        _ADMINS[server.db_url] = ConsoleAdmin(server, token)
    _ADMINS[server.db_url].server = server
    return _ADMINS[server.db_url]


def write_config(path: pathlib.Path, **sections: dict[str, Any]) -> pathlib.Path:
    defaults: dict[str, dict[str, Any]] = {
        "session": {"overlay": False, "enabled": False},
        "sync": {"heartbeat_seconds": 5.0, "deliver_seconds": 0.5, "backoff_base_seconds": 0.2,
                 "backoff_max_seconds": 2.0, "request_timeout_seconds": 5.0},
        # printing off unless a test turns it on: an agent under test must not hold the jobs of
        # this machine's own printers
        "channels": {"process_scan_seconds": 0.2, "user_homes": [], "printing": False},
    }
    for name, values in sections.items():
        defaults[name] = {**defaults.get(name, {}), **values}
    path.write_text(tomli_w.dumps(defaults))
    return path


@dataclass
class AgentProcess:
    state_dir: pathlib.Path
    config: pathlib.Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def log_path(self) -> pathlib.Path:
        return self.state_dir.parent / f"{self.state_dir.name}-agent.log"

    def enroll(self, console: str, token: str) -> str:
        cli("agent", "enroll", "--console", console, "--token", token, "--state-dir", str(self.state_dir))
        return str(__import__("json").loads((self.state_dir / "credentials.json").read_text())["agent_id"])

    def start(self, *, ready: bool = True) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*LEAKGUARD, "agent", "run", "--state-dir", str(self.state_dir), "--config", str(self.config)],
                stdout=log, stderr=subprocess.STDOUT, env=self.env,
            )
        self.starts += 1
        if ready:
            wait_for(self.ready, timeout=60, what=f"the agent to answer on its socket\n{self.log()}")

    def ready(self) -> bool:
        """Answering on its socket and enforcing the console's policy (not the fallback)."""
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"agent exited with {self.process.returncode}:\n{self.log()}")
        status = self.status()
        return status is not None and status["policy"]["source"] != "fallback"

    def status(self) -> dict[str, Any] | None:
        try:
            client = IpcClient(self.state_dir / "agent.sock", timeout=5)
            try:
                return client.request({"op": "status"})
            finally:
                client.close()
        except (IpcError, ValueError):
            return None

    def kill9(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.terminate()
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)

    def log(self) -> str:
        """The tail of the service's log and of its session parts' log, for failure messages."""
        text = ""
        for path in (self.log_path, self.state_dir / "session.log"):
            try:
                text += f"--- {path.name}\n" + path.read_text(errors="replace")[-3000:]
            except OSError:
                continue
        return text
