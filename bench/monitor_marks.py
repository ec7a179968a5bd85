"""GET /api/v1/agents/marks cost by monitor count, on SQLite (first call allocates the device numbers).

    .venv/bin/python bench/monitor_marks.py [--agents 20] [--count 48]

Prints a table: monitors, first call (allocation) and repeat call medians in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from console_load import cli, start_server  # noqa: E402


def _enroll(url: str, token: str, n: int) -> list[str]:
    body = {"enrollment_token": token, "hostname": "bench", "os": "linux", "agent_version": "bench"}
    return [str(httpx.post(f"{url}/api/v1/agents/enroll", json=body, timeout=30).json()["agent_token"])
            for _ in range(n)]


def _ms(url: str, token: str, monitors: int, count: int) -> float:
    start = time.perf_counter()
    reply = httpx.get(f"{url}/api/v1/agents/marks", params={"count": count, "monitors": monitors},
                      headers={"Authorization": f"Bearer {token}"}, timeout=30)
    reply.raise_for_status()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--count", type=int, default=48)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        db_url = f"sqlite:///{work}/bench.db"
        process, url = start_server(db_url, 1)
        try:
            print(f"marks endpoint, {args.agents} agents, {args.count} slots per monitor, SQLite, 1 worker")
            print(f"{'monitors':>8} | {'first call ms':>13} | {'repeat ms':>9}")
            for monitors in (1, 2, 4, 8):
                tokens = _enroll(url, cli("enroll-token", "--db", db_url, "--max-uses", "1000"), args.agents)
                first = [_ms(url, t, monitors, args.count) for t in tokens]
                again = [_ms(url, t, monitors, args.count) for t in tokens]
                print(f"{monitors:>8} | {statistics.median(first):>13.1f} | {statistics.median(again):>9.1f}")
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
