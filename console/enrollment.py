"""Enrollment tokens and agents: issuing, using, revoking."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from console.secrets import AGENT_PREFIX, ENROLL_PREFIX, hash_token, new_token
from console.tables import Agent, AgentDisplay, AgentSession, EnrollmentToken

#: The watermark library's limit (18 device bits); kept here too so enrollment refuses clearly.
MAX_DEVICE = 262_143
#: Monitors per agent that get their own device number (monitor 0 is the agent's `device`).
MAX_MONITORS = 8


class EnrollmentRefused(PermissionError):
    pass


class DevicesExhausted(RuntimeError):
    """Every device number the watermark can carry is already issued."""


def _next_device(session: Session) -> int:
    """The next free number; a race with another server fails on agent_displays' UNIQUE(device)."""
    issued = session.exec(select(func.max(AgentDisplay.device))).one() or 0
    legacy = session.exec(select(func.max(Agent.device))).one() or 0
    return max(issued, legacy) + 1


def create_enrollment_token(
    session: Session, *, zone: str | None, expires: timedelta | None, max_uses: int | None, actor: str
) -> tuple[str, EnrollmentToken]:
    token = new_token(ENROLL_PREFIX)
    expires_at = datetime.now(UTC) + expires if expires else None
    row = EnrollmentToken(token_hash=hash_token(token), zone=zone, expires_at=expires_at,
                          max_uses=max_uses, created_by=actor)
    session.add(row)
    session.commit()
    return token, row


def _use_token(session: Session, token: str) -> EnrollmentToken:
    """Count one use atomically, so two servers cannot exceed max_uses together."""
    now = datetime.now(UTC)
    row = session.exec(select(EnrollmentToken).where(EnrollmentToken.token_hash == hash_token(token))).first()
    if row is None:
        raise EnrollmentRefused("unknown enrollment token")
    if row.revoked_at is not None:
        raise EnrollmentRefused("enrollment token was revoked")
    result = session.execute(
        update(EnrollmentToken)
        .where(col(EnrollmentToken.id) == row.id)
        .where(or_(col(EnrollmentToken.max_uses).is_(None), col(EnrollmentToken.uses) < col(EnrollmentToken.max_uses)))
        .where(or_(col(EnrollmentToken.expires_at).is_(None), col(EnrollmentToken.expires_at) > now))
        .values(uses=EnrollmentToken.uses + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise EnrollmentRefused("enrollment token expired or used up")
    return row


def enroll_agent(
    session: Session, token: str, *, hostname: str, os_name: str, agent_version: str, user: str | None
) -> tuple[str, Agent]:
    for _ in range(10):
        enrollment = _use_token(session, token)
        device = _next_device(session)
        if device > MAX_DEVICE:
            session.rollback()
            raise EnrollmentRefused(f"device numbers exhausted ({MAX_DEVICE})")
        agent_token = new_token(AGENT_PREFIX)
        now = datetime.now(UTC)
        agent = Agent(id=str(uuid.uuid4()), device=device, token_hash=hash_token(agent_token),
                      hostname=hostname, os=os_name, agent_version=agent_version, zone=enrollment.zone,
                      last_user=user, last_seen=now, enrollment_token_id=enrollment.id)
        session.add(agent)
        try:
            session.flush()
            session.add(AgentDisplay(agent_id=agent.id, monitor=0, device=device))
            session.flush()
        except IntegrityError:  # another server took this device number; the use is rolled back too
            session.rollback()
            continue
        if user:
            session.add(AgentSession(agent_id=agent.id, user=user, first_seen=now, last_seen=now))
        session.commit()
        return agent_token, agent
    raise RuntimeError("could not allocate a device number under contention")


def display_devices(session: Session, agent: Agent, monitors: int) -> list[int]:
    """Device numbers of monitors 0..monitors-1, allocating missing ones (race-safe, committed)."""
    agent_id, own = agent.id, agent.device
    for _ in range(10):
        rows = session.exec(select(AgentDisplay.monitor, AgentDisplay.device)
                            .where(AgentDisplay.agent_id == agent_id)).all()
        devices = {0: own} | {int(m): int(d) for m, d in rows}
        missing = [m for m in range(monitors) if m not in devices]
        if not missing:
            return [devices[m] for m in range(monitors)]
        try:
            _allocate(session, agent_id, missing)
            session.commit()
        except IntegrityError:  # another server (or request) took a number or the monitor first
            session.rollback()
    raise RuntimeError("could not allocate a device number under contention")


def _allocate(session: Session, agent_id: str, monitors: list[int]) -> None:
    device = _next_device(session)
    if device + len(monitors) - 1 > MAX_DEVICE:
        session.rollback()
        raise DevicesExhausted(f"device numbers exhausted ({MAX_DEVICE})")
    for offset, monitor in enumerate(monitors):
        session.add(AgentDisplay(agent_id=agent_id, monitor=monitor, device=device + offset))
    session.flush()


def revoke_agent(session: Session, agent: Agent) -> None:
    agent.revoked_at = datetime.now(UTC)
    session.add(agent)
    session.commit()
