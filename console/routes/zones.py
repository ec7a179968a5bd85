"""Zones, zone assignment rules (by group or tag) and versioned zone policies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from console import audit
from console.auth import Manager, Reader, SessionDep
from console.policies import (
    BUILT_IN_ZONES,
    MAX_POLICY_BYTES,
    ZONE_PATTERN,
    PolicyInvalid,
    current_policy,
    list_versions,
    policy_document,
    publish_policy,
)
from console.schemas import MAX_ROW_ID, PolicyOut, RowId
from console.tables import Policy, ZoneRule

router = APIRouter(prefix="/api/v1", tags=["zones"])
ZonePath = Annotated[str, Path(pattern=ZONE_PATTERN.pattern)]
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")


class ZoneOut(BaseModel):
    zone: str
    policy_version: int | None


@router.get("/zones", response_model=list[ZoneOut])
def list_zones(person: Reader, session: SessionDep) -> list[ZoneOut]:
    rows = session.exec(select(Policy.zone, func.max(Policy.version)).group_by(Policy.zone)).all()
    versions = dict(rows)
    names = sorted(set(BUILT_IN_ZONES) | set(versions))
    return [ZoneOut(zone=z, policy_version=versions.get(z)) for z in names]


class ZoneRuleIn(BaseModel):
    kind: Literal["group", "tag"]
    value: Annotated[str, Field(min_length=1, max_length=128)]
    zone: Annotated[str, Field(pattern=ZONE_PATTERN.pattern)]
    priority: Annotated[int, Field(ge=0, le=1_000_000)] = 100


class ZoneRuleOut(ZoneRuleIn):
    id: int


@router.get("/zone-rules", response_model=list[ZoneRuleOut])
def list_zone_rules(person: Reader, session: SessionDep) -> list[ZoneRuleOut]:
    rows = session.exec(select(ZoneRule).order_by(col(ZoneRule.priority), col(ZoneRule.id))).all()
    return [ZoneRuleOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/zone-rules", response_model=ZoneRuleOut, status_code=201)
def add_zone_rule(body: ZoneRuleIn, person: Manager, request: Request, session: SessionDep) -> ZoneRuleOut:
    row = ZoneRule(**body.model_dump())
    session.add(row)
    audit.record(session, request, person.username, "zone_rule_create", f"{body.kind}:{body.value}", zone=body.zone)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise HTTPException(409, f"a rule for {body.kind} {body.value!r} exists already") from exc
    return ZoneRuleOut.model_validate(row, from_attributes=True)


@router.delete("/zone-rules/{rule_id}", status_code=204)
def delete_zone_rule(rule_id: RowId, person: Manager, request: Request, session: SessionDep) -> Response:
    row = session.get(ZoneRule, rule_id)
    if row is None:
        raise HTTPException(404, "no such zone rule")
    session.delete(row)
    audit.record(session, request, person.username, "zone_rule_delete", f"{row.kind}:{row.value}", zone=row.zone)
    session.commit()
    return Response(status_code=204)


def _current(session: Session, zone: str) -> Policy:
    row = current_policy(session, zone)
    if row is None:
        raise HTTPException(404, f"zone {zone!r} has no policy")
    return row


@router.get("/zones/{zone}/policy", response_model=PolicyOut)
def get_zone_policy(zone: ZonePath, person: Reader, response: Response, session: SessionDep) -> PolicyOut:
    document = policy_document(session, _current(session, zone))
    response.headers["ETag"] = document.etag
    return PolicyOut(**document.__dict__)


class VersionOut(BaseModel):
    version: int
    sha256: str
    created_at: datetime
    created_by: str


@router.get("/zones/{zone}/policy/versions", response_model=list[VersionOut])
def get_zone_policy_versions(zone: ZonePath, person: Reader, session: SessionDep) -> list[VersionOut]:
    return [VersionOut.model_validate(r, from_attributes=True) for r in list_versions(session, zone)]


@router.get("/zones/{zone}/policy.yaml", response_class=PlainTextResponse)
def export_zone_policy(zone: ZonePath, person: Reader, session: SessionDep,
                       version: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None) -> PlainTextResponse:
    """The policy YAML as the rules engine reads it (`leakguard rules` can check it)."""
    row = _current(session, zone)
    if version is not None:
        row = session.exec(select(Policy).where(Policy.zone == zone, Policy.version == version)).first() or row
        if row.version != version:
            raise HTTPException(404, f"zone {zone!r} has no policy version {version}")
    return PlainTextResponse(row.text, media_type="application/yaml",
                             headers={"Content-Disposition": f'attachment; filename="{zone}-v{row.version}.yaml"'})


class PolicyIn(BaseModel):
    policy: Annotated[str, Field(min_length=1, max_length=MAX_POLICY_BYTES)]


def _publish(session: Session, request: Request, person: Manager, zone: str, text: str) -> PolicyOut:
    try:
        row = publish_policy(session, zone, text, actor=person.username)
    except PolicyInvalid as exc:
        raise HTTPException(422, str(exc)) from exc
    audit.record(session, request, person.username, "policy_publish", zone, version=row.version, sha256=row.sha256)
    session.commit()
    return PolicyOut(**policy_document(session, row).__dict__)


@router.put("/zones/{zone}/policy", response_model=PolicyOut, status_code=201)
def put_zone_policy(zone: ZonePath, body: PolicyIn, person: Manager, request: Request,
                    session: SessionDep) -> PolicyOut:
    return _publish(session, request, person, zone, body.policy)


@router.put("/zones/{zone}/policy.yaml", response_model=PolicyOut, status_code=201,
            openapi_extra={"requestBody": {"required": True, "content": {"application/yaml": {
                "schema": {"type": "string"}}}}})
async def import_zone_policy(zone: ZonePath, person: Manager, request: Request,
                             session: SessionDep) -> PolicyOut:
    """Import a policy file as YAML (the rules engine's format) as the zone's next version."""
    if request.headers.get("content-type", "").split(";")[0].strip() not in YAML_TYPES:
        raise HTTPException(415, f"send the policy as one of {', '.join(YAML_TYPES)}")
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(422, "policy YAML must be UTF-8") from exc
    return await run_in_threadpool(_publish, session, request, person, zone, text)

