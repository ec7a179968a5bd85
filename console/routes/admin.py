"""Managing agents and enrollment tokens; reading the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from console import audit
from console.auth import Auditor, Manager, Reader, SessionDep
from console.enrollment import create_enrollment_token, revoke_agent
from console.policies import ZONE_PATTERN
from console.schemas import MAX_ROW_ID, RowId
from console.tables import Agent, AuditEntry, EnrollmentToken
from console.zones import effective_zone

router = APIRouter(prefix="/api/v1", tags=["admin"])
ZoneName = Annotated[str, Field(pattern=ZONE_PATTERN.pattern)]
Label = Annotated[str, Field(min_length=1, max_length=128)]


class AgentOut(BaseModel):
    id: str
    device: int
    hostname: str
    os: str
    agent_version: str
    zone: str
    assigned_zone: str | None
    group: str | None
    tags: list[str]
    last_user: str | None
    enrolled_at: datetime
    last_seen: datetime | None
    revoked: bool


def _agent_out(session: Session, request: Request, agent: Agent) -> AgentOut:
    return AgentOut(
        id=agent.id, device=agent.device, hostname=agent.hostname, os=agent.os, agent_version=agent.agent_version,
        zone=effective_zone(session, agent, request.app.state.settings.default_zone), assigned_zone=agent.zone,
        group=agent.group_name, tags=list(agent.tags or []), last_user=agent.last_user,
        enrolled_at=agent.enrolled_at, last_seen=agent.last_seen, revoked=agent.revoked_at is not None,
    )


def _agent(session: Session, agent_id: str) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise HTTPException(404, "no such agent")
    return agent


@router.get("/agents", response_model=list[AgentOut])
def list_agents(person: Reader, request: Request, session: SessionDep,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> list[AgentOut]:
    rows = session.exec(select(Agent).order_by(col(Agent.device)).offset(offset).limit(limit)).all()
    return [_agent_out(session, request, a) for a in rows]


@router.get("/agents/{agent_id}", response_model=AgentOut)
def get_agent(agent_id: str, person: Reader, request: Request, session: SessionDep) -> AgentOut:
    return _agent_out(session, request, _agent(session, agent_id))


class AgentPatch(BaseModel):
    zone: ZoneName | None = None
    group: Label | None = None
    tags: Annotated[list[Label], Field(max_length=32)] | None = None


@router.patch("/agents/{agent_id}", response_model=AgentOut)
def assign_agent(agent_id: str, body: AgentPatch, person: Manager, request: Request, session: SessionDep) -> AgentOut:
    """Fields sent (even as null) are changed; a null zone falls back to group, tag, default."""
    agent = _agent(session, agent_id)
    sent = body.model_dump(exclude_unset=True)
    if "zone" in sent:
        agent.zone = body.zone
    if "group" in sent:
        agent.group_name = body.group
    if "tags" in sent:
        agent.tags = sorted(set(body.tags or []))
    session.add(agent)
    audit.record(session, request, person.username, "agent_assign", agent.id, **sent)
    session.commit()
    return _agent_out(session, request, agent)


@router.post("/agents/{agent_id}/revoke", response_model=AgentOut)
def revoke(agent_id: str, person: Manager, request: Request, session: SessionDep) -> AgentOut:
    agent = _agent(session, agent_id)
    audit.record(session, request, person.username, "agent_revoke", agent.id)
    revoke_agent(session, agent)
    return _agent_out(session, request, agent)


class EnrollmentIn(BaseModel):
    zone: ZoneName | None = None
    expires_seconds: Annotated[int | None, Field(ge=60, le=366 * 86400)] = None
    max_uses: Annotated[int | None, Field(ge=1, le=1_000_000)] = None


class EnrollmentOut(BaseModel):
    id: int
    zone: str | None
    max_uses: int | None
    uses: int
    created_at: datetime
    expires_at: datetime | None
    revoked: bool
    token: str | None = None


def _enrollment_out(row: EnrollmentToken, token: str | None = None) -> EnrollmentOut:
    return EnrollmentOut(id=int(row.id or 0), zone=row.zone, max_uses=row.max_uses, uses=row.uses,
                         created_at=row.created_at, expires_at=row.expires_at,
                         revoked=row.revoked_at is not None, token=token)


@router.post("/enrollment-tokens", response_model=EnrollmentOut, status_code=201)
def add_enrollment_token(body: EnrollmentIn, person: Manager, request: Request, session: SessionDep) -> EnrollmentOut:
    expires = timedelta(seconds=body.expires_seconds) if body.expires_seconds else None
    audit.record(session, request, person.username, "enrollment_token_create", body.zone or "",
                 max_uses=body.max_uses, expires_seconds=body.expires_seconds)
    token, row = create_enrollment_token(session, zone=body.zone, expires=expires, max_uses=body.max_uses,
                                         actor=person.username)
    return _enrollment_out(row, token)


@router.get("/enrollment-tokens", response_model=list[EnrollmentOut])
def list_enrollment_tokens(person: Manager, session: SessionDep) -> list[EnrollmentOut]:
    rows = session.exec(select(EnrollmentToken).order_by(col(EnrollmentToken.id).desc())).all()
    return [_enrollment_out(r) for r in rows]


@router.post("/enrollment-tokens/{token_id}/revoke", response_model=EnrollmentOut)
def revoke_enrollment_token(token_id: RowId, person: Manager, request: Request, session: SessionDep) -> EnrollmentOut:
    row = session.get(EnrollmentToken, token_id)
    if row is None:
        raise HTTPException(404, "no such enrollment token")
    row.revoked_at = row.revoked_at or datetime.now(UTC)
    session.add(row)
    audit.record(session, request, person.username, "enrollment_token_revoke", str(token_id))
    session.commit()
    return _enrollment_out(row)


class AuditOut(BaseModel):
    id: int
    ts: datetime
    actor: str
    action: str
    target: str
    details: dict[str, object]
    remote_addr: str | None


@router.get("/audit", response_model=list[AuditOut])
def read_audit(person: Auditor, session: SessionDep,
               before_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[AuditOut]:
    """Newest first; pass the last id as `before_id` for the next page."""
    query = select(AuditEntry)
    if before_id is not None:
        query = query.where(col(AuditEntry.id) < before_id)
    rows = session.exec(query.order_by(col(AuditEntry.id).desc()).limit(limit)).all()
    return [AuditOut.model_validate(r, from_attributes=True) for r in rows]
