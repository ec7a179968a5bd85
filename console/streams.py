"""What happens after events are stored: SIEM forwarding and alert rules (best effort, after commit)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI

log = logging.getLogger("leakguard.console")


def after_ingest(app: FastAPI, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    from console import alerts, siem

    try:
        siem.forward_events(app.state.settings, rows)
    except OSError as exc:
        log.warning("SIEM forwarding failed: %s", exc)
    blocked_users = {r["user"] for r in rows if r["action"] == "block" and r["user"]}
    if blocked_users:
        alerts.evaluate_blocked(app.state.engine, app.state.settings, blocked_users)
