"""Database engines for the embedded SQLite default and the PostgreSQL scale-out path."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool
from sqlmodel import create_engine

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")
#: More connections than request threads (40), so no request ever waits for a connection while
#: holding one another request needs.
POOL_SIZE, POOL_OVERFLOW = 10, 50
#: How often a server copies SQLite's write-ahead log back into the database file.
CHECKPOINT_SECONDS = 1.0
log = logging.getLogger(__name__)


def normalise_url(url: str) -> str:
    """Accept the plain `postgresql://` form users write and pick the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, *, sqlite_timeout: float = 30.0, background_checkpoints: bool = False) -> Engine:
    """`background_checkpoints` (servers, which then run `checkpoint_forever`): SQLite's WAL is
    never checkpointed inside a request's commit, whose fsync would hold every other writer up."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": sqlite_timeout},
                               poolclass=QueuePool, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)
        event.listen(engine, "connect", _sqlite_pragmas)
        if background_checkpoints:
            event.listen(engine, "connect", _no_autocheckpoint)
        _serialize_writes(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _no_autocheckpoint(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


def checkpoint_wal(engine: Engine) -> None:
    """A PASSIVE checkpoint on a connection of its own: it copies what it can from the WAL into
    the database file (and syncs it) without taking the write lock, so writers go on meanwhile."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        return
    connection = sqlite3.connect(path, timeout=5)
    try:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        connection.close()


async def checkpoint_forever(engine: Engine, seconds: float = CHECKPOINT_SECONDS) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await asyncio.to_thread(checkpoint_wal, engine)
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint failed (will retry): %s", exc)


def _serialize_writes(engine: Engine) -> None:
    """One writing transaction at a time within this process, queued on a lock.

    SQLite allows one writer; without this, writers from different threads collide on the file
    lock and its busy handler sleeps (up to 100 ms a time), which ruins tail latency. Readers are
    never held up (WAL). The lock is taken at a transaction's first write and released when it
    ends (commit, rollback, or the pool resetting the connection).
    """
    lock = threading.Lock()

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not conn.info.get("writing") and statement.lstrip()[:6].upper() in WRITES:
            lock.acquire()
            conn.info["writing"] = True

    def release(info: dict[str, Any]) -> None:
        if info.pop("writing", False):
            lock.release()

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", lambda conn: release(conn.info))
    event.listen(engine, "rollback", lambda conn: release(conn.info))
    def reset(dbapi_connection: Any, connection_record: Any, reset_state: Any) -> None:
        release(connection_record.info)

    def invalidate(dbapi_connection: Any, connection_record: Any, exception: Any) -> None:
        release(connection_record.info)

    event.listen(engine.pool, "reset", reset)
    event.listen(engine.pool, "invalidate", invalidate)
