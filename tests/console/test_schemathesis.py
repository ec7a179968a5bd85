"""Property-based fuzzing of every operation in /openapi.json: no input gets a 5xx answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.console.api import PASSWORD, bearer, cli, login
from tests.fixtures.consoles import (
    ConsoleServer,
    create_pg_database,
    drop_pg_database,
    make_database_url,
    start_console,
    stop_console,
)

#: Operations that would end the session the fuzzer itself uses.
SKIP = {("POST", "/api/v1/auth/logout"), ("DELETE", "/api/v1/tokens/{token_id}")}
EXAMPLES = 5


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def own_console(request: pytest.FixtureRequest, tmp_path) -> Iterator[tuple[ConsoleServer, dict[str, str]]]:
    """A server of its own: the fuzzer revokes, disables and deletes whatever ids it guesses."""
    kind = request.param
    db_url = create_pg_database() if kind == "postgres" else make_database_url("sqlite", tmp_path)
    server = start_console(db_url, kind, tmp_path)
    result = cli("createadmin", "--db", db_url, "--username", "fuzz", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    yield server, bearer(login(server.url, "fuzz"))
    stop_console(server)
    if kind == "postgres":
        drop_pg_database(db_url)


@pytest.mark.slow
def test_no_input_gets_a_server_error(own_console: tuple[ConsoleServer, dict[str, str]]) -> None:
    server, admin = own_console
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    failures: list[str] = []
    statuses: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        for headers in (admin, {}):  # authorised, then anonymous
            _fuzz(operation, headers, failures, statuses)
    assert not failures, "\n".join(failures[:20])
    assert len(statuses) > 5 * len(operations) and {200, 401, 422} <= set(statuses)


def _fuzz(operation, headers: dict[str, str], failures: list[str], statuses: list[int]) -> None:  # type: ignore[no-untyped-def]
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    def run(case: schemathesis.Case) -> None:
        response = case.call(headers=headers, timeout=60)
        statuses.append(response.status_code)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}")

    run()
