"""Login throttling against password guessing, and limits on costly or probing calls (tracing an
image, resolving a mark), kept in the database so every worker agrees.

The audit log already records each failed login with the username tried and the caller's
address, so it is the counter: no table, no process memory (several `serve` workers share one
PostgreSQL). Two limits, each over a sliding window:

* one username from one address: ``per_address`` failures (an attacker guessing one account);
* one username from anywhere: ``per_username`` failures (the same, spread over many addresses).

There is deliberately no limit on an address alone: colleagues behind one NAT, a reverse proxy,
or the test suite would lock each other out. A refused attempt is audited as ``login_throttled``
and does not count as a failure, so a lock always ends when the window slides past it, even
while the guessing goes on; a successful login clears the failures before it.

Traces and mark resolutions are limited per person, counted by their own audit entries
(``case_open``, ``mark_resolve``): a trace decodes an image for up to a second of CPU, so one
account (or a stolen token) cannot keep a server busy, and resolving is how marks would be
probed one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from console.tables import AuditEntry

FAILED = "login_failed"
SUCCEEDED = "login"
THROTTLED = "login_throttled"


@dataclass(frozen=True)
class LoginLimits:
    window_seconds: int = 900
    per_address: int = 5
    per_username: int = 20


def retry_after(session: Session, username: str, address: str | None, limits: LoginLimits,
                now: datetime | None = None) -> int | None:
    """Seconds until ``username`` may try again from ``address``, or None when it may now."""
    now = now or datetime.now(UTC)
    since = now - timedelta(seconds=limits.window_seconds)
    last_success = session.exec(
        select(AuditEntry.ts).where(AuditEntry.action == SUCCEEDED, AuditEntry.actor == username,
                                    col(AuditEntry.ts) > since).order_by(col(AuditEntry.ts).desc()).limit(1)
    ).first()
    start = max(since, last_success) if last_success is not None else since
    failures = session.exec(
        select(AuditEntry.ts, AuditEntry.remote_addr).where(
            AuditEntry.action == FAILED, AuditEntry.actor == username, col(AuditEntry.ts) > start
        ).order_by(col(AuditEntry.ts))
    ).all()
    window = limits.window_seconds
    waits = [_wait([ts for ts, _ in failures], limits.per_username, window, now)]
    if address is not None:
        waits.append(_wait([ts for ts, addr in failures if addr == address], limits.per_address, window, now))
    locked = [wait for wait in waits if wait is not None]
    return max(locked) if locked else None


def busy(session: Session, actor: str, action: str, limit: int, window_seconds: int,
         now: datetime | None = None) -> int | None:
    """Seconds until ``actor`` may do ``action`` again, with ``limit`` of them audited in the
    window; None when it may now (and always with a limit of 0: no limit)."""
    if limit <= 0:
        return None
    now = now or datetime.now(UTC)
    times = session.exec(
        select(AuditEntry.ts).where(AuditEntry.action == action, AuditEntry.actor == actor,
                                    col(AuditEntry.ts) > now - timedelta(seconds=window_seconds))
        .order_by(col(AuditEntry.ts))
    ).all()
    return _wait(list(times), limit, window_seconds, now)


def _wait(times: list[datetime], limit: int, window_seconds: int, now: datetime) -> int | None:
    """With ``limit`` or more entries in the window, the seconds until one too few remain."""
    if limit <= 0 or len(times) < limit:
        return None
    unlock = times[len(times) - limit] + timedelta(seconds=window_seconds)
    return max(1, int((unlock - now).total_seconds() + 0.999))
