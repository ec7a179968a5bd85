"""People, their passwords and their tokens (sessions from login, API tokens for scripts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from console.auth import ROLES
from console.secrets import (
    API_PREFIX,
    DUMMY_HASH,
    SESSION_PREFIX,
    hash_password,
    hash_token,
    new_token,
    verify_password,
)
from console.tables import ApiToken, User

MIN_PASSWORD = 12


class PersonError(ValueError):
    pass


def create_user(session: Session, username: str, password: str, role: str) -> User:
    if role not in ROLES:
        raise PersonError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise PersonError(f"password must have at least {MIN_PASSWORD} characters")
    if session.exec(select(User).where(User.username == username)).first() is not None:
        raise PersonError(f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or user.disabled:
        verify_password(DUMMY_HASH, password)
        return None
    return user if verify_password(user.password_hash, password) else None


def issue_token(session: Session, user: User, *, kind: str, name: str = "",
                lifetime: timedelta | None = None) -> tuple[str, ApiToken]:
    token = new_token(SESSION_PREFIX if kind == "session" else API_PREFIX)
    expires = datetime.now(UTC) + lifetime if lifetime else None
    row = ApiToken(token_hash=hash_token(token), user_id=int(user.id or 0), kind=kind, name=name, expires_at=expires)
    session.add(row)
    session.flush()
    return token, row
