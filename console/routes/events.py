"""Event ingest from agents and event search for people."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, HTTPException, Query, Request

from console import audit
from console.auth import AgentDep, Manager, Reader, SessionDep
from console.events import BadCursor, EventFilter, event_rows, insert_new, prune_events, query_events
from console.schemas import Action, Channel, EventBatch, EventOut, EventPage, IngestOut
from console.streams import after_ingest

router = APIRouter(prefix="/api/v1/events", tags=["events"])


@router.post("", response_model=IngestOut)
def ingest(batch: EventBatch, agent: AgentDep, request: Request, session: SessionDep,
           background: BackgroundTasks) -> IngestOut:
    foreign = {e.agent_id for e in batch.events if e.agent_id not in (None, agent.id)}
    if foreign:
        raise HTTPException(403, "an agent may only send its own events")
    rows, repeated = event_rows(agent, batch.events, datetime.now(UTC))
    stored = set(insert_new(session, rows))
    background.add_task(after_ingest, request.app, [r for r in rows if r["id"] in stored])
    return IngestOut(accepted=len(stored), duplicates=repeated + len(rows) - len(stored))


@router.get("", response_model=EventPage)
def search(
    person: Reader, session: SessionDep,
    since: datetime | None = None, until: datetime | None = None,
    agent_id: Annotated[str | None, Query(max_length=36)] = None,
    user: Annotated[str | None, Query(max_length=255)] = None,
    channel: Channel | None = None, action: Action | None = None,
    detector: Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,64}$")] = None,
    digest: Annotated[str | None, Query(pattern=r"^[0-9a-f]{64}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> EventPage:
    where = EventFilter(since=since, until=until, agent_id=agent_id, user=user, channel=channel, action=action,
                        detector=detector, digest=digest)
    try:
        items, next_cursor = query_events(session, where, limit=limit, cursor=cursor)
    except BadCursor as exc:
        raise HTTPException(422, str(exc)) from exc
    return EventPage(items=[EventOut.model_validate(i, from_attributes=True) for i in items], next_cursor=next_cursor)


@router.post("/prune")
def prune(person: Manager, request: Request, session: SessionDep) -> dict[str, int]:
    days = request.app.state.settings.retention_days
    deleted = prune_events(session, retention_days=days)
    audit.record(session, request, person.username, "events_prune", deleted=deleted, retention_days=days)
    session.commit()
    return {"deleted": deleted, "retention_days": days}
