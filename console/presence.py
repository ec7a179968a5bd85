"""Heartbeats and logins: when each device was seen and who was logged in on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from console.tables import Agent, AgentSession

#: A heartbeat later than this after the last one starts a new session (the device was off).
SESSION_GAP = timedelta(minutes=5)


def aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass(frozen=True)
class Placement:
    """What zone resolution needs to know about a device."""

    zone: str | None
    group_name: str | None
    tags: list[str]


def record_heartbeat(session: Session, token_hash: str, *, user: str | None, now: datetime,
                     changes: dict[str, str]) -> tuple[str, Placement] | None:
    """Authenticate and record in one UPDATE ... RETURNING (heartbeats are the most frequent
    call of all); None when the token is unknown or the agent revoked."""
    values: dict[str, object] = {"last_seen": now, **changes, **({"last_user": user} if user else {})}
    row = session.execute(
        update(Agent).where(Agent.token_hash == token_hash, col(Agent.revoked_at).is_(None)).values(**values)
        .returning(col(Agent.id), col(Agent.last_user), col(Agent.zone), col(Agent.group_name), col(Agent.tags))
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        session.rollback()
        return None
    agent_id, last_user, zone, group_name, tags = row
    if last_user:
        _extend_session(session, agent_id, last_user, now)
    session.commit()
    return agent_id, Placement(zone, group_name, list(tags or []))


def _extend_session(session: Session, agent_id: str, user: str, now: datetime) -> None:
    latest = select(func.max(AgentSession.id)).where(AgentSession.agent_id == agent_id).scalar_subquery()
    extended = session.execute(
        update(AgentSession)
        .where(col(AgentSession.id) == latest, AgentSession.user == user, col(AgentSession.last_seen) >= now - SESSION_GAP)
        .values(last_seen=now).execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not extended:
        session.add(AgentSession(agent_id=agent_id, user=user, first_seen=now, last_seen=now))


def users_between(session: Session, agent_id: str, start: datetime, end: datetime) -> list[str]:
    """Users whose sessions on the device overlap [start, end], longest overlap first."""
    rows = session.exec(
        select(AgentSession).where(
            AgentSession.agent_id == agent_id,
            col(AgentSession.first_seen) <= end + SESSION_GAP,
            col(AgentSession.last_seen) >= start - SESSION_GAP,
        )
    ).all()
    overlap: dict[str, float] = {}
    for row in rows:
        first, last = aware(row.first_seen), aware(row.last_seen)
        seconds = (min(last, end) - max(first, start)).total_seconds()
        overlap[row.user] = max(overlap.get(row.user, -1e18), seconds)
    return sorted(overlap, key=lambda name: -overlap[name])
