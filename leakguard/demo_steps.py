"""The steps of `leakguard demo`, each a method that runs real leakguard commands as processes."""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import sys
import time
from typing import Any

import httpx

from leakguard.xdisplay import DisplayError, VirtualDisplay, display_works, start_virtual_display

MEMO = """<!doctype html><html><head><title>Q3 acquisition memo - CONFIDENTIAL</title></head>
<body style="font-family: DejaVu Sans, sans-serif; margin: 48px; background: #fff; color: #222">
<h1>Project Falcon: acquisition memo</h1><p><b>CONFIDENTIAL</b> - board members only.</p>
<p>The offer for Northwind Traders stands at 412 million, payable in two tranches. Due diligence
closes on 14 December; the announcement is planned for 9 January.</p>
<table border="1" cellpadding="6" style="border-collapse: collapse">
<tr><th>Item</th><th>Value</th><th>Owner</th></tr>
<tr><td>Enterprise value</td><td>412 M</td><td>CFO</td></tr>
<tr><td>Synergies (3 years)</td><td>57 M</td><td>COO</td></tr>
<tr><td>Break fee</td><td>12 M</td><td>Legal</td></tr></table>
<p>Any screenshot of this page carries an invisible mark that names this PC and this hour.</p>
</body></html>"""


class DemoRun:
    """One demo: its folder, the processes it started and what it learned along the way."""

    def __init__(self, root: pathlib.Path, port: int) -> None:
        self.root = root
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.db_url = f"sqlite:///{root / 'console.db'}"
        self.state_dir = root / "agent"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.display: VirtualDisplay | None = None
        self.display_name = ""
        self.password = ""
        root.mkdir(parents=True, exist_ok=True)

    # -- console -------------------------------------------------------------------------------
    def start_console(self) -> None:
        if not _port_free(self.port):
            raise RuntimeError(f"port {self.port} on 127.0.0.1 is in use; pick another with --port")
        key = self.root / "master.key"  # seals the console's private keys in its database
        if not key.exists():
            self._leakguard("console", "master-key", str(key))
        os.environ["LEAKGUARD_MASTER_KEY_FILE"] = str(key.resolve())  # for every console command below
        self.password = self._admin_password()
        self._spawn("console", "console", "serve", "--db", self.db_url, "--port", str(self.port))
        deadline = time.monotonic() + 60
        while not self._healthy():
            if time.monotonic() > deadline or self.processes[-1].poll() is not None:
                raise RuntimeError(f"the console did not start; see {self.root / 'console.log'}")
            time.sleep(0.2)

    def _admin_password(self) -> str:
        saved = self.root / "admin-password"
        if saved.exists():
            return saved.read_text().strip()
        password = secrets.token_urlsafe(12)
        self._leakguard("console", "createadmin", "--db", self.db_url, "--username", "admin",
                        "--password-stdin", stdin=password + "\n")
        saved.write_text(password + "\n")
        saved.chmod(0o600)
        return password

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    # -- agent ---------------------------------------------------------------------------------
    def enroll_agent(self) -> None:
        if (self.state_dir / "credentials.json").exists():
            return
        token = self._leakguard("console", "enroll-token", "--db", self.db_url, "--zone", "medium").strip()
        self._leakguard("agent", "enroll", "--console", self.url, "--token", token,
                        "--state-dir", str(self.state_dir))

    def start_display(self, *, use_current: bool) -> None:
        current = os.environ.get("DISPLAY", "")
        if use_current and display_works(current):
            self.display_name = current
            return
        try:
            self.display = start_virtual_display(1920, 1080)
        except DisplayError as exc:
            raise RuntimeError(f"no display to show the overlay on: {exc}") from exc
        self.display_name = self.display.name

    def start_agent(self) -> None:
        for folder in ("usb", "Dropbox"):
            (self.root / folder).mkdir(exist_ok=True)
        config = self.root / "agent.toml"
        config.write_text(
            "[sync]\nheartbeat_seconds = 10.0\npolicy_seconds = 30.0\n\n"
            f"[channels]\nremovable_paths = [\"{self.root / 'usb'}\"]\n"
            f"cloud_sync_paths = [\"{self.root / 'Dropbox'}\"]\n"
            "printing = false\n"  # the demo does not hold the jobs of this machine's printers
        )
        self._spawn("agent", "agent", "run", "--state-dir", str(self.state_dir), "--config", str(config))
        deadline = time.monotonic() + 60
        while not self._overlay_painted():
            if time.monotonic() > deadline or self.processes[-1].poll() is not None:
                raise RuntimeError(f"the agent's overlay did not come up; see {self.root / 'agent.log'}")
            time.sleep(0.2)

    def _overlay_painted(self) -> bool:
        """True once the overlay reports a mark on every monitor (its overlay-status.json)."""
        try:
            status = json.loads((self.state_dir / "overlay-status.json").read_text())
        except (OSError, ValueError):
            return False
        screens = status.get("screens") or []
        return bool(screens) and all(screen.get("mark") for screen in screens)

    def show_document(self) -> None:
        """On a virtual display, open a confidential memo in Chromium under the overlay."""
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if self.display is None or chromium is None:
            return
        memo = self.root / "memo.html"
        memo.write_text(MEMO)
        profile = self.root / "chromium-profile"
        args = [chromium, "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--test-type", f"--user-data-dir={profile}", "--window-position=0,0", "--window-size=1920,1080",
                f"--app=file://{memo}"]
        log = (self.root / "chromium.log").open("wb")
        self.processes.append(subprocess.Popen(args, env=self._display_env(), stdout=log, stderr=log))
        time.sleep(4.0)

    # -- the leak ------------------------------------------------------------------------------
    def leak_and_trace(self, attempts: int = 4) -> dict[str, Any]:
        """Leak and trace; retry a little while the overlay may still be starting up. A failed
        trace says which windows were on top, so that an overlay under another window shows."""
        result: dict[str, Any] = {}
        for _ in range(attempts):
            result = self._leak_once()
            if result.get("found"):
                break
            trouble = self.display.trouble() if self.display else ""
            result.setdefault("error", f"top windows, uppermost first: {', '.join(self.top_windows()) or '?'}"
                                       + (f"; {trouble}" if trouble else ""))
            time.sleep(2.0)
        return result

    def top_windows(self, count: int = 4) -> list[str]:
        """Names of the uppermost mapped windows on the demo's display."""
        from Xlib import X, display, error

        try:
            conn = display.Display(self.display_name)
        except (error.DisplayError, OSError):
            return []
        try:
            names = []
            for window in reversed(conn.screen().root.query_tree().children):
                if window.get_attributes().map_state == X.IsViewable:
                    names.append(str(window.get_wm_name() or f"0x{window.id:x}"))
                if len(names) == count:
                    break
            return names
        except error.XError:
            return []
        finally:
            conn.close()

    def _leak_once(self) -> dict[str, Any]:
        """Screenshot the screen, leak it as a JPEG, and trace it through the console."""
        import cv2
        import mss
        import numpy as np

        with mss.MSS(display=self.display_name) as grabber:
            shot = np.asarray(grabber.grab(grabber.monitors[1]))[:, :, :3]
        cv2.imwrite(str(self.root / "screen.png"), shot)
        # The leak as a chat app would pass it on: the whole screen as a JPEG of quality 85.
        cv2.imwrite(str(self.root / "leak.jpg"), shot, [cv2.IMWRITE_JPEG_QUALITY, 85])
        output = self._leakguard("trace", "--json", "--console", self.url, "--username", "admin",
                                 "--password-stdin", str(self.root / "leak.jpg"), stdin=self.password + "\n")
        lines = [line for line in output.splitlines() if line.strip()]
        return json.loads(lines[-1]) if lines else {"found": False, "error": "trace printed nothing"}

    def summary(self, result: dict[str, Any]) -> str:
        env = f"DISPLAY={self.display_name} "
        where = "your display" if self.display is None else f"the virtual display {self.display_name}"
        traced = _describe(result)
        lg = f"{sys.executable} -m leakguard.cli" if not shutil.which("leakguard") else "leakguard"
        return "\n".join([
            "",
            "leakguard demo is running.",
            f"  Console:  {self.url}   login: admin / {self.password}",
            f"  Agent:    enrolled, state in {self.state_dir}, overlay on {where}",
            f"  Screen:   {self.root / 'screen.png'}   leaked JPEG: {self.root / 'leak.jpg'}",
            f"  Traced:   {traced}",
            "",
            "Try it:",
            f"  1. Leak:   {env}python -c \"import mss; mss.MSS().shot(output='{self.root}/my-leak.png')\"",
            f"  2. Trace:  echo '{self.password}' | {lg} trace --console {self.url} --username admin "
            f"--password-stdin {self.root}/my-leak.png",
            f"  3. Case:   log in at {self.url}/docs and open GET /api/v1/cases (report: /api/v1/cases/ID/report.html)",
            f"  4. Copy a card number: echo 'card 4111 1111 1111 1111' | {env}xclip -selection clipboard",
            f"  5. Drop a file on the 'USB stick': cp some-secret.docx {self.root / 'usb'}/",
            f"     then: {lg} agent quarantine list --state-dir {self.state_dir}",
            f"  Events:   curl -s -H 'Authorization: Bearer TOKEN' '{self.url}/api/v1/events?limit=20'",
        ])

    def wait(self) -> None:
        while all(p.poll() is None for p in self.processes[:2]):
            time.sleep(1.0)
        raise RuntimeError("a demo process stopped; see the logs in " + str(self.root))

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        if self.display is not None:
            self.display.stop()

    # -- plumbing ------------------------------------------------------------------------------
    def _display_env(self) -> dict[str, str]:
        return self.display.env() if self.display else {**os.environ, "DISPLAY": self.display_name}

    def _spawn(self, name: str, *args: str) -> None:
        log = (self.root / f"{name}.log").open("ab")
        command = [sys.executable, "-m", "leakguard.cli", *args]
        self.processes.append(subprocess.Popen(command, env=self._display_env() if name == "agent" else None,
                                               stdout=log, stderr=subprocess.STDOUT))

    def _leakguard(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run([sys.executable, "-m", "leakguard.cli", *args], input=stdin,
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"`leakguard {' '.join(args[:2])}` failed: {result.stderr.strip()[-600:]}")
        return result.stdout


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _describe(result: dict[str, Any]) -> str:
    if not result.get("found"):
        return f"no mark found ({result.get('error', 'see leak.jpg')})"
    owner = result.get("user") or "?"
    host = result.get("hostname") or "?"
    return (f"mark {result.get('mark')} -> user {owner} on {host}, "
            f"{result.get('time_from', '?')} .. {result.get('time_to', '?')} (case {result.get('case_id', '?')})")
