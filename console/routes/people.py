"""Login, users and API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlmodel import col, select

from console import audit, ratelimit
from console.auth import SESSION_COOKIE, Manager, Person, SessionDep, current_person, unauthorized
from console.people import PersonError, authenticate, create_user, issue_token
from console.schemas import LoginIn, LoginOut, RowId
from console.tables import ApiToken, User

router = APIRouter(prefix="/api/v1", tags=["people"])
PersonDep = Annotated[Person, Depends(current_person)]


@router.post("/auth/login", response_model=LoginOut,
             responses={429: {"description": "too many failed logins; see Retry-After"}})
def login(body: LoginIn, request: Request, response: Response, session: SessionDep) -> LoginOut:
    settings = request.app.state.settings
    limits = ratelimit.LoginLimits(settings.login_window_seconds, settings.login_failures_per_address,
                                   settings.login_failures_per_username)
    address = request.client.host if request.client else None
    wait = ratelimit.retry_after(session, body.username, address, limits)
    if wait is not None:
        audit.record(session, request, body.username, ratelimit.THROTTLED, retry_after=wait)
        session.commit()
        raise HTTPException(429, f"too many failed logins for {body.username!r}; try again in {wait} s",
                            headers={"Retry-After": str(wait)})
    user = authenticate(session, body.username, body.password)
    if user is None:
        audit.record(session, request, body.username, ratelimit.FAILED)
        session.commit()
        raise unauthorized("wrong username or password")
    hours = settings.session_hours
    token, row = issue_token(session, user, kind="session", lifetime=timedelta(hours=hours))
    audit.record(session, request, user.username, ratelimit.SUCCEEDED)
    session.commit()
    response.set_cookie(SESSION_COOKIE, token, max_age=hours * 3600, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return LoginOut(token=token, username=user.username, role=user.role, expires_at=row.expires_at or datetime.now(UTC))


@router.post("/auth/logout", status_code=204)
def logout(person: PersonDep, request: Request, session: SessionDep) -> Response:
    row = session.get(ApiToken, person.token_id)
    if row is not None:
        row.revoked_at = datetime.now(UTC)
        session.add(row)
    audit.record(session, request, person.username, "logout")
    session.commit()
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE)
    return response


class Me(BaseModel):
    username: str
    role: str


@router.get("/auth/me", response_model=Me)
def me(person: PersonDep) -> Me:
    return Me(username=person.username, role=person.user.role)


class UserIn(BaseModel):
    username: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    role: str


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    disabled: bool
    created_at: datetime


@router.post("/users", response_model=UserOut, status_code=201)
def add_user(body: UserIn, person: Manager, request: Request, session: SessionDep) -> UserOut:
    try:
        user = create_user(session, body.username, body.password, body.role)
    except PersonError as exc:
        raise HTTPException(422, str(exc)) from exc
    audit.record(session, request, person.username, "user_create", body.username, role=body.role)
    session.commit()
    return UserOut.model_validate(user, from_attributes=True)


@router.get("/users", response_model=list[UserOut])
def list_users(person: Manager, session: SessionDep) -> list[UserOut]:
    users = session.exec(select(User).order_by(col(User.id))).all()
    return [UserOut.model_validate(u, from_attributes=True) for u in users]


class TokenIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=128)]
    days: Annotated[int | None, Field(ge=1, le=3650)] = None


class TokenOut(BaseModel):
    id: int
    name: str
    token: str
    expires_at: datetime | None


@router.post("/tokens", response_model=TokenOut, status_code=201)
def add_token(body: TokenIn, person: PersonDep, request: Request, session: SessionDep) -> TokenOut:
    """An API token for scripts, with the caller's own role."""
    lifetime = timedelta(days=body.days) if body.days else None
    token, row = issue_token(session, person.user, kind="api", name=body.name, lifetime=lifetime)
    audit.record(session, request, person.username, "token_create", body.name)
    session.commit()
    return TokenOut(id=int(row.id or 0), name=row.name, token=token, expires_at=row.expires_at)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: RowId, person: PersonDep, request: Request, session: SessionDep) -> Response:
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != person.user.id and not person.can("manage")):
        raise HTTPException(404, "no such token")
    row.revoked_at = datetime.now(UTC)
    session.add(row)
    audit.record(session, request, person.username, "token_revoke", str(token_id))
    session.commit()
    return Response(status_code=204)
