"""Helpers the console tests share: real CLI subprocesses and real HTTP calls."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import httpx

PASSWORD = "correct horse battery staple"


@lru_cache(maxsize=1)
def http() -> httpx.Client:
    """One keep-alive client for all tests (a new client per call costs tens of milliseconds)."""
    return httpx.Client(timeout=60)


def cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "leakguard.cli", "console", *args], input=stdin, text=True,
                          capture_output=True, timeout=120, env={**os.environ, **(env or {})}, check=False)


def enroll_token(db_url: str, *extra: str) -> str:
    result = cli("enroll-token", "--db", db_url, *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def enroll(url: str, token: str, *, hostname: str = "pc-1", user: str | None = "alice") -> dict[str, Any]:
    response = http().post(f"{url}/api/v1/agents/enroll", json={
        "enrollment_token": token, "hostname": hostname, "os": "Debian 12", "agent_version": "0.1.0", "user": user,
    }, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def make_events(n: int, *, action: str = "audit", channel: str = "file_upload", ts: datetime | None = None,
                **extra: Any) -> list[dict[str, Any]]:
    base = ts or datetime.now(UTC)
    return [{"id": str(uuid.uuid4()), "ts": (base - timedelta(milliseconds=i)).isoformat(), "channel": channel,
             "action": action, "severity": "high", "detectors": [{"id": "credit_card", "count": 2}], **extra}
            for i in range(n)]


def login(url: str, username: str, password: str = PASSWORD) -> str:
    response = http().post(f"{url}/api/v1/auth/login", json={"username": username, "password": password}, timeout=30)
    assert response.status_code == 200, response.text
    http().cookies.clear()  # tests authenticate explicitly, never by a cookie left in the shared client
    return str(response.json()["token"])
