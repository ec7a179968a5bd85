"""A whole leakguard deployment for end-to-end tests: a real console, an enrolled agent running
with its overlay on a composited virtual display, and a real Chromium window showing a document."""

from __future__ import annotations

import getpass
import json
import os
import pathlib
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.e2e.screen import read_status, stop_process, wait_for
from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS
from tests.fixtures.display import XDisplay

DOCUMENT = """<!doctype html><html><head><title>{title}</title></head>
<body style="font-family:DejaVu Sans,sans-serif;margin:40px;background:#fff;color:#222">
<h1>Q3 board minutes</h1><p style="color:#a00">CONFIDENTIAL - do not distribute</p>
<p>Revenue grew 14% quarter on quarter, driven by the enterprise tier. The board approved the
acquisition of Northwind Analytics; closing is expected in Q1.</p>
<table border=1 cellpadding=8><tr><th>Region</th><th>Revenue</th><th>Margin</th></tr>
<tr><td>EMEA</td><td>18.2M</td><td>31%</td></tr><tr><td>APAC</td><td>11.9M</td><td>27%</td></tr>
<tr><td>Americas</td><td>24.5M</td><td>35%</td></tr></table>
<p>Headcount plan: +35 engineers, +12 sales. Support changes are not to be announced before 1 Dec.</p>
<button id="ack" onclick="document.title='acknowledged'">Acknowledge</button>
</body></html>"""
DOCUMENT_TITLE = "Q3 board minutes - CONFIDENTIAL"


def leakguard(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "leakguard.cli", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=timeout)


def checked(result: subprocess.CompletedProcess[str]) -> str:
    if result.returncode != 0:
        raise AssertionError(f"{result.args} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return result.stdout


@dataclass
class Analyst:
    """An admin person on the console, with an API token."""

    console_url: str
    username: str
    password: str
    token: str = ""

    def login(self) -> None:
        reply = httpx.post(f"{self.console_url}/api/v1/auth/login", timeout=30,
                           json={"username": self.username, "password": self.password})
        reply.raise_for_status()
        self.token = reply.json()["token"]

    def get(self, path: str, **params: Any) -> Any:
        reply = httpx.get(f"{self.console_url}{path}", params=params, timeout=30,
                          headers={"Authorization": f"Bearer {self.token}"})
        reply.raise_for_status()
        return reply.json()

    def trace_http(self, image: pathlib.Path) -> dict[str, Any]:
        with image.open("rb") as data:
            reply = httpx.post(f"{self.console_url}/api/v1/trace", timeout=120,
                               headers={"Authorization": f"Bearer {self.token}"},
                               files={"image": (image.name, data, "image/jpeg")})
        reply.raise_for_status()
        return dict(reply.json())

    def trace_cli(self, image: pathlib.Path) -> dict[str, Any]:
        out = checked(leakguard("trace", "--json", "--console", self.console_url, "--username", self.username,
                                "--password-stdin", str(image), stdin=self.password + "\n"))
        return dict(json.loads(out.splitlines()[0]))

    def events(self, channel: str) -> list[dict[str, Any]]:
        return list(self.get("/api/v1/events", channel=channel, limit=200)["items"])


def create_analyst(console_url: str, db_url: str) -> Analyst:
    analyst = Analyst(console_url, f"e2e-{secrets.token_hex(4)}", secrets.token_urlsafe(18))
    checked(leakguard("console", "createadmin", "--db", db_url, "--username", analyst.username,
                      "--password-stdin", stdin=analyst.password + "\n"))
    analyst.login()
    return analyst


@dataclass
class RunningAgent:
    state_dir: pathlib.Path
    process: subprocess.Popen[bytes]
    processes: list[subprocess.Popen[Any]] = field(default_factory=list)

    def overlay_status(self) -> dict[str, Any] | None:
        return read_status(self.state_dir)

    def wait_overlay(self, check: Any = None, timeout: float = 60.0) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            status = self.overlay_status()
            if not status or not status["screens"] or not all(s["mark"] for s in status["screens"]):
                return None
            if not _alive(status["pid"]) or (check is not None and not check(status)):
                return None
            return status

        try:
            result: dict[str, Any] = wait_for(ready, timeout, "the agent's overlay showing a mark")
        except AssertionError:
            raise AssertionError(self.logs()) from None
        return result

    def logs(self) -> str:
        files = [*self.state_dir.glob("*.log"), *self.state_dir.parent.glob("agent-run.log")]
        parts = [f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in files]
        return "\n".join(parts)

    def stop(self) -> None:
        stop_process(self.process)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def enrollment_token(db_url: str, zone: str = "low") -> str:
    """Zone "low" by default: its policy shows the invisible mark only, so the quality budget
    measures the watermark and not the (deliberately visible) text layer of other zones."""
    return checked(leakguard("console", "enroll-token", "--db", db_url, "--zone", zone)).strip().splitlines()[-1]


def start_agent(console_url: str, db_url: str, display: XDisplay, workdir: pathlib.Path,
                zone: str = "low", token: str | None = None) -> RunningAgent:
    token = token or enrollment_token(db_url, zone)
    state = workdir / "agent-state"
    checked(leakguard("agent", "enroll", "--console", console_url, "--token", token, "--state-dir", str(state)))
    log = (workdir / "agent-run.log").open("ab")  # the agent's default configuration, as shipped
    process = subprocess.Popen([sys.executable, "-m", "leakguard.cli", "agent", "run", "--state-dir", str(state)],
                               env=display.env(), stdout=log, stderr=subprocess.STDOUT)
    return RunningAgent(state, process)


def open_document(display: XDisplay, workdir: pathlib.Path, x: int = 0, y: int = 0,
                  width: int = 1400, height: int = 900) -> subprocess.Popen[bytes]:
    """Chromium showing the confidential document as an ordinary application window."""
    process = launch_document(display, workdir, x, y, width, height)
    wait_document(display)
    return process


def launch_document(display: XDisplay, workdir: pathlib.Path, x: int, y: int, width: int,
                    height: int) -> subprocess.Popen[bytes]:
    page = workdir / "minutes.html"
    page.write_text(DOCUMENT.format(title=DOCUMENT_TITLE))
    return subprocess.Popen(
        [CHROMIUM, *CHROMIUM_ARGS, "--test-type", f"--user-data-dir={workdir / 'chromium-profile'}",
         f"--window-position={x},{y}", f"--window-size={width},{height}", f"--app={page.as_uri()}"],
        env=display.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_document(display: XDisplay) -> None:
    wait_for(lambda: _window_shown(display, DOCUMENT_TITLE), 60, "the Chromium window", interval=0.2)
    time.sleep(1.5)  # first paint of the page


def _window_shown(display: XDisplay, title: str) -> bool:
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title], env=display.env(),
                           capture_output=True, text=True)
    return found.returncode == 0 and bool(found.stdout.strip())


def current_user() -> str:
    return getpass.getuser()
