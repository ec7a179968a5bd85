"""The agent-facing API: enroll, heartbeat, policy, watermark marks."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from console import watermarking
from console.auth import AgentDep, SessionDep, bearer_token, unauthorized
from console.enrollment import (
    MAX_MONITORS,
    DevicesExhausted,
    EnrollmentRefused,
    display_devices,
    enroll_agent,
)
from console.policies import current_policy, policy_document
from console.presence import Beat, record_heartbeat
from console.schemas import EnrollIn, EnrollOut, HeartbeatIn, HeartbeatOut, MarkOut, MarksOut, PolicyOut
from console.secrets import hash_token
from console.signing import MARK_SECRET, POLICY_SIGN, active_key, public_key_b64, unseal
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


#: The body is parsed by the route itself, so OpenAPI is told its schema here.
_HEARTBEAT_OPENAPI = {"requestBody": {"required": False, "content": {
    "application/json": {"schema": HeartbeatIn.model_json_schema()}}}}
_HEARTBEAT_BODY: TypeAdapter[HeartbeatIn | None] = TypeAdapter(HeartbeatIn | None)


@router.post("/heartbeat", response_model=HeartbeatOut, openapi_extra=_HEARTBEAT_OPENAPI,
             responses={401: {"description": "unknown or revoked agent token"},
                        422: {"description": "malformed heartbeat"}})
async def heartbeat(request: Request) -> Response:
    """Bearer agent token; authenticated inside the one UPDATE that records the beat.

    The most frequent call of all, so it skips FastAPI's per-request machinery: it parses its
    own body, hops to a thread once for the database and writes the answer's JSON itself.
    """
    token = bearer_token(request)
    if token is None:
        raise unauthorized()
    body = read_heartbeat(await request.body())
    now, default_zone = datetime.now(UTC), request.app.state.settings.default_zone
    beat = await run_in_threadpool(_record, request.app.state.engine, hash_token(token), body, now, default_zone)
    if beat is None:
        raise unauthorized("unknown or revoked agent token")
    answer = HeartbeatOut(status="ok", agent_id=beat.agent_id, zone=beat.zone, policy_version=beat.policy_version,
                          server_time=now)
    return Response(answer.model_dump_json(), media_type="application/json")


def read_heartbeat(raw: bytes) -> HeartbeatIn:
    """An empty body or `null` is a plain beat; anything else must be a valid HeartbeatIn (else 422)."""
    if not raw.strip():
        return HeartbeatIn()
    try:
        return _HEARTBEAT_BODY.validate_json(raw) or HeartbeatIn()
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        raise RequestValidationError(errors, body=raw.decode("utf-8", "replace")) from exc


def _record(engine: Engine, token_hash: str, body: HeartbeatIn, now: datetime, default_zone: str) -> Beat | None:
    changes = {k: v for k, v in (("agent_version", body.agent_version), ("hostname", body.hostname)) if v}
    with Session(engine, expire_on_commit=False) as session:
        return record_heartbeat(session, token_hash, user=body.user, now=now, changes=changes,
                                default_zone=default_zone)


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
             for slot, mark in watermarking.issue_marks(unseal(key), device, range(start, start + count))]
    return MarksOut(slot_seconds=watermarking.slot_seconds(), marks=marks)
