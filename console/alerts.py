"""Alert rules, evaluated so that several servers on one database raise each alert once.

Each alert has a dedupe key (rule, subject, time bucket or silence episode) with a unique
constraint; a server delivers (webhook, SIEM) only the alerts its own insert created.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from console import siem
from console.settings import Settings
from console.tables import Agent, Alert, AlertRule, Event

log = logging.getLogger("leakguard.console")
KINDS = ("blocked_burst", "agent_silent")


def default_rules() -> list[AlertRule]:
    """Rules a fresh console starts with; admins change them through the API."""
    return [
        AlertRule(name="5 blocked events by one user within 10 minutes", kind="blocked_burst", threshold=5,
                  window_minutes=10),
        AlertRule(name="agent silent for more than 24 hours", kind="agent_silent", silent_minutes=24 * 60,
                  severity="medium"),
    ]


def _rules(session: Session, kind: str) -> list[AlertRule]:
    query = select(AlertRule).where(AlertRule.kind == kind, col(AlertRule.enabled))
    return list(session.execute(query).scalars().all())


def evaluate_blocked(engine: Engine, settings: Settings, users: set[str], now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    raised = 0
    with Session(engine) as session:
        for rule in _rules(session, "blocked_burst"):
            since = now - timedelta(minutes=rule.window_minutes)
            bucket = int(now.timestamp() // (rule.window_minutes * 60))
            for user in sorted(users):
                count = session.execute(select(func.count()).select_from(Event).where(
                    Event.user == user, Event.action == "block", col(Event.ts) >= since)).scalar_one()
                if count >= rule.threshold:
                    message = f"{count} blocked events by {user} within {rule.window_minutes} minutes"
                    raised += _raise(session, settings, rule, f"r{rule.id}:user:{user}:{bucket}", user, message,
                                     user=user)
    return raised


def evaluate_silent(engine: Engine, settings: Settings, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    raised = 0
    with Session(engine) as session:
        for rule in _rules(session, "agent_silent"):
            cutoff = now - timedelta(minutes=rule.silent_minutes)
            agents = session.execute(select(Agent).where(
                col(Agent.revoked_at).is_(None), col(Agent.last_seen) < cutoff)).scalars().all()
            for agent in agents:
                seen = agent.last_seen.isoformat() if agent.last_seen else "never"
                message = f"agent {agent.hostname} ({agent.id}) silent since {seen}"
                raised += _raise(session, settings, rule, f"r{rule.id}:silent:{agent.id}:{seen}", agent.id,
                                 message, agent_id=agent.id)
    return raised


def _raise(session: Session, settings: Settings, rule: AlertRule, key: str, subject: str, message: str,
           **extra: Any) -> int:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Alert).values(
        rule_id=rule.id, dedupe_key=key[:255], subject=subject[:255], message=message[:1024],
        severity=rule.severity, created_at=datetime.now(UTC),
    ).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(col(Alert.id))
    alert_id = session.execute(statement).scalar_one_or_none()
    session.commit()
    if alert_id is None:
        return 0
    document = {"id": alert_id, "rule": rule.name, "kind": rule.kind, "severity": rule.severity,
                "message": message, "subject": subject, "created_at": datetime.now(UTC).isoformat(), **extra}
    _deliver(session, settings, rule, alert_id, document)
    return 1


def _deliver(session: Session, settings: Settings, rule: AlertRule, alert_id: int, document: dict[str, Any]) -> None:
    try:
        siem.forward_alert(settings, document)
    except OSError as exc:
        log.warning("SIEM alert forwarding failed: %s", exc)
    if not rule.webhook_url:
        return
    try:
        status = str(httpx.post(rule.webhook_url, json=document, timeout=5).status_code)
    except httpx.HTTPError as exc:
        status = f"error: {type(exc).__name__}"
    alert = session.get(Alert, alert_id)
    if alert is not None:
        alert.webhook_status = status[:64]
        session.add(alert)
        session.commit()
