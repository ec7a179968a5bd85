"""Load test of the console over real HTTP on loopback: N simulated agents on SQLite and PostgreSQL.

Each run starts a real `leakguard console serve` process (or several, on PostgreSQL), enrolls the
agents through the API, then measures
  * ingest: closed-loop event batches of 100 from many agents -> events/s, p50/p99 per batch;
  * heartbeat: every simulated agent beats once per interval (60 s by default, spread evenly),
    while a steady event load runs -> heartbeat p50/p99;
  * correctness (PostgreSQL, two server processes): every batch sent to both servers, some twice,
    then the stored events are counted (no duplicates, none lost) and every agent's policy
    version compared (one version seen by all).

    .venv/bin/python -m bench.console_load --agents 10000 --seconds 60
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

import aiohttp
import httpx

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


JSON = {"Content-Type": "application/json"}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **JSON}


async def post(client: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    """POST, retried on a dropped keep-alive connection (the server closes idle ones after 5 s)."""
    for attempt in range(3):
        try:
            async with client.post(url, data=body, headers=headers) as reply:
                return reply.status, (await reply.json() if reply.status == 200 else {})
        except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def session(limit: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit),
                                 timeout=aiohttp.ClientTimeout(total=120))


@dataclass
class Timings:
    seconds: list[float] = field(default_factory=list)
    errors: int = 0

    def pct(self, q: float) -> float:
        if not self.seconds:
            return float("nan")
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def enroll_all(urls: list[str], token: str, n: int, concurrency: int = 16) -> tuple[list[str], float]:
    tokens: list[str] = []
    started = time.perf_counter()
    async with session(concurrency) as client:
        async def worker(k: int) -> None:
            for i in range(k, n, concurrency):
                body = json.dumps({"enrollment_token": token, "hostname": f"sim-{i}", "os": "sim",
                                   "agent_version": "bench", "user": f"user{i}"}).encode()
                status, answer = await post(client, f"{urls[i % len(urls)]}/api/v1/agents/enroll", body, JSON)
                if status != 200:
                    raise RuntimeError(f"enrollment failed with {status}")
                tokens.append(answer["agent_token"])
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return tokens, time.perf_counter() - started


async def ingest(urls: list[str], tokens: list[str], seconds: float, size: int, concurrency: int) -> tuple[int, Timings, float]:
    timings, stored = Timings(), 0
    deadline = time.perf_counter() + seconds
    async with session(concurrency) as client:
        async def loop(k: int) -> None:
            nonlocal stored
            i = k
            while time.perf_counter() < deadline:
                _, body = batch_body(size)
                t0 = time.perf_counter()
                status, answer = await post(client, f"{urls[i % len(urls)]}/api/v1/events", body,
                                            auth(tokens[i % len(tokens)]))
                if status == 200:
                    timings.seconds.append(time.perf_counter() - t0)
                    stored += answer["accepted"]
                else:
                    timings.errors += 1
                i += concurrency
        started = time.perf_counter()
        await asyncio.gather(*(loop(k) for k in range(concurrency)))
    return stored, timings, time.perf_counter() - started


async def heartbeats(urls: list[str], tokens: list[str], interval: float, background_rate: float,
                     event_tokens: list[str]) -> tuple[Timings, int]:
    """Every agent beats once per `interval`, evenly spread; plus `background_rate` events/s."""
    timings = Timings()
    sent_events = 0
    async with session(512) as client:
        start = time.perf_counter()

        async def beats(lane: int, lanes: int) -> None:
            for i in range(lane, len(tokens), lanes):
                await asyncio.sleep(max(0.0, start + interval * i / len(tokens) - time.perf_counter()))
                t0 = time.perf_counter()
                body = f'{{"user":"user{i}"}}'.encode()
                status, _ = await post(client, f"{urls[i % len(urls)]}/api/v1/agents/heartbeat", body,
                                       auth(tokens[i]))
                if status == 200:
                    timings.seconds.append(time.perf_counter() - t0)
                else:
                    timings.errors += 1

        async def background() -> None:
            nonlocal sent_events
            gap = 100 / background_rate
            k = 0
            while time.perf_counter() - start < interval:
                _, body = batch_body(100)
                await post(client, f"{urls[k % len(urls)]}/api/v1/events", body, auth(event_tokens[k % len(event_tokens)]))
                sent_events += 100
                k += 1
                await asyncio.sleep(max(0.0, start + k * gap - time.perf_counter()))

        lanes = 64  # enough concurrent lanes that one slow answer never delays the next agent's beat
        tasks = [beats(lane, lanes) for lane in range(lanes)]
        if background_rate:
            tasks.append(background())
        await asyncio.gather(*tasks)
    return timings, sent_events


async def correctness(agents: int, batches: int) -> dict[str, object]:
    """Two server processes on one PostgreSQL database, everything sent to both."""
    db_url = pg_database()
    servers = [start_server(db_url, 1) for _ in range(2)]
    urls = [url for _, url in servers]
    try:
        tokens, _ = await enroll_all(urls, cli("enroll-token", "--db", db_url), agents)
        sent: set[str] = set()
        async with session(64) as client:
            async def policy(token: str, url: str) -> tuple[str, int, str]:
                async with client.get(f"{url}/api/v1/agents/policy", headers=auth(token)) as reply:
                    body = await reply.json()
                return body["zone"], body["version"], body["sha256"]

            seen = await asyncio.gather(*(policy(t, u) for t in tokens for u in urls))

            async def send(token: str) -> int:
                ids, body = batch_body(100)
                sent.update(ids)
                replies = await asyncio.gather(*(post(client, f"{u}/api/v1/events", body, auth(token)) for u in urls))
                return sum(answer["accepted"] for _, answer in replies)

            accepted = sum(await asyncio.gather(*(send(t) for t in tokens for _ in range(batches))))
        import psycopg

        with psycopg.connect(db_url) as conn:
            row = conn.execute("SELECT count(*), count(DISTINCT id) FROM events").fetchone()
        total, distinct = row if row else (0, 0)
        return {"sent_unique": len(sent), "posted": 2 * len(sent), "accepted": accepted, "stored": total,
                "stored_distinct": distinct, "policy_versions_seen": len(set(seen))}
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(timeout=30)
        drop_pg(db_url)


def run_db(kind: str, args: argparse.Namespace) -> dict[str, object]:
    tmp = tempfile.mkdtemp(prefix="leakguard-bench-")
    db_url = f"sqlite:///{tmp}/console.db" if kind == "sqlite" else pg_database()
    workers = args.workers if kind == "postgres" else args.sqlite_workers
    process, url = start_server(db_url, workers)
    try:
        tokens, enroll_seconds = asyncio.run(enroll_all([url], cli("enroll-token", "--db", db_url), args.agents))
        stored, ingest_t, ingest_seconds = asyncio.run(
            ingest([url], tokens[: args.event_agents], args.seconds, 100, args.concurrency))
        beat_t, background = asyncio.run(
            heartbeats([url], tokens, args.interval, args.background_rate, tokens[: args.event_agents]))
    finally:
        process.terminate()
        process.wait(timeout=30)
        if kind == "postgres":
            drop_pg(db_url)
    return {"db": kind, "workers": workers, "agents": len(tokens), "enroll/s": len(tokens) / enroll_seconds,
            "events/s": stored / ingest_seconds, "batch p50 ms": ingest_t.pct(0.5), "batch p99 ms": ingest_t.pct(0.99),
            "hb/s": len(tokens) / args.interval, "hb p50 ms": beat_t.pct(0.5), "hb p99 ms": beat_t.pct(0.99),
            "bg events/s": background / args.interval, "errors": ingest_t.errors + beat_t.errors}


def print_table(rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    keys = list(rows[0])
    cells = [[f"{r[k]:.1f}" if isinstance(r[k], float) else str(r[k]) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    print("| " + " | ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for c in cells:
        print("| " + " | ".join(v.rjust(w) for v, w in zip(c, widths, strict=True)) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--agents", type=int, default=10_000, help="simulated agents (heartbeat phase)")
    parser.add_argument("--event-agents", type=int, default=200, help="agents sending event batches")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the ingest phase")
    parser.add_argument("--concurrency", type=int, default=16, help="batches in flight during ingest")
    parser.add_argument("--interval", type=float, default=60.0, help="heartbeat interval of each agent")
    parser.add_argument("--background-rate", type=float, default=1000.0, help="events/s during heartbeats")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes on PostgreSQL")
    parser.add_argument("--sqlite-workers", type=int, default=1, help="server worker processes on SQLite")
    parser.add_argument("--check-agents", type=int, default=200, help="agents in the two-server check")
    parser.add_argument("--check-batches", type=int, default=5, help="batches of 100 per agent in the check")
    parser.add_argument("--skip-check", action="store_true")
    args = parser.parse_args()
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    print(f"leakguard console load, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
          f"batches of 100, heartbeat every {args.interval:.0f} s")
    rows = []
    for kind in kinds:
        rows.append(run_db(kind, args))
        print_table(rows[-1:])
    print()
    print_table(rows)
    if "postgres" in kinds and not args.skip_check:
        result = asyncio.run(correctness(args.check_agents, args.check_batches))
        ok = (result["stored"] == result["stored_distinct"] == result["sent_unique"] == result["accepted"]
              and result["policy_versions_seen"] == 1)
        print()
        print("two servers on one PostgreSQL, every batch posted to both:")
        print_table([{**result, "correct": ok}])


if __name__ == "__main__":
    main()
