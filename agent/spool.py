"""The durable event spool: SQLite in WAL mode, written before any action is acknowledged.

Delivery is at-least-once: a batch leaves the spool only after the console has answered for it,
and every event carries a UUID so that the console can drop the duplicates a crash may cause.
When the spool is full the lowest-severity, oldest events go first, and the spool counts them so
that the loss itself is reported.
"""

from __future__ import annotations

import json
import pathlib
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from typing import Any

SEVERITY_RANK: dict[str, int] = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
SEVERITY_NAMES: dict[int, str] = {rank: name for name, rank in SEVERITY_RANK.items()}

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    severity INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_severity ON events (severity, seq);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


def severity_rank(severity: object) -> int:
    return SEVERITY_RANK.get(str(severity).lower(), SEVERITY_RANK["medium"])


class Spool:
    """A bounded, crash-safe queue of events waiting for the console."""

    def __init__(self, path: pathlib.Path, *, max_events: int = 200_000) -> None:
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        self.path = path
        self.max_events = max_events
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, events: Iterable[dict[str, Any]]) -> int:
        """Store events durably (duplicates by id are ignored); returns how many were new."""
        rows = [(e["id"], severity_rank(e.get("severity")), json.dumps(e, sort_keys=True)) for e in events]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                before = self._db.total_changes
                self._db.executemany("INSERT OR IGNORE INTO events (id, severity, body) VALUES (?, ?, ?)", rows)
                added = self._db.total_changes - before
                self._evict_over_bound()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return added

    def _evict_over_bound(self) -> None:
        (count,) = self._db.execute("SELECT count(*) FROM events").fetchone()
        excess = count - self.max_events
        if excess <= 0:
            return
        victims = self._db.execute(
            "SELECT seq, severity FROM events ORDER BY severity, seq LIMIT ?", (excess,)
        ).fetchall()
        self._db.executemany("DELETE FROM events WHERE seq = ?", [(seq,) for seq, _ in victims])
        for _, rank in victims:
            self._bump(f"dropped.{SEVERITY_NAMES.get(rank, 'medium')}", 1)

    def _bump(self, name: str, by: int) -> None:
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (name, by),
        )

    def batch(self, limit: int) -> list[dict[str, Any]]:
        """The oldest `limit` events, still kept until `ack` removes them."""
        with self._lock:
            rows = self._db.execute("SELECT body FROM events ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [json.loads(body) for (body,) in rows]

    def ack(self, ids: Sequence[str], *, rejected: bool = False) -> None:
        """Forget events the console has confirmed (stored or already had), or refused for good."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM events WHERE id = ?", [(i,) for i in ids])
            self._bump("rejected" if rejected else "delivered", len(ids))
            self._db.execute("COMMIT")

    def depth(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT count(*) FROM events").fetchone()
        return int(count)

    def counters(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT name, value FROM counters").fetchall()
        return {name: int(value) for name, value in rows}

    def unreported_drops(self) -> dict[str, int]:
        """Events evicted since the last `mark_drops_reported`, by severity."""
        values = self.counters()
        drops: dict[str, int] = {}
        for name in SEVERITY_RANK:
            new = values.get(f"dropped.{name}", 0) - values.get(f"reported.{name}", 0)
            if new > 0:
                drops[name] = new
        return drops

    def add_drop_report(self, report: dict[str, Any], drops: dict[str, int]) -> None:
        """Spool the event that reports evictions and mark them reported, in one transaction."""
        row = (report["id"], SEVERITY_RANK["critical"], json.dumps(report, sort_keys=True))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR IGNORE INTO events (id, severity, body) VALUES (?, ?, ?)", row)
            for name, count in drops.items():
                self._bump(f"reported.{name}", count)
            self._db.execute("COMMIT")
