"""Database tables. Secrets (token hashes, keys) live only here, never in API models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, LargeBinary, TypeDecorator, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always gives back aware UTC datetimes, also on SQLite (which keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(*, index: bool = False, nullable: bool = False) -> Any:
    column = Column(UTCDateTime(), index=index, nullable=nullable)
    if nullable:
        return Field(default=None, sa_column=column)
    return Field(default_factory=utcnow, sa_column=column)


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=256)
    role: str = Field(max_length=16)
    created_at: datetime = _ts()
    disabled: bool = False


class ApiToken(SQLModel, table=True):
    """Session tokens (from login) and API tokens for scripts; only the SHA-256 is kept."""

    __tablename__ = "api_tokens"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    kind: str = Field(max_length=16)  # "session" | "api"
    name: str = Field(default="", max_length=128)
    created_at: datetime = _ts()
    expires_at: datetime | None = _ts(nullable=True)
    revoked_at: datetime | None = _ts(nullable=True)


class EnrollmentToken(SQLModel, table=True):
    __tablename__ = "enrollment_tokens"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    zone: str | None = Field(default=None, max_length=32)
    max_uses: int | None = None
    uses: int = 0
    created_at: datetime = _ts()
    expires_at: datetime | None = _ts(nullable=True)
    revoked_at: datetime | None = _ts(nullable=True)
    created_by: str = Field(default="", max_length=64)


class Agent(SQLModel, table=True):
    __tablename__ = "agents"
    id: str = Field(primary_key=True, max_length=36)
    device: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    token_hash: str = Field(max_length=64, unique=True)
    hostname: str = Field(max_length=255)
    os: str = Field(max_length=128)
    agent_version: str = Field(max_length=64)
    zone: str | None = Field(default=None, max_length=32)
    group_name: str | None = Field(default=None, max_length=128)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    last_user: str | None = Field(default=None, max_length=255)
    enrolled_at: datetime = _ts()
    last_seen: datetime | None = _ts(nullable=True)  # no index: every heartbeat rewrites it (migration 0003)
    revoked_at: datetime | None = _ts(nullable=True)
    enrollment_token_id: int | None = Field(default=None, foreign_key="enrollment_tokens.id")


class AgentDisplay(SQLModel, table=True):
    """One device number per monitor of an agent (monitor 0 is the agent's own `device`).

    Every device number ever issued lives here, so the UNIQUE index on `device` is the one allocator.
    """

    __tablename__ = "agent_displays"
    agent_id: str = Field(foreign_key="agents.id", primary_key=True, max_length=36)
    monitor: int = Field(primary_key=True)
    device: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))


class AgentSession(SQLModel, table=True):
    """Who was logged in on a device, and when: the evidence trace uses to name a user."""

    __tablename__ = "agent_sessions"
    __table_args__ = (Index("ix_agent_sessions_agent_time", "agent_id", "first_seen", "last_seen"),)
    id: int | None = Field(default=None, primary_key=True)
    agent_id: str = Field(foreign_key="agents.id", max_length=36)
    user: str = Field(max_length=255)
    first_seen: datetime = _ts()
    last_seen: datetime = _ts()


class ZoneRule(SQLModel, table=True):
    """Assigns devices to a zone by group or tag; a zone set on the device itself wins."""

    __tablename__ = "zone_rules"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_zone_rules_kind_value"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8)  # "group" | "tag"
    value: str = Field(max_length=128)
    zone: str = Field(max_length=32)
    priority: int = 100


class Policy(SQLModel, table=True):
    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("zone", "version", name="uq_policies_zone_version"),)
    id: int | None = Field(default=None, primary_key=True)
    zone: str = Field(max_length=32, index=True)
    version: int
    text: str
    sha256: str = Field(max_length=64)
    signature: str = Field(max_length=128)
    key_id: int
    created_at: datetime = _ts()
    created_by: str = Field(default="", max_length=64)


class KeyMaterial(SQLModel, table=True):
    """Ed25519 policy-signing keys and watermark mark secrets, all kept in the database."""

    __tablename__ = "key_material"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, index=True)  # "policy_sign" | "mark_secret"
    secret: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    public: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = _ts()
    active: bool = True


class Event(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_ts_id", "ts", "id"),
        Index("ix_events_agent_ts", "agent_id", "ts"),
        Index("ix_events_user_action_ts", "user", "action", "ts"),
    )
    id: str = Field(primary_key=True, max_length=36)
    agent_id: str = Field(max_length=36)
    user: str | None = Field(default=None, max_length=255)
    ts: datetime = _ts()
    received_at: datetime = _ts()
    channel: str = Field(max_length=32)
    action: str = Field(max_length=16)
    severity: str = Field(max_length=16)
    detectors: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AlertRule(SQLModel, table=True):
    __tablename__ = "alert_rules"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    kind: str = Field(max_length=32)  # "blocked_burst" | "agent_silent"
    threshold: int = 1
    window_minutes: int = 10
    silent_minutes: int = 60
    severity: str = Field(default="high", max_length=16)
    webhook_url: str | None = Field(default=None, max_length=1024)
    enabled: bool = True


class Alert(SQLModel, table=True):
    __tablename__ = "alerts"
    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="alert_rules.id", index=True)
    dedupe_key: str = Field(max_length=255, unique=True)
    created_at: datetime = _ts(index=True)
    subject: str = Field(max_length=255)
    message: str = Field(max_length=1024)
    severity: str = Field(max_length=16)
    webhook_status: str | None = Field(default=None, max_length=64)
    acknowledged_by: str | None = Field(default=None, max_length=64)
    #: Extra fields of the alert's document (user, agent_id), so a retried webhook sends the same.
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    webhook_attempts: int = 0
    #: When the next webhook attempt is due; None when delivered, given up, or no webhook.
    webhook_next_at: datetime | None = _ts(index=True, nullable=True)


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = _ts()
    created_by: str = Field(max_length=64)
    filename: str = Field(default="", max_length=255)
    evidence_sha256: str = Field(max_length=64)
    evidence_size: int
    decoder_version: str = Field(max_length=64)
    found: bool
    mark: str | None = Field(default=None, max_length=16)
    confidence: float = 0.0
    key_id: int | None = None
    agent_id: str | None = Field(default=None, max_length=36)
    device: int | None = None
    hostname: str | None = Field(default=None, max_length=255)
    user: str | None = Field(default=None, max_length=255)
    time_from: datetime | None = _ts(nullable=True)
    time_to: datetime | None = _ts(nullable=True)
    detections: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="open", max_length=16)


class CaseEvidence(SQLModel, table=True):
    """The image a case was opened on, as uploaded, and a thumbnail for its report: the case's
    evidence hash names these very bytes (kept unless `LEAKGUARD_KEEP_EVIDENCE=0`)."""

    __tablename__ = "case_evidence"
    case_id: int = Field(foreign_key="cases.id", primary_key=True)
    media_type: str = Field(max_length=32)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    thumbnail: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    ts: datetime = _ts(index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)
    target: str = Field(default="", max_length=255)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    remote_addr: str | None = Field(default=None, max_length=64)
