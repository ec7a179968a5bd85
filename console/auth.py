"""Who is calling: an enrolled agent, or a person (by session cookie or bearer token) with a role."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlmodel import Session, select

from console.secrets import hash_token
from console.tables import Agent, ApiToken, User

SESSION_COOKIE = "leakguard_session"
ROLES = ("admin", "analyst", "auditor")
#: What each role may do; routes ask for a capability, never for a role name.
CAPABILITIES: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "investigate", "manage", "audit"}),
    "analyst": frozenset({"read", "investigate"}),
    "auditor": frozenset({"read", "audit"}),
}


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Async so that opening a session costs no thread hop (it does no I/O until first used)."""
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()  # inline: waiting for a thread while holding a connection could deadlock


SessionDep = Annotated[Session, Depends(get_session)]


def unauthorized(detail: str = "missing or invalid credentials") -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def current_agent(request: Request, session: SessionDep) -> Agent:
    token = bearer_token(request)
    if token is None:
        raise unauthorized()
    agent = session.exec(select(Agent).where(Agent.token_hash == hash_token(token))).first()
    if agent is None or agent.revoked_at is not None:
        raise unauthorized("unknown or revoked agent token")
    return agent


AgentDep = Annotated[Agent, Depends(current_agent)]


@dataclass(frozen=True)
class Person:
    user: User
    token_id: int

    @property
    def username(self) -> str:
        return self.user.username

    def can(self, capability: str) -> bool:
        return capability in CAPABILITIES.get(self.user.role, frozenset())


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def current_person(request: Request, session: SessionDep) -> Person:
    token = bearer_token(request) or request.cookies.get(SESSION_COOKIE)
    if not token:
        raise unauthorized()
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        raise unauthorized()
    expires = _aware(row.expires_at)
    if expires is not None and expires <= datetime.now(UTC):
        raise unauthorized("token expired")
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        raise unauthorized()
    return Person(user=user, token_id=int(row.id or 0))


def require(capability: str) -> Callable[..., Person]:
    def dependency(person: Annotated[Person, Depends(current_person)]) -> Person:
        if not person.can(capability):
            raise HTTPException(403, f"role {person.user.role!r} may not do this ({capability})")
        return person

    return dependency


Reader = Annotated[Person, Depends(require("read"))]
Investigator = Annotated[Person, Depends(require("investigate"))]
Manager = Annotated[Person, Depends(require("manage"))]
Auditor = Annotated[Person, Depends(require("audit"))]
