"""The audit log: every change a person makes, who made it, from where."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlmodel import Session

from console.tables import AuditEntry


def record(session: Session, request: Request | None, actor: str, action: str, target: str = "",
           **details: Any) -> None:
    """Add an entry to the caller's transaction, so the change and its record commit together."""
    remote = request.client.host if request is not None and request.client else None
    session.add(AuditEntry(actor=actor, action=action, target=target, details=details, remote_addr=remote))
