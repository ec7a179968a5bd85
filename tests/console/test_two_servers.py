"""Two `serve` processes on one PostgreSQL database: nothing lost, nothing doubled, one policy."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from tests.console.api import PASSWORD, bearer, cli, enroll, enroll_token, login, make_events
from tests.fixtures.consoles import (
    ConsoleServer,
    create_pg_database,
    drop_pg_database,
    start_console,
    stop_console,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[ConsoleServer]]]:
    db_url = create_pg_database()
    dirs = [tmp_path_factory.mktemp(f"server{i}") for i in range(2)]
    with ThreadPoolExecutor(2) as pool:  # started together: the schema migration must not race
        servers = list(pool.map(lambda i: start_console(db_url, "postgres", dirs[i]), range(2)))
    yield db_url, servers
    for server in servers:
        stop_console(server)
    drop_pg_database(db_url)


def test_every_event_once_and_one_policy_version(two_servers) -> None:
    db_url, servers = two_servers
    urls = [s.url for s in servers]
    token = enroll_token(db_url, "--max-uses", "40")
    with ThreadPoolExecutor(8) as pool:
        agents = list(pool.map(lambda i: enroll(urls[i % 2], token, hostname=f"pc{i}"), range(40)))
    assert len({a["device"] for a in agents}) == 40  # device numbers never collide across servers
    sent: list[list[dict]] = [make_events(50) for _ in range(80)]

    def send_to_both(k: int) -> int:
        headers = bearer(str(agents[k % 40]["agent_token"]))
        with httpx.Client(timeout=60) as client:
            return sum(client.post(f"{u}/api/v1/events", json={"events": sent[k]}, headers=headers)
                       .json()["accepted"] for u in urls)

    def policy(k: int) -> tuple[str, int, str]:
        reply = httpx.get(f"{urls[k % 2]}/api/v1/agents/policy", timeout=60,
                          headers=bearer(str(agents[k // 2]["agent_token"])))
        body = reply.json()
        return body["zone"], body["version"], body["sha256"]

    with ThreadPoolExecutor(8) as pool:
        seen = set(pool.map(policy, range(80)))
        accepted = sum(pool.map(send_to_both, range(80)))
    assert len(seen) == 1  # the first fetches race to create the default policy: one version wins
    assert accepted == 80 * 50
    with psycopg.connect(db_url) as conn:
        total, distinct = conn.execute("SELECT count(*), count(DISTINCT id) FROM events").fetchone()
    assert total == distinct == 80 * 50


def test_concurrent_publishes_get_distinct_versions(two_servers) -> None:
    pytest.importorskip("rules.policy")
    from rules.policy import default_policy_text

    db_url, servers = two_servers
    assert cli("createadmin", "--db", db_url, "--username", "root", "--password-stdin",
               stdin=PASSWORD + "\n").returncode == 0
    admins = [bearer(login(s.url, "root")) for s in servers]
    text = default_policy_text("high")

    def publish(k: int) -> int:
        reply = httpx.put(f"{servers[k % 2].url}/api/v1/zones/shared/policy", json={"policy": text},
                          headers=admins[k % 2], timeout=60)
        assert reply.status_code == 201, reply.text
        return int(reply.json()["version"])

    with ThreadPoolExecutor(6) as pool:
        versions = sorted(pool.map(publish, range(12)))
    assert versions == list(range(1, 13))
