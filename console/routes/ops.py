"""Operations: Prometheus metrics (admin only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, select
from sqlmodel import Session, col

from console.auth import Manager, SessionDep
from console.tables import Agent, Alert, Case, Event

router = APIRouter(tags=["ops"])
ONLINE_WINDOW = timedelta(minutes=5)


def _database_gauges(session: Session) -> CollectorRegistry:
    """Read from the database at scrape time, so every server process reports the same totals."""
    registry = CollectorRegistry()
    now = datetime.now(UTC)
    active = col(Agent.revoked_at).is_(None)
    values = {
        "leakguard_agents_enrolled": ("agents enrolled and not revoked", select(func.count()).where(active)),
        "leakguard_agents_online": ("agents seen in the last 5 minutes", select(func.count()).where(
            active, col(Agent.last_seen) >= now - ONLINE_WINDOW)),
        "leakguard_events_last_hour": ("events with a timestamp in the last hour", select(func.count()).select_from(
            Event).where(col(Event.ts) >= now - timedelta(hours=1))),
        "leakguard_alerts_unacknowledged": ("alerts nobody acknowledged", select(func.count()).select_from(
            Alert).where(col(Alert.acknowledged_by).is_(None))),
        "leakguard_cases": ("forensic cases opened", select(func.count()).select_from(Case)),
    }
    for name, (help_text, query) in values.items():
        if "agents" in name:
            query = query.select_from(Agent)
        Gauge(name, help_text, registry=registry).set(session.execute(query).scalar_one())
    return registry


@router.get("/metrics", response_class=Response)
def metrics(person: Manager, request: Request, session: SessionDep) -> Response:
    body = generate_latest(request.app.state.metrics.registry) + generate_latest(_database_gauges(session))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
