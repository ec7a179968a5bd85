"""The agent-facing API: enroll, heartbeat, policy, watermark marks."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response

from console import watermarking
from console.auth import AgentDep, SessionDep, bearer_token, unauthorized
from console.enrollment import (
    MAX_MONITORS,
    DevicesExhausted,
    EnrollmentRefused,
    display_devices,
    enroll_agent,
)
from console.policies import current_policy, latest_version, policy_document
from console.presence import record_heartbeat
from console.schemas import EnrollIn, EnrollOut, HeartbeatIn, HeartbeatOut, MarkOut, MarksOut, PolicyOut
from console.secrets import hash_token
from console.signing import MARK_SECRET, POLICY_SIGN, active_key, public_key_b64
from console.zones import effective_zone

router = APIRouter(prefix="/api/v1/agents", tags=["agents"])
HEARTBEAT_SECONDS = 60


@router.post("/enroll", response_model=EnrollOut)
def enroll(body: EnrollIn, request: Request, session: SessionDep) -> EnrollOut:
    try:
        token, agent = enroll_agent(session, body.enrollment_token, hostname=body.hostname, os_name=body.os,
                                    agent_version=body.agent_version, user=body.user)
    except EnrollmentRefused as exc:
        raise HTTPException(401, str(exc)) from exc
    key = active_key(session, POLICY_SIGN)
    zone = effective_zone(session, agent, request.app.state.settings.default_zone)
    return EnrollOut(agent_id=agent.id, agent_token=token, device=agent.device, zone=zone,
                     policy_public_key=public_key_b64(key), policy_key_id=int(key.id or 0),
                     slot_seconds=watermarking.slot_seconds(), heartbeat_seconds=HEARTBEAT_SECONDS)


@router.post("/heartbeat", response_model=HeartbeatOut)
def heartbeat(request: Request, session: SessionDep, body: Annotated[HeartbeatIn | None, Body()] = None
              ) -> HeartbeatOut:
    """Authenticates inside the one UPDATE that records the beat (Bearer agent token)."""
    token = bearer_token(request)
    if token is None:
        raise unauthorized()
    now = datetime.now(UTC)
    body = body or HeartbeatIn()
    changes = {k: v for k, v in (("agent_version", body.agent_version), ("hostname", body.hostname)) if v}
    recorded = record_heartbeat(session, hash_token(token), user=body.user, now=now, changes=changes)
    if recorded is None:
        raise unauthorized("unknown or revoked agent token")
    agent_id, placement = recorded
    zone = effective_zone(session, placement, request.app.state.settings.default_zone)
    return HeartbeatOut(status="ok", agent_id=agent_id, zone=zone, policy_version=latest_version(session, zone),
                        server_time=now)


@router.get("/policy", response_model=PolicyOut, responses={304: {"description": "unchanged"}})
def get_policy(agent: AgentDep, request: Request, response: Response, session: SessionDep) -> PolicyOut | Response:
    zone = effective_zone(session, agent, request.app.state.settings.default_zone)
    row = current_policy(session, zone)
    if row is None:
        raise HTTPException(404, f"zone {zone!r} has no policy yet; publish one")
    document = policy_document(session, row)
    if request.headers.get("if-none-match") in (document.etag, "*"):
        return Response(status_code=304, headers={"ETag": document.etag})
    response.headers["ETag"] = document.etag
    response.headers["Cache-Control"] = "no-cache"
    return PolicyOut(**document.__dict__)


@router.get("/marks", response_model=MarksOut, responses={503: {"description": "device numbers exhausted"}})
def get_marks(
    agent: AgentDep, request: Request, session: SessionDep,
    from_slot: Annotated[int | None, Query(ge=0, le=4_194_303)] = None,
    count: Annotated[int, Query(ge=1, le=1000)] = 144,
    monitors: Annotated[int, Query(ge=1, le=MAX_MONITORS)] = 1,
) -> MarksOut:
    """Marks per monitor: monitor 0 carries the agent's own device, others get their own on first ask."""
    start = from_slot if from_slot is not None else watermarking.current_slot(time.time())
    count = min(count, request.app.state.settings.max_marks_per_call, 4_194_304 - start)
    try:
        devices = display_devices(session, agent, monitors)
    except DevicesExhausted as exc:
        raise HTTPException(503, str(exc)) from exc
    key = active_key(session, MARK_SECRET)
    marks = [MarkOut(slot=slot, mark=f"{mark:016x}", monitor=monitor)
             for monitor, device in enumerate(devices)
             for slot, mark in watermarking.issue_marks(key.secret, device, range(start, start + count))]
    return MarksOut(slot_seconds=watermarking.slot_seconds(), marks=marks)
