"""Event storage: idempotent batch ingest, filtered cursor pages, retention pruning."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Text, and_, cast, delete, or_, select
from sqlmodel import Session, col

from console.schemas import EventIn, as_utc
from console.tables import Agent, Event

PRUNE_CHUNK = 5000


COLUMNS = ("id", "agent_id", "user", "ts", "received_at", "channel", "action", "severity", "detectors", "details")


def event_rows(agent: Agent, events: list[EventIn], now: datetime) -> tuple[list[dict[str, Any]], int]:
    """Rows to insert, and how many repeated an id already in this batch."""
    seen: set[str] = set()
    rows = []
    for event in events:
        key = str(event.id)
        if key in seen:
            continue
        seen.add(key)
        rows.append({
            "id": key, "agent_id": agent.id, "user": event.user or agent.last_user, "ts": event.ts,
            "received_at": now, "channel": event.channel, "action": event.action, "severity": event.severity,
            "detectors": [{"id": d.id, "count": d.count} for d in event.detectors], "details": event.model_extra or {},
        })
    return rows, len(events) - len(rows)


def _sqlite_time(value: datetime) -> str:
    """The text form SQLAlchemy's SQLite DateTime stores, so both paths read and compare alike."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def insert_new(session: Session, rows: list[dict[str, Any]]) -> list[str]:
    """One multi-row INSERT ... ON CONFLICT (id) DO NOTHING RETURNING id on either database.

    Written as driver-level SQL: SQLAlchemy's per-row type processing cost more CPU than the
    database itself at thousands of events per second.
    """
    if not rows:
        return []
    postgres = session.get_bind().dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    json_mark = f"{mark}::json" if postgres else mark
    one = "(" + ", ".join([mark] * 8 + [json_mark] * 2) + ")"
    sql = (f'INSERT INTO events (id, agent_id, "user", ts, received_at, channel, action, severity, detectors, '
           f"details) VALUES {', '.join([one] * len(rows))} ON CONFLICT (id) DO NOTHING RETURNING id")
    stamp = (lambda d: d) if postgres else _sqlite_time
    params: list[Any] = []
    for r in rows:
        params += [r["id"], r["agent_id"], r["user"], stamp(r["ts"]), stamp(r["received_at"]), r["channel"],
                   r["action"], r["severity"], json.dumps(r["detectors"]), json.dumps(r["details"])]
    result = session.connection().exec_driver_sql(sql, tuple(params))  # errors still wrapped by SQLAlchemy
    stored = [str(row[0]) for row in result.fetchall()]
    session.commit()
    return stored


@dataclass(frozen=True)
class EventFilter:
    since: datetime | None = None
    until: datetime | None = None
    agent_id: str | None = None
    user: str | None = None
    channel: str | None = None
    action: str | None = None
    #: Events in which this detector fired (an id as in `detectors`).
    detector: str | None = None
    #: Events that carry a finding with this keyed hash: where else one value went from the same PC.
    digest: str | None = None


def _quoted(value: str, key: str) -> str:
    """A LIKE pattern for `"key": "value"` anywhere in a JSON column as stored (SQLite text; the same
    text on PostgreSQL's json)."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f'%"{key}": "{escaped}"%'


class BadCursor(ValueError):
    pass


def encode_cursor(ts: datetime, event_id: str) -> str:
    raw = json.dumps([as_utc(ts).isoformat(), event_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        ts_text, event_id = json.loads(raw)
        return as_utc(datetime.fromisoformat(ts_text)), str(event_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadCursor("cursor is not one this server issued") from exc


def query_events(session: Session, where: EventFilter, *, limit: int, cursor: str | None) -> tuple[list[Event], str | None]:
    """Newest first; the cursor is the (ts, id) of the last item, so pages never skip or repeat."""
    query = select(Event)
    for column, value in (("agent_id", where.agent_id), ("user", where.user), ("channel", where.channel),
                          ("action", where.action)):
        if value is not None:
            query = query.where(getattr(Event, column) == value)
    for column, key, value in ((Event.detectors, "id", where.detector), (Event.details, "digest", where.digest)):
        if value is not None:
            query = query.where(cast(column, Text).like(_quoted(value, key), escape="\\"))
    if where.since is not None:
        query = query.where(col(Event.ts) >= as_utc(where.since))
    if where.until is not None:
        query = query.where(col(Event.ts) < as_utc(where.until))
    if cursor:
        ts, event_id = decode_cursor(cursor)
        query = query.where(or_(col(Event.ts) < ts, and_(col(Event.ts) == ts, col(Event.id) < event_id)))
    query = query.order_by(col(Event.ts).desc(), col(Event.id).desc()).limit(limit + 1)
    items = list(session.execute(query).scalars().all())
    next_cursor = encode_cursor(items[limit - 1].ts, items[limit - 1].id) if len(items) > limit else None
    return items[:limit], next_cursor


def prune_events(session: Session, *, retention_days: int, now: datetime | None = None) -> int:
    """Delete events older than the retention period, in chunks so ingest is never blocked long."""
    if retention_days <= 0:
        return 0
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    total = 0
    while True:
        ids = select(Event.id).where(col(Event.ts) < cutoff).limit(PRUNE_CHUNK).scalar_subquery()
        deleted = session.execute(delete(Event).where(col(Event.id).in_(ids))).rowcount  # type: ignore[attr-defined]
        session.commit()
        total += deleted
        if deleted < PRUNE_CHUNK:
            return total
