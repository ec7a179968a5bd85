"""Periodic work each server does: silent-agent alerts, webhook retries and retention pruning.

Safe with several servers on one database: alerts are deduplicated by the database, pruning is
idempotent; each pass runs in a worker thread so requests are never blocked.
"""

from __future__ import annotations

import asyncio
import logging
import time

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

log = logging.getLogger("leakguard.console")
PRUNE_EVERY_SECONDS = 3600.0


def maintain_once(app: FastAPI, *, prune: bool) -> None:
    from console import alerts
    from console.events import prune_events

    settings = app.state.settings
    alerts.evaluate_silent(app.state.engine, settings)
    alerts.retry_webhooks(app.state.engine, settings)
    if prune:
        with Session(app.state.engine) as session:
            deleted = prune_events(session, retention_days=settings.retention_days)
        if deleted:
            log.info("pruned %d events older than %d days", deleted, settings.retention_days)


async def maintain_forever(app: FastAPI) -> None:
    last_prune = -PRUNE_EVERY_SECONDS  # the first pass prunes, whatever the host's uptime
    while True:
        await asyncio.sleep(app.state.settings.maintenance_seconds)
        prune = time.monotonic() - last_prune >= PRUNE_EVERY_SECONDS
        try:
            await asyncio.to_thread(maintain_once, app, prune=prune)
        except SQLAlchemyError as exc:
            log.warning("maintenance pass failed (will retry): %s", exc)
            continue
        if prune:
            last_prune = time.monotonic()
