"""Footprint and latency of the whole agent (service + session part + overlay) on a virtual display.

Starts a real console (SQLite), a virtual X display (Xvfb + xcompmgr), enrolls an agent in the
high zone and runs `leakguard agent run` with the session part and the overlay. Then measures
  * idle CPU (% of one core, children that ran and exited meanwhile included: the overlay's
    renderer) and memory (peak RSS and PSS, sampled every 5 s) of every agent process over
    `--seconds` (default 300);
  * file close -> verdict for a 1 MB .docx written into a watched removable directory
    (the event's timestamp, taken at the verdict, minus the moment the file was closed);
  * clipboard change -> verdict: inside the session part (XFixes notice -> verdict received, from
    its log) and end to end (an xclip copy -> the clipboard replaced by the block notice).

    .venv/bin/python -m bench.agent_footprint --seconds 300 --runs 20
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import pathlib
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from typing import Any

import httpx
import psutil

LEAKGUARD = [sys.executable, "-m", "leakguard.cli"]
WORDS = ["report", "budget", "customer", "invoice", "quarterly", "revenue", "forecast", "meeting", "project", "review", "draft", "final"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(*args: str, stdin: str | None = None) -> str:
    return subprocess.run([*LEAKGUARD, *args], input=stdin, capture_output=True, text=True, check=True).stdout.strip()


def wait(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for {what}")


def start_display() -> tuple[str, list[subprocess.Popen[bytes]]]:
    number = next(n for n in range(150, 400) if not pathlib.Path(f"/tmp/.X{n}-lock").exists())
    xvfb = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait(lambda: pathlib.Path(f"/tmp/.X11-unix/X{number}").exists(), 15, "Xvfb")
    compositor = subprocess.Popen(["xcompmgr"], env={**os.environ, "DISPLAY": f":{number}"},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return f":{number}", [compositor, xvfb]


def make_docx(size: int, rng: random.Random) -> bytes:
    """A real Word document of about `size` bytes (stored, so the size is the document's text)."""
    words, total = [], 0
    while total < size:
        word = rng.choice(WORDS)
        words.append(word)
        total += len(word) + 1
    words.insert(len(words) // 2, "card 4111 1111 1111 1111")
    body = "".join(f"<w:p><w:r><w:t>{' '.join(words[i:i + 200])}</w:t></w:r></w:p>" for i in range(0, len(words), 200))
    doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.'
           f'openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as docx:
        docx.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.'
                      'org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="'
                      'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        docx.writestr("word/document.xml", doc)
    return out.getvalue()


def agent_processes(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _name(proc: psutil.Process) -> str:
    argv = proc.cmdline()
    return argv[2] if len(argv) > 2 and argv[1] == "-m" and argv[2] != "leakguard.cli" else "agent service"


def measure_idle(root: psutil.Process, seconds: float) -> dict[str, Any]:
    """CPU over the window and peak memory, per process and in total."""
    procs = {p.pid: p for p in agent_processes(root)}
    # user + system + those of exited, waited-for children: the overlay's short-lived renderer counts
    before = {pid: sum(p.cpu_times()[:4]) for pid, p in procs.items()}
    start = time.monotonic()
    memory: dict[int, tuple[float, float]] = {}
    while time.monotonic() - start < seconds:
        time.sleep(min(5.0, seconds))
        for pid, proc in procs.items():
            try:
                info = proc.memory_full_info()
            except psutil.NoSuchProcess:
                continue
            old = memory.get(pid, (0.0, 0.0))
            memory[pid] = (max(old[0], info.rss / 2**20), max(old[1], getattr(info, "pss", info.rss) / 2**20))
    elapsed = time.monotonic() - start
    rows = []
    for pid, proc in procs.items():
        try:
            cpu = 100 * (sum(proc.cpu_times()[:4]) - before[pid]) / elapsed
        except psutil.NoSuchProcess:
            continue
        rss, pss = memory.get(pid, (0.0, 0.0))
        rows.append((_name(proc), cpu, rss, pss))
    return {"rows": rows, "seconds": elapsed}


def memory_now(root: psutil.Process) -> dict[str, float]:
    found: dict[str, float] = {}
    for proc in agent_processes(root):
        try:
            found[_name(proc)] = proc.memory_info().rss / 2**20
        except psutil.NoSuchProcess:
            continue
    return found


def events(url: str, token: str, channel: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/api/v1/events", params={"channel": channel, "limit": 1000},
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return list(response.json()["items"])


def file_latencies(usb: pathlib.Path, runs: int, url: str, token: str) -> list[float]:
    result = []
    for run in range(runs):
        data = make_docx(1_000_000, random.Random(run))  # new content every time: nothing can be cached
        name = f"report-{run}.docx"
        with open(usb / name, "wb") as handle:
            handle.write(data)
        closed = time.time()
        event = wait(lambda n=name: next((e for e in events(url, token, "removable_media")
                                          if e["details"].get("file", {}).get("name") == n), None), 30, "file event")
        verdict = dt.datetime.fromisoformat(event["ts"].replace("Z", "+00:00")).timestamp()
        result.append((verdict - closed) * 1000)
        time.sleep(0.3)
    return result


def clipboard_latencies(display: str, runs: int) -> list[float]:
    env, result = {**os.environ, "DISPLAY": display}, []
    for run in range(runs):
        copied = time.monotonic()
        owner = subprocess.Popen(["xclip", "-quiet", "-i", "-selection", "clipboard"], env=env, stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert owner.stdin is not None
        owner.stdin.write(f"run {run}: card 4111 1111 1111 1111".encode())
        owner.stdin.close()
        owner.wait(timeout=10)  # xclip -quiet exits when the agent takes the clipboard over
        result.append((time.monotonic() - copied) * 1000)
        time.sleep(0.2)
    return result


def session_latencies(log: pathlib.Path) -> list[float]:
    marker = "clipboard verdict "
    return [json.loads(line.split(marker, 1)[1])["ms"] for line in log.read_text().splitlines() if marker in line]


def row(name: str, values: list[float], target: str) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (f"| {name:<44} | {statistics.median(values):8.1f} | {p95:8.1f} | {max(values):8.1f} | {len(values):4d} "
            f"| {target:<9} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="idle measurement window")
    parser.add_argument("--runs", type=int, default=20, help="latency samples per channel")
    parser.add_argument("--no-overlay", action="store_true", help="leave the overlay process out")
    args = parser.parse_args()
    for tool in ("Xvfb", "xcompmgr", "xclip"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed (scripts/system-deps.sh test)")
    work = pathlib.Path(tempfile.mkdtemp(prefix="leakguard-bench-agent-"))
    display, helpers = start_display()
    port = free_port()
    db = f"sqlite:///{work / 'console.db'}"
    console = subprocess.Popen([*LEAKGUARD, "console", "serve", "--db", db, "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    helpers.append(console)
    url = f"http://127.0.0.1:{port}"
    agent: subprocess.Popen[bytes] | None = None
    try:
        wait(lambda: _healthy(url), 60, "the console")
        cli("console", "createadmin", "--db", db, "--username", "bench", "--password-stdin", stdin="bench-password-1\n")
        token = cli("console", "token", "create", "--db", db, "--username", "bench", "--name", "bench")
        state, usb = work / "state", work / "usb"
        usb.mkdir()
        cli("agent", "enroll", "--console", url, "--token", cli("console", "enroll-token", "--db", db, "--zone",
                                                                  "high"), "--state-dir", str(state))
        config = work / "agent.toml"
        config.write_text(f'[session]\noverlay = {"false" if args.no_overlay else "true"}\n'
                          f'[channels]\nremovable_paths = ["{usb}"]\nuser_homes = []\n')
        log = (work / "agent.log").open("wb")
        agent = subprocess.Popen([*LEAKGUARD, "agent", "run", "--state-dir", str(state), "--config", str(config)],
                                 env={**os.environ, "DISPLAY": display}, stdout=log, stderr=subprocess.STDOUT)
        time.sleep(15)  # start-up, first sync, session part and overlay up
        idle = measure_idle(psutil.Process(agent.pid), args.seconds)
        files = file_latencies(usb, args.runs, url, token)
        clip_end = clipboard_latencies(display, args.runs)
        clip_session = session_latencies(state / "session.log")
        after = memory_now(psutil.Process(agent.pid))
    finally:
        if agent is not None:
            agent.terminate()
            agent.wait(timeout=30)
        for process in helpers:
            process.terminate()
            process.wait(timeout=10)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"leakguard agent footprint, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
          f"load average at the end {load}")
    print()
    print(f"| idle over {idle['seconds']:5.0f} s        | CPU % of one core | RSS MB | PSS MB | RSS MB after the latency runs |")
    print("|--------------------------|-------------------|--------|--------|-------------------------------|")
    for name, cpu, rss, pss in idle["rows"]:
        print(f"| {name:<24} | {cpu:17.2f} | {rss:6.1f} | {pss:6.1f} | {after.get(name, 0.0):29.1f} |")
    total = [sum(r[i] for r in idle["rows"]) for i in (1, 2, 3)]
    print(f"| {'total (target <1%, <120)':<24} | {total[0]:17.2f} | {total[1]:6.1f} | {total[2]:6.1f} "
          f"| {sum(after.values()):29.1f} |")
    print()
    print(f"| {'latency (ms)':<44} | {'median':>8} | {'p95':>8} | {'max':>8} | {'n':>4} | target    |")
    print(f"|{'-' * 46}|{'-' * 10}|{'-' * 10}|{'-' * 10}|{'-' * 6}|{'-' * 11}|")
    print(row("file close -> verdict, 1 MB .docx", files, "< 200"))
    print(row("clipboard change -> verdict (session part)", clip_session or [float("nan")], "< 50"))
    print(row("copy -> clipboard replaced (end to end)", clip_end, ""))
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    sys.exit(main())
