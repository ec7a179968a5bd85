"""Load test of the console over real HTTP on loopback: N simulated agents on SQLite and PostgreSQL.

Each run starts a real `leakguard console serve` process (SQLite: 1 worker; PostgreSQL: each of
`--pg-workers`), enrolls the agents through the API (each gets its own agent token), then measures
  * ingest: closed-loop event batches of 100 from many agents -> peak events/s, p50/p99 per batch;
  * heartbeats alone: every simulated agent beats once per interval (60 s, evenly spread, each
    with its own token) -> p50/p95/p99/max, and the server CPU per heartbeat;
  * heartbeats beside a steady event load (batches of 100, 1,000 events/s by default);
  * correctness (PostgreSQL, two server processes): every batch sent to both servers, then the
    stored events are counted (no duplicates, none lost) and every agent's policy version
    compared (one version seen by all).

Latency is measured from each beat's scheduled time, so a late client or a queue counts against
it. The load generator is one asyncio process with a raw keep-alive HTTP/1.1 client
(`bench.rawhttp`); its own CPU is reported beside the server's (and, on PostgreSQL, the CPU of
the database backends serving the run), with the load average.

    .venv/bin/python -m bench.console_load --agents 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import psutil

from bench.rawhttp import Pool

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG_ADMIN = os.environ.get("LEAKGUARD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "leakguard.cli", "console", *args], capture_output=True,
                            text=True, check=True, cwd=ROOT)
    return result.stdout.strip()


def start_server(db_url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "leakguard.cli", "console", "serve", "--db", db_url,
                                "--port", str(port), "--workers", str(workers)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server on {db_url} did not start")


def pg_database() -> str:
    import psycopg

    name = f"leakguard_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_pg(url: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


EVENT = ('{"id":"%s","ts":"%s","channel":"file_upload","action":"audit","severity":"low",'
         '"detectors":[{"id":"email","count":3}],"file_name":"report.xlsx"}')


def batch_body(n: int) -> tuple[list[str], bytes]:
    """Event ids and the JSON body of one batch, built as text so the client stays cheap."""
    ids = [str(uuid.uuid4()) for _ in range(n)]
    now = datetime.now(UTC).isoformat()
    return ids, ('{"events":[' + ",".join(EVENT % (i, now) for i in ids) + "]}").encode()


@dataclass
class Timings:
    seconds: list[float] = field(default_factory=list)
    errors: int = 0

    def pct(self, q: float) -> float:
        if not self.seconds:
            return float("nan")
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class CpuMeter:
    """CPU seconds of the server processes, of this load generator, and of the PostgreSQL
    backends connected to the run's database."""

    def __init__(self, server: subprocess.Popen[bytes], db_url: str) -> None:
        self.server = psutil.Process(server.pid)
        self.db_name = db_url.rsplit("/", 1)[1] if db_url.startswith("postgres") else None

    def _backends(self) -> dict[int, float]:
        if self.db_name is None:
            return {}
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            pids = [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                                   (self.db_name,))]
        return {pid: _cpu(pid) for pid in pids}

    def snapshot(self) -> dict[str, object]:
        server = sum(_cpu(p.pid) for p in [self.server, *self.server.children(recursive=True)])
        return {"wall": time.perf_counter(), "server": server, "client": time.process_time(),
                "db": self._backends()}

    @staticmethod
    def delta(start: dict[str, object], end: dict[str, object]) -> dict[str, float]:
        before, after = start["db"], end["db"]
        assert isinstance(before, dict) and isinstance(after, dict)
        db = sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
        return {key: float(end[key]) - float(start[key]) for key in ("wall", "server", "client")} | {"db": db}  # type: ignore[arg-type]


def _cpu(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


async def enroll_all(url: str, token: str, n: int, concurrency: int = 16) -> tuple[list[str], float]:
    tokens: list[str] = []
    started = time.perf_counter()
    pool = Pool(url, concurrency)

    async def worker(k: int) -> None:
        for i in range(k, n, concurrency):
            status, answer = await pool.json("POST", "/api/v1/agents/enroll", {
                "enrollment_token": token, "hostname": f"sim-{i}", "os": "sim", "agent_version": "bench",
                "user": f"user{i}"})
            if status != 200:
                raise RuntimeError(f"enrollment failed with {status}: {answer}")
            tokens.append(answer["agent_token"])

    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    await pool.close()
    return tokens, time.perf_counter() - started


async def ingest(url: str, tokens: list[str], seconds: float, concurrency: int) -> tuple[int, Timings, float]:
    timings, stored = Timings(), 0
    pool = Pool(url, concurrency)
    deadline = time.perf_counter() + seconds

    async def loop(k: int) -> None:
        nonlocal stored
        i = k
        while time.perf_counter() < deadline:
            _, body = batch_body(100)
            t0 = time.perf_counter()
            status, answer = await pool.request("POST", "/api/v1/events", body, tokens[i % len(tokens)])
            if status == 200:
                timings.seconds.append(time.perf_counter() - t0)
                stored += int(answer[answer.index(b":") + 1:answer.index(b",")])  # {"accepted":N,...}
            else:
                timings.errors += 1
            i += concurrency

    started = time.perf_counter()
    await asyncio.gather(*(loop(k) for k in range(concurrency)))
    await pool.close()
    return stored, timings, time.perf_counter() - started


async def beat_phase(url: str, tokens: list[str], *, interval: float, seconds: float, event_rate: float,
                     event_tokens: list[str]) -> tuple[Timings, Timings, int]:
    """Agent k beats at start + interval * k / len(tokens) for `seconds` (the full interval covers
    every agent once), each from its own token; beside it, batches of 100 at `event_rate` events/s."""
    beats, batches, sent_events = Timings(), Timings(), 0
    beat_pool, event_pool = Pool(url, 256), Pool(url, 32)
    start = time.perf_counter()
    count = min(len(tokens), int(len(tokens) * seconds / interval))

    async def timed(pool: Pool, path: str, body: bytes, token: str, timings: Timings, due: float) -> None:
        """One request; its latency from the scheduled time, or an error (0 = no answer)."""
        try:
            status, _ = await pool.request("POST", path, body, token)
        except (OSError, asyncio.IncompleteReadError):
            status = 0
        if status == 200:
            timings.seconds.append(time.perf_counter() - due)
        else:
            timings.errors += 1

    async def beat(k: int, due: float) -> None:
        await timed(beat_pool, "/api/v1/agents/heartbeat", f'{{"user":"user{k}"}}'.encode(), tokens[k], beats, due)

    async def batch(k: int, due: float) -> None:
        await timed(event_pool, "/api/v1/events", batch_body(100)[1], event_tokens[k % len(event_tokens)], batches,
                    due)

    tasks: list[asyncio.Task[None]] = []
    schedule = sorted([(interval * k / len(tokens), "beat", k) for k in range(count)]
                      + ([(100 * k / event_rate, "batch", k) for k in range(int(seconds * event_rate / 100))]
                         if event_rate else []))
    for offset, kind, k in schedule:
        due = start + offset
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(beat(k, due) if kind == "beat" else batch(k, due)))
        if kind == "batch":
            sent_events += 100
    await asyncio.gather(*tasks)
    await beat_pool.close()
    await event_pool.close()
    return beats, batches, sent_events


async def correctness(agents: int, batches: int) -> dict[str, object]:
    """Two server processes on one PostgreSQL database, everything sent to both."""
    db_url = pg_database()
    servers = [start_server(db_url, 1) for _ in range(2)]
    pools = [Pool(url, 32) for _, url in servers]
    try:
        tokens, _ = await enroll_all(servers[0][1], cli("enroll-token", "--db", db_url), agents)
        sent: set[str] = set()

        async def policy(token: str, pool: Pool) -> tuple[str, int, str]:
            _, body = await pool.json("GET", "/api/v1/agents/policy", token=token)
            return body["zone"], body["version"], body["sha256"]

        seen = await asyncio.gather(*(policy(t, p) for t in tokens for p in pools))

        async def send(token: str) -> int:
            ids, body = batch_body(100)
            sent.update(ids)
            replies = await asyncio.gather(*(p.request("POST", "/api/v1/events", body, token) for p in pools))
            return sum(json.loads(answer)["accepted"] for _, answer in replies)

        accepted = sum(await asyncio.gather(*(send(t) for t in tokens for _ in range(batches))))
        import psycopg

        with psycopg.connect(db_url) as conn:
            row = conn.execute("SELECT count(*), count(DISTINCT id) FROM events").fetchone()
        total, distinct = row if row else (0, 0)
        return {"sent_unique": len(sent), "posted": 2 * len(sent), "accepted": accepted, "stored": total,
                "stored_distinct": distinct, "policy_versions_seen": len(set(seen))}
    finally:
        for pool in pools:
            await pool.close()
        for process, _ in servers:
            process.terminate()
            process.wait(timeout=30)
        drop_pg(db_url)


def phase_row(kind: str, workers: int, event_rate: float, beats: Timings, batches: Timings, cpu: dict[str, float],
              sent_events: int) -> dict[str, object]:
    count, wall = len(beats.seconds) + beats.errors, cpu["wall"]
    return {"db": kind, "workers": workers, "events/s asked": event_rate, "events/s sent": sent_events / wall,
            "hb": count, "hb/s": count / wall, "hb p50 ms": beats.pct(0.5), "hb p95 ms": beats.pct(0.95),
            "hb p99 ms": beats.pct(0.99), "hb max ms": beats.pct(1.0), "batch p99 ms": batches.pct(0.99),
            "errors": beats.errors + batches.errors,
            "server CPU ms/hb": 1000 * cpu["server"] / max(count, 1), "db CPU ms/hb": 1000 * cpu["db"] / max(count, 1),
            "server cores": cpu["server"] / wall, "db cores": cpu["db"] / wall, "client cores": cpu["client"] / wall,
            "load avg": os.getloadavg()[0]}


def run_db(kind: str, workers: int, args: argparse.Namespace) -> tuple[dict[str, object], list[dict[str, object]]]:
    tmp = tempfile.mkdtemp(prefix="leakguard-bench-")
    db_url = f"sqlite:///{tmp}/console.db" if kind == "sqlite" else pg_database()
    process, url = start_server(db_url, workers)
    meter = CpuMeter(process, db_url)
    phases = []
    try:
        tokens, enroll_seconds = asyncio.run(enroll_all(url, cli("enroll-token", "--db", db_url), args.agents))
        event_tokens = tokens[: args.event_agents]
        stored, ingest_t, ingest_seconds = asyncio.run(ingest(url, event_tokens, args.seconds, args.concurrency))
        for rate in (0.0, args.background_rate):
            time.sleep(2)  # let the previous phase's queues drain
            before = meter.snapshot()
            beats, batches, sent = asyncio.run(beat_phase(url, tokens, interval=args.interval, seconds=args.beat_seconds,
                                                          event_rate=rate, event_tokens=event_tokens))
            phases.append(phase_row(kind, workers, rate, beats, batches, CpuMeter.delta(before, meter.snapshot()), sent))
            print_table(phases[-1:])
    finally:
        process.terminate()
        process.wait(timeout=30)
        if kind == "postgres":
            drop_pg(db_url)
    ingest_row = {"db": kind, "workers": workers, "agents": len(tokens), "enroll/s": len(tokens) / enroll_seconds,
                  "events/s": stored / ingest_seconds, "batch p50 ms": ingest_t.pct(0.5),
                  "batch p99 ms": ingest_t.pct(0.99), "errors": ingest_t.errors, "load avg": os.getloadavg()[0]}
    return ingest_row, phases


def print_table(rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    keys = list(rows[0])
    cells = [[f"{r[k]:.{2 if 'CPU' in k or 'cores' in k else 1}f}" if isinstance(r[k], float) else str(r[k])
              for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    print("| " + " | ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for c in cells:
        print("| " + " | ".join(v.rjust(w) for v, w in zip(c, widths, strict=True)) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--agents", type=int, default=10_000, help="simulated agents, each with its own token")
    parser.add_argument("--event-agents", type=int, default=200, help="agents sending event batches")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the ingest phase")
    parser.add_argument("--concurrency", type=int, default=16, help="batches in flight during ingest")
    parser.add_argument("--interval", type=float, default=60.0, help="heartbeat interval of each agent")
    parser.add_argument("--beat-seconds", type=float, default=None,
                        help="length of each heartbeat phase (default: the interval, so every agent beats once)")
    parser.add_argument("--background-rate", type=float, default=1000.0, help="events/s beside the heartbeats")
    parser.add_argument("--pg-workers", default="1,2", help="server worker processes on PostgreSQL, one run each")
    parser.add_argument("--check-agents", type=int, default=200, help="agents in the two-server check")
    parser.add_argument("--check-batches", type=int, default=5, help="batches of 100 per agent in the check")
    parser.add_argument("--skip-check", action="store_true")
    args = parser.parse_args()
    args.beat_seconds = min(args.beat_seconds or args.interval, args.interval)
    runs = ([("sqlite", 1)] if args.db in ("sqlite", "both") else []) + (
        [("postgres", int(w)) for w in args.pg_workers.split(",")] if args.db in ("postgres", "both") else [])
    print(f"leakguard console load, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}, {args.agents} agents beating every {args.interval:.0f} s "
          f"({args.agents / args.interval:.0f}/s), phases of {args.beat_seconds:.0f} s, batches of 100", flush=True)
    ingest_rows, beat_rows = [], []
    for kind, workers in runs:
        ingest_row, phases = run_db(kind, workers, args)
        ingest_rows.append(ingest_row)
        beat_rows += phases
    print("\npeak ingest (closed loop, batches of 100):")
    print_table(ingest_rows)
    print("\nheartbeats (latency from each beat's scheduled time), alone and beside event batches:")
    print_table(beat_rows)
    if args.db != "sqlite" and not args.skip_check:
        result = asyncio.run(correctness(args.check_agents, args.check_batches))
        ok = (result["stored"] == result["stored_distinct"] == result["sent_unique"] == result["accepted"]
              and result["policy_versions_seen"] == 1)
        print("\ntwo servers on one PostgreSQL, every batch posted to both:")
        print_table([{**result, "correct": ok}])


if __name__ == "__main__":
    main()
