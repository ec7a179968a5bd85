"""Alert rules, evaluated so that several servers on one database raise each alert once.

Each alert has a dedupe key (rule, subject, time bucket or silence episode) with a unique
constraint; a server delivers (webhook, SIEM) only the alerts its own insert created.

Webhooks are retried: a delivery that fails (network error, 5xx, 408 or 429) is due again after
``webhook_retry_seconds``, doubling up to an hour, until ``webhook_max_attempts``. Any server's
maintenance pass may retry; it first claims the alert with a conditional UPDATE of the due time,
so two servers never send the same attempt. Other 4xx answers are final (a wrong URL or a
rejected document does not get better by waiting). The receiver gets the same document each
time; its ``id`` lets it drop a repeat.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
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
        severity=rule.severity, created_at=datetime.now(UTC), details=extra, webhook_attempts=0,
    ).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(col(Alert.id))
    alert_id = session.execute(statement).scalar_one_or_none()
    session.commit()
    if alert_id is None:
        return 0
    alert = session.get(Alert, alert_id)
    if alert is None:
        return 0
    try:
        siem.forward_alert(settings, alert_document(alert, rule))
    except OSError as exc:
        log.warning("SIEM alert forwarding failed: %s", exc)
    if rule.webhook_url:
        _attempt_webhook(session, settings, alert, rule)
    return 1


def alert_document(alert: Alert, rule: AlertRule) -> dict[str, Any]:
    """What SIEM outputs and webhooks receive; the same on every retry."""
    return {"id": alert.id, "rule": rule.name, "kind": rule.kind, "severity": alert.severity,
            "message": alert.message, "subject": alert.subject, "created_at": alert.created_at.isoformat(),
            **alert.details}


def _retry_delay(settings: Settings, attempts: int) -> timedelta:
    return timedelta(seconds=min(3600.0, settings.webhook_retry_seconds * 2 ** max(0, attempts - 1)))


def _attempt_webhook(session: Session, settings: Settings, alert: Alert, rule: AlertRule) -> None:
    """One delivery attempt; records the answer and when (or whether) to try again."""
    retry = True
    try:
        code = httpx.post(str(rule.webhook_url), json=alert_document(alert, rule), timeout=5).status_code
        status, retry = str(code), code >= 500 or code in (408, 429)
        delivered = 200 <= code < 300
    except httpx.HTTPError as exc:
        status, delivered = f"error: {type(exc).__name__}", False
    alert.webhook_attempts += 1
    alert.webhook_next_at = None
    if not delivered:
        if retry and alert.webhook_attempts < settings.webhook_max_attempts:
            alert.webhook_next_at = datetime.now(UTC) + _retry_delay(settings, alert.webhook_attempts)
            status = f"{status} (attempt {alert.webhook_attempts}, retrying)"
        else:
            tries = alert.webhook_attempts
            status = f"{status} (gave up after {tries} attempt{'s' if tries != 1 else ''})"
            log.warning("alert %s: webhook %s gave up: %s", alert.id, rule.webhook_url, status)
    alert.webhook_status = status[:64]
    session.add(alert)
    session.commit()


def retry_webhooks(engine: Engine, settings: Settings, now: datetime | None = None) -> int:
    """Deliver the webhooks that are due again; returns how many attempts this server made."""
    now = now or datetime.now(UTC)
    lease = now + timedelta(seconds=60)  # a server that dies mid-attempt leaves it due again soon
    attempts = 0
    with Session(engine) as session:
        due = session.execute(select(Alert.id, Alert.webhook_next_at).where(
            col(Alert.webhook_next_at) <= now).order_by(col(Alert.webhook_next_at)).limit(100)).all()
        for alert_id, due_at in due:
            claimed = session.execute(update(Alert).where(
                col(Alert.id) == alert_id, col(Alert.webhook_next_at) == due_at).values(webhook_next_at=lease))
            session.commit()
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue  # another server took it
            alert = session.get(Alert, alert_id)
            rule = session.get(AlertRule, alert.rule_id) if alert is not None else None
            if alert is None or rule is None or not rule.webhook_url:
                if alert is not None:
                    alert.webhook_next_at = None
                    session.add(alert)
                    session.commit()
                continue
            _attempt_webhook(session, settings, alert, rule)
            attempts += 1
    return attempts
