"""Console settings, read once from the environment and overridable in tests."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_DB_URL = "sqlite:///leakguard-console.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DB_URL
    host: str = "127.0.0.1"
    port: int = 8765
    #: Zone for agents that no token, group, tag or direct assignment places elsewhere.
    default_zone: str = "medium"
    #: Events older than this many days are pruned; 0 keeps them forever.
    retention_days: int = 365
    max_events_per_batch: int = 1000
    max_trace_bytes: int = 25 * 1024 * 1024
    max_trace_pixels: int = 40_000_000
    #: Keep each traced image (and a thumbnail for its report) with its case.
    keep_evidence: bool = True
    session_hours: int = 12
    #: How many watermark marks an agent may fetch ahead in one call.
    max_marks_per_call: int = 1000
    #: SIEM outputs: "udp://host:port" or "tcp://host:port" for RFC 5424 syslog with CEF, a JSON-lines path.
    siem_syslog: str | None = None
    siem_jsonl: str | None = None
    #: Seconds between background passes (alerts for silent agents, retention pruning).
    maintenance_seconds: float = 30.0
    #: How long a SQLite writer waits for the lock before the request gets 503.
    sqlite_timeout: float = 30.0
    #: Login throttling (console/ratelimit.py): failures of one username within the window, from
    #: one address and from anywhere, after which further tries get 429 until the window slides.
    login_window_seconds: int = 900
    login_failures_per_address: int = 5
    login_failures_per_username: int = 20
    #: Traces and mark resolutions a person may make within the window (0: no limit); more get 429.
    limit_window_seconds: int = 300
    traces_per_window: int = 60
    resolves_per_window: int = 600
    #: Failed webhook deliveries are retried after this many seconds, doubling up to an hour,
    #: for at most ``webhook_max_attempts`` attempts in all.
    webhook_retry_seconds: float = 30.0
    webhook_max_attempts: int = 12


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


@lru_cache
def get_settings() -> Settings:
    env = os.environ.get
    return Settings(
        database_url=env("LEAKGUARD_DB", DEFAULT_DB_URL),
        host=env("LEAKGUARD_HOST", "127.0.0.1"),
        port=_int("LEAKGUARD_PORT", 8765),
        default_zone=env("LEAKGUARD_DEFAULT_ZONE", "medium"),
        retention_days=_int("LEAKGUARD_RETENTION_DAYS", 365),
        max_trace_bytes=_int("LEAKGUARD_MAX_TRACE_BYTES", 25 * 1024 * 1024),
        max_trace_pixels=_int("LEAKGUARD_MAX_TRACE_PIXELS", 40_000_000),
        keep_evidence=env("LEAKGUARD_KEEP_EVIDENCE", "1").strip().lower() not in ("0", "false", "no", "off"),
        siem_syslog=env("LEAKGUARD_SIEM_SYSLOG") or None,
        siem_jsonl=env("LEAKGUARD_SIEM_JSONL") or None,
        maintenance_seconds=float(env("LEAKGUARD_MAINTENANCE_SECONDS", "30")),
        sqlite_timeout=float(env("LEAKGUARD_SQLITE_TIMEOUT", "30")),
        login_window_seconds=_int("LEAKGUARD_LOGIN_WINDOW_SECONDS", 900),
        login_failures_per_address=_int("LEAKGUARD_LOGIN_FAILURES_PER_ADDRESS", 5),
        login_failures_per_username=_int("LEAKGUARD_LOGIN_FAILURES_PER_USERNAME", 20),
        limit_window_seconds=_int("LEAKGUARD_LIMIT_WINDOW_SECONDS", 300),
        traces_per_window=_int("LEAKGUARD_TRACES_PER_WINDOW", 60),
        resolves_per_window=_int("LEAKGUARD_RESOLVES_PER_WINDOW", 600),
        webhook_retry_seconds=float(env("LEAKGUARD_WEBHOOK_RETRY_SECONDS", "30")),
        webhook_max_attempts=_int("LEAKGUARD_WEBHOOK_MAX_ATTEMPTS", 12),
    )
