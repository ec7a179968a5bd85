"""Traces and mark resolutions are limited per person (each costs a decode, or probes a mark):
past the limit a 429 with Retry-After, audited; another person is not held up."""

from __future__ import annotations

import io
import pathlib

import httpx
import pytest
from PIL import Image

from tests.console.api import PASSWORD, bearer, cli, http, login
from tests.fixtures.consoles import drop_pg_database, make_database_url, start_console, stop_console


def png() -> bytes:
    sink = io.BytesIO()
    Image.effect_noise((320, 240), 40).convert("RGB").save(sink, "PNG")
    return sink.getvalue()


def trace(url: str, headers: dict[str, str], data: bytes) -> httpx.Response:
    return http().post(f"{url}/api/v1/trace", files={"image": ("leak.png", data, "image/png")}, headers=headers)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_traces_and_resolutions_past_the_limit_get_429_for_that_person_only(kind: str, tmp_path: pathlib.Path) -> None:
    db_url = make_database_url(kind, tmp_path)
    server = start_console(db_url, kind, tmp_path, env={"LEAKGUARD_TRACES_PER_WINDOW": "2",
                                                         "LEAKGUARD_RESOLVES_PER_WINDOW": "3"})
    try:
        for name in ("ann", "bob"):
            made = cli("createadmin", "--db", db_url, "--username", name, "--password-stdin", stdin=PASSWORD + "\n")
            assert made.returncode == 0, made.stderr
        ann, bob = bearer(login(server.url, "ann")), bearer(login(server.url, "bob"))
        resolve = f"{server.url}/api/v1/marks/resolve"
        assert [http().post(resolve, json={"mark": "0" * 16}, headers=ann).status_code for _ in range(3)] == [200] * 3
        refused = http().post(resolve, json={"mark": "0" * 16}, headers=ann)
        assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 300, refused.text
        assert http().post(resolve, json={"mark": "0" * 16}, headers=bob).status_code == 200

        image = png()
        assert [trace(server.url, ann, image).status_code for _ in range(2)] == [200, 200]
        late = trace(server.url, ann, image)
        assert late.status_code == 429 and "2 traces within 300 s" in late.json()["detail"], late.text
        assert trace(server.url, bob, image).status_code == 200
        audit = http().get(f"{server.url}/api/v1/audit", headers=bob)
        assert audit.status_code == 200, audit.text
        limited = [e["target"] for e in audit.json() if e["action"] == "rate_limited"]
        assert sorted(limited) == ["case_open", "mark_resolve"]  # ann's two refusals, bob none
    finally:
        stop_console(server)
        if kind == "postgres":
            drop_pg_database(db_url)
