"""Alert rules and the alerts they raised."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import AnyHttpUrl, BaseModel, Field
from sqlmodel import col, select

from console import alerts, audit
from console.auth import Investigator, Manager, Reader, SessionDep
from console.schemas import MAX_ROW_ID, RowId
from console.tables import Alert, AlertRule

router = APIRouter(prefix="/api/v1", tags=["alerts"])


class AlertRuleIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=128)]
    kind: Literal["blocked_burst", "agent_silent"]
    threshold: Annotated[int, Field(ge=1, le=1_000_000)] = 5
    window_minutes: Annotated[int, Field(ge=1, le=10_080)] = 10
    silent_minutes: Annotated[int, Field(ge=1, le=525_600)] = 1440
    severity: Literal["info", "low", "medium", "high", "critical"] = "high"
    webhook_url: AnyHttpUrl | None = None
    enabled: bool = True


class AlertRuleOut(AlertRuleIn):
    id: int
    webhook_url: str | None = None  # type: ignore[assignment]


class AlertOut(BaseModel):
    id: int
    rule_id: int
    created_at: datetime
    subject: str
    message: str
    severity: str
    webhook_status: str | None
    webhook_attempts: int
    webhook_next_at: datetime | None
    acknowledged_by: str | None


@router.get("/alert-rules", response_model=list[AlertRuleOut])
def list_rules(person: Reader, session: SessionDep) -> list[AlertRuleOut]:
    rows = session.exec(select(AlertRule).order_by(col(AlertRule.id))).all()
    return [AlertRuleOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/alert-rules", response_model=AlertRuleOut, status_code=201)
def add_rule(body: AlertRuleIn, person: Manager, request: Request, session: SessionDep) -> AlertRuleOut:
    row = AlertRule(**{**body.model_dump(), "webhook_url": str(body.webhook_url) if body.webhook_url else None})
    session.add(row)
    audit.record(session, request, person.username, "alert_rule_create", body.name, kind=body.kind)
    session.commit()
    return AlertRuleOut.model_validate(row, from_attributes=True)


@router.delete("/alert-rules/{rule_id}", status_code=204)
def disable_rule(rule_id: RowId, person: Manager, request: Request, session: SessionDep) -> Response:
    """Disables rather than deletes, so raised alerts keep their rule."""
    row = session.get(AlertRule, rule_id)
    if row is None:
        raise HTTPException(404, "no such alert rule")
    row.enabled = False
    session.add(row)
    audit.record(session, request, person.username, "alert_rule_disable", row.name)
    session.commit()
    return Response(status_code=204)


@router.get("/alerts", response_model=list[AlertOut])
def list_alerts(person: Reader, session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                before_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None) -> list[AlertOut]:
    query = select(Alert)
    if before_id is not None:
        query = query.where(col(Alert.id) < before_id)
    rows = session.exec(query.order_by(col(Alert.id).desc()).limit(limit)).all()
    return [AlertOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge(alert_id: RowId, person: Investigator, request: Request, session: SessionDep) -> AlertOut:
    row = session.get(Alert, alert_id)
    if row is None:
        raise HTTPException(404, "no such alert")
    row.acknowledged_by = row.acknowledged_by or person.username
    session.add(row)
    audit.record(session, request, person.username, "alert_acknowledge", str(alert_id))
    session.commit()
    return AlertOut.model_validate(row, from_attributes=True)


@router.post("/alerts/evaluate")
def evaluate_now(person: Manager, request: Request, session: SessionDep) -> dict[str, int]:
    """Run the silent-agent rules now instead of waiting for the next background pass."""
    session.commit()  # end this request's read, so its connection is free for the evaluation
    return {"raised": alerts.evaluate_silent(request.app.state.engine, request.app.state.settings)}
