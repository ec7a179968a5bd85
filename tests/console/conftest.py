"""Console fixtures: people with each role and enrolled agents, made through the real CLI and API."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.console.api import PASSWORD, bearer, cli, enroll, enroll_token, http, login
from tests.fixtures.consoles import ConsoleServer


@dataclass
class Staff:
    """Bearer tokens of one admin, analyst and auditor on a console."""

    server: ConsoleServer
    tokens: dict[str, str]
    usernames: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        return bearer(self.tokens[role])


@pytest.fixture(scope="session")
def staff(console_server: ConsoleServer) -> Staff:
    admin = f"admin-{secrets.token_hex(3)}"
    result = cli("createadmin", "--db", console_server.db_url, "--username", admin, "--password-stdin",
                 stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    tokens = {"admin": login(console_server.url, admin)}
    usernames = {"admin": admin}
    for role in ("analyst", "auditor"):
        name = f"{role}-{secrets.token_hex(3)}"
        response = http().post(f"{console_server.url}/api/v1/users", headers=bearer(tokens["admin"]),
                              json={"username": name, "password": PASSWORD, "role": role}, timeout=30)
        assert response.status_code == 201, response.text
        tokens[role], usernames[role] = login(console_server.url, name), name
    return Staff(console_server, tokens, usernames)


@dataclass
class EnrolledAgent:
    id: str
    token: str
    device: int
    enrollment: dict[str, object]

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


@pytest.fixture(scope="session")
def shared_enroll_token(console_server: ConsoleServer) -> str:
    return enroll_token(console_server.db_url, "--max-uses", "100000", "--expires", "1d")


@pytest.fixture
def new_agent(console_server: ConsoleServer, shared_enroll_token: str) -> Iterator[object]:
    """A factory that enrolls fresh agents with a token from `leakguard console enroll-token`."""
    token = shared_enroll_token

    def factory(hostname: str = "pc", user: str | None = "alice") -> EnrolledAgent:
        body = enroll(console_server.url, token, hostname=hostname, user=user)
        return EnrolledAgent(str(body["agent_id"]), str(body["agent_token"]), int(body["device"]), body)

    yield factory
