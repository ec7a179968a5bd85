"""Heartbeats and logins: when each device was seen and who was logged in on it.

Heartbeats are the console's most frequent call (10,000 agents beat 167 times a second), so the
common beat is one driver-level `UPDATE agents ... RETURNING` that authenticates the token,
records the beat and only matches when the device's session simply goes on (same user, no gap).
A session row (`agent_sessions`) is written only when a session starts: the user changed, or the
device comes back after more than `SESSION_GAP`. The newest session of a device is open and lasts
until the device's `last_seen`; when the next session starts, the old one is closed at that time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from console.tables import Agent, AgentSession
from console.zones import effective_zone

#: A heartbeat later than this after the last one starts a new session (the device was off).
SESSION_GAP = timedelta(minutes=5)

_CONTINUE = ("UPDATE agents SET last_seen = ?, hostname = COALESCE(?, hostname), "
             "agent_version = COALESCE(?, agent_version) "
             "WHERE token_hash = ? AND revoked_at IS NULL AND last_seen >= ?{user} "
             "RETURNING id, zone, group_name, tags, "
             "(SELECT max(version) FROM policies WHERE policies.zone = COALESCE(agents.zone, ?)){sync}")
#: PostgreSQL: the beat commits without waiting for the WAL flush (set inside the statement, which
#: saves a round trip); a lost beat costs nothing, the transaction still commits or vanishes whole.
_NO_FLUSH = ", set_config('synchronous_commit', 'off', true)"
#: A no-op write: locks the row (PostgreSQL row lock, SQLite write lock) and reads what it was.
_LOCK = ("UPDATE agents SET last_seen = last_seen WHERE token_hash = ? AND revoked_at IS NULL "
         "RETURNING id, last_seen, last_user")
_RECORD = ("UPDATE agents SET last_seen = ?, last_user = COALESCE(?, last_user), hostname = COALESCE(?, hostname), "
           "agent_version = COALESCE(?, agent_version) WHERE id = ? RETURNING zone, group_name, tags, last_user")
_CLOSE = ("UPDATE agent_sessions SET last_seen = ? "
          "WHERE id = (SELECT max(id) FROM agent_sessions WHERE agent_id = ?) AND last_seen < ?")
_OPEN = 'INSERT INTO agent_sessions (agent_id, "user", first_seen, last_seen) VALUES (?, ?, ?, ?)'
_VERSION = "SELECT max(version) FROM policies WHERE zone = ?"


def aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass
class Placement:
    """What zone resolution needs to know about a device (mutable only to fit `zones.Placed`)."""

    zone: str | None
    group_name: str | None
    tags: list[str]


class _Driver:
    """Driver-level SQL on either database: SQLAlchemy's compiled statements cost more CPU per
    heartbeat than the database work itself. Errors are still wrapped by SQLAlchemy (-> 503)."""

    def __init__(self, session: Session) -> None:
        self.conn: Connection = session.connection()
        self.postgres = self.conn.dialect.name == "postgresql"

    def run(self, sql: str, *params: Any) -> Any:
        if self.postgres:
            sql = sql.replace("?", "%s")
        return self.conn.exec_driver_sql(sql, params)

    def time(self, value: datetime) -> Any:
        """SQLite keeps UTC text in the format SQLAlchemy's DateTime writes, so both compare alike."""
        return value if self.postgres else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def read_time(self, value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return aware(value) if value is not None else None
        return aware(datetime.fromisoformat(str(value)))


def _placement(zone: str | None, group_name: str | None, tags: Any) -> Placement:
    if isinstance(tags, str):
        tags = json.loads(tags)
    return Placement(zone, group_name, list(tags or []))


@dataclass(frozen=True)
class Beat:
    """What the heartbeat answer needs."""

    agent_id: str
    zone: str
    policy_version: int | None


def record_heartbeat(session: Session, token_hash: str, *, user: str | None, now: datetime,
                     changes: dict[str, str], default_zone: str) -> Beat | None:
    """Authenticate, record the beat and read the zone's newest policy version, in one short
    transaction; None (rolled back) when the token is unknown or the agent revoked.

    The common beat is one statement. The version is read on every beat, never cached, so a
    published version is announced at the very next beat.
    """
    db = _Driver(session)
    hostname, version = changes.get("hostname"), changes.get("agent_version")
    same_user = " AND last_user = ?" if user else ""
    sql = _CONTINUE.format(user=same_user, sync=_NO_FLUSH if db.postgres else "")
    params = (db.time(now), hostname, version, token_hash, db.time(now - SESSION_GAP), *((user,) if user else ()),
              default_zone)
    row = db.run(sql, *params).first()
    if row is not None:
        recorded: tuple[str, Placement] | None = (str(row[0]), _placement(row[1], row[2], row[3]))
    else:
        if db.postgres:
            db.run("SET LOCAL synchronous_commit TO OFF")
        recorded = _start_session(db, token_hash, user=user, now=now, hostname=hostname, version=version)
    if recorded is None:
        session.rollback()
        return None
    agent_id, placement = recorded
    if row is not None and (placement.zone or not (placement.group_name or placement.tags)):
        zone, newest = placement.zone or default_zone, row[4]  # the statement read this zone's version
    else:
        zone = effective_zone(session, placement, default_zone)  # group and tag rules decide
        newest = db.run(_VERSION, zone).scalar()
    session.commit()
    return Beat(agent_id, zone, int(newest) if newest is not None else None)


def _start_session(db: _Driver, token_hash: str, *, user: str | None, now: datetime, hostname: str | None,
                   version: str | None) -> tuple[str, Placement] | None:
    """The rare beat: first after a gap, or another user logged in (or the token is bad)."""
    old = db.run(_LOCK, token_hash).first()
    if old is None:
        return None
    agent_id, old_seen, old_user = str(old[0]), db.read_time(old[1]), old[2]
    zone, group_name, tags, new_user = db.run(_RECORD, db.time(now), user, hostname, version, agent_id).one()
    goes_on = new_user == old_user and old_seen is not None and old_seen >= now - SESSION_GAP
    if new_user and not goes_on:
        if old_seen is not None:
            db.run(_CLOSE, db.time(old_seen), agent_id, db.time(old_seen))
        db.run(_OPEN, agent_id, new_user, db.time(now), db.time(now))
    return agent_id, _placement(zone, group_name, tags)


def users_between(session: Session, agent_id: str, start: datetime, end: datetime) -> list[str]:
    """Users whose sessions on the device overlap [start, end], longest overlap first."""
    newest = session.exec(select(func.max(AgentSession.id)).where(AgentSession.agent_id == agent_id)).one()
    seen = session.exec(select(Agent.last_seen).where(Agent.id == agent_id)).first()
    rows = session.exec(
        select(AgentSession).where(
            AgentSession.agent_id == agent_id,
            col(AgentSession.first_seen) <= end + SESSION_GAP,
            or_(col(AgentSession.last_seen) >= start - SESSION_GAP, col(AgentSession.id) == newest),
        )
    ).all()
    overlap: dict[str, float] = {}
    for row in rows:
        first, last = aware(row.first_seen), aware(row.last_seen)
        if row.id == newest and seen is not None:
            last = max(last, aware(seen))  # the open session lasts until the device was last seen
        if last < start - SESSION_GAP:
            continue
        seconds = (min(last, end) - max(first, start)).total_seconds()
        overlap[row.user] = max(overlap.get(row.user, -1e18), seconds)
    return sorted(overlap, key=lambda name: -overlap[name])
