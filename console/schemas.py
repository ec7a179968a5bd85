"""Request and response bodies of the HTTP API v1. Secrets appear only where they are issued."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Channel = Literal[
    "file_upload", "removable_media", "cloud_sync", "network_share", "clipboard", "screen_capture", "print", "agent"
]
Action = Literal["allow", "audit", "warn", "block", "quarantine"]
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL; refuse it on every database alike
Name = Annotated[str, Field(min_length=1, max_length=255, pattern=NO_NUL)]
Short = Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)]
MAX_DETAILS_BYTES = 16384
#: Row ids are 32-bit on PostgreSQL; larger numbers cannot name a row and are refused as input.
MAX_ROW_ID = 2_147_483_647
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EnrollIn(BaseModel):
    enrollment_token: Annotated[str, Field(min_length=8, max_length=128)]
    hostname: Name
    os: Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL)]
    agent_version: Short
    user: Name | None = None


class EnrollOut(BaseModel):
    agent_id: str
    agent_token: str
    device: int
    zone: str
    policy_public_key: str
    policy_key_id: int
    slot_seconds: int
    heartbeat_seconds: int


class HeartbeatIn(BaseModel):
    user: Name | None = None
    hostname: Name | None = None
    agent_version: Short | None = None
    policy_version: int | None = None


class HeartbeatOut(BaseModel):
    status: str
    agent_id: str
    zone: str
    policy_version: int | None
    server_time: datetime


class KeyLink(BaseModel):
    """The signing key ``from`` endorses ``to`` (Ed25519 over ENDORSEMENT_CONTEXT + from + to)."""

    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    to: str
    signature: str


class PolicyOut(BaseModel):
    zone: str
    version: int
    policy: str
    sha256: str
    signature: str
    key_id: int
    public_key: str
    algorithm: str
    key_chain: list[KeyLink] = []


class MarkOut(BaseModel):
    slot: int
    mark: str
    monitor: int = 0


class MarksOut(BaseModel):
    slot_seconds: int
    marks: list[MarkOut]


class DetectorCount(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")]
    count: Annotated[int, Field(ge=0, le=1_000_000_000)] = 1


class EventIn(BaseModel):
    """An event; fields beyond these are kept as small `details` (never full matched text)."""

    model_config = ConfigDict(extra="allow")
    id: UUID
    ts: datetime
    channel: Channel
    action: Action
    severity: Annotated[str, Field(pattern=r"^[a-z]{1,16}$")]
    detectors: Annotated[list[DetectorCount], Field(max_length=64)] = []
    agent_id: str | None = None
    user: Name | None = None

    @field_validator("ts")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value)

    @model_validator(mode="after")
    def _small_details(self) -> EventIn:
        if self.model_extra and len(json.dumps(self.model_extra, default=str)) > MAX_DETAILS_BYTES:
            raise ValueError(f"extra event fields exceed {MAX_DETAILS_BYTES} bytes")
        return self


class EventBatch(BaseModel):
    events: Annotated[list[EventIn], Field(min_length=1, max_length=1000)]


class IngestOut(BaseModel):
    accepted: int
    duplicates: int


class EventOut(BaseModel):
    id: str
    ts: datetime
    received_at: datetime
    agent_id: str
    user: str | None
    channel: str
    action: str
    severity: str
    detectors: list[dict[str, Any]]
    details: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


class LoginIn(BaseModel):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class LoginOut(BaseModel):
    token: str
    username: str
    role: str
    expires_at: datetime


class TraceOut(BaseModel):
    found: bool
    mark: str | None
    confidence: float
    agent_id: str | None
    device: int | None
    hostname: str | None
    user: str | None
    time_from: datetime | None
    time_to: datetime | None
    evidence_sha256: str
    decoder_version: str
    case_id: int
    detections: list[dict[str, Any]]
    marks: list[dict[str, Any]] = []  # every resolved mark: agent, host, user, window, monitor


class ResolveIn(BaseModel):
    mark: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{16}$")]


class ResolveOut(BaseModel):
    found: bool
    mark: str
    key_id: int | None = None
    agent_id: str | None = None
    device: int | None = None
    hostname: str | None = None
    user: str | None = None
    time_from: datetime | None = None
    time_to: datetime | None = None
    monitor: int | None = None
