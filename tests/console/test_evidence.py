"""A case keeps the image it was opened on: served back byte for byte (its SHA-256 the case's
evidence hash) to analysts, audited, and shown reduced in the HTML and PDF reports; a console
told not to keep evidence keeps only the hash, and its reports say so."""

from __future__ import annotations

import hashlib
import io
import pathlib

import httpx
import pytest
from PIL import Image

from tests.console.api import PASSWORD, bearer, cli, http, login
from tests.fixtures.consoles import (
    ConsoleServer,
    drop_pg_database,
    make_database_url,
    start_console,
    stop_console,
)


def jpeg() -> bytes:
    sink = io.BytesIO()
    Image.effect_noise((800, 600), 50).convert("RGB").save(sink, "JPEG", quality=80)
    return sink.getvalue()


def trace(url: str, headers: dict[str, str], data: bytes) -> dict[str, object]:
    reply = http().post(f"{url}/api/v1/trace", files={"image": ("leak.jpg", data, "image/jpeg")}, headers=headers,
                        timeout=120)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def report(url: str, case: object, headers: dict[str, str], kind: str) -> httpx.Response:
    reply = http().get(f"{url}/api/v1/cases/{case}/report.{kind}", headers=headers, timeout=60)
    assert reply.status_code == 200, reply.text
    return reply


def test_a_case_keeps_its_image_for_analysts_and_shows_it_in_its_reports(console_server: ConsoleServer,
                                                                           staff) -> None:
    url, data = console_server.url, jpeg()
    case = trace(url, staff.headers("analyst"), data)["case_id"]
    served = http().get(f"{url}/api/v1/cases/{case}/evidence", headers=staff.headers("analyst"), timeout=30)
    assert served.status_code == 200 and served.content == data
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-evidence-sha256"] == hashlib.sha256(data).hexdigest()
    assert http().get(f"{url}/api/v1/cases/{case}/evidence", headers=staff.headers("auditor")).status_code == 403
    assert http().get(f"{url}/api/v1/cases/999999/evidence", headers=staff.headers("analyst")).status_code == 404
    html = report(url, case, staff.headers("auditor"), "html").text
    assert "<h2>Evidence</h2><img" in html and "data:image/png;base64," in html
    assert b"/Subtype /Image" in report(url, case, staff.headers("auditor"), "pdf").content
    audit = http().get(f"{url}/api/v1/audit", headers=staff.headers("admin"), timeout=30).json()
    assert any(e["action"] == "evidence_read" and e["target"] == str(case) for e in audit)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_console_told_not_to_keep_evidence_keeps_only_its_hash(kind: str, tmp_path: pathlib.Path) -> None:
    db_url = make_database_url(kind, tmp_path)
    server = start_console(db_url, kind, tmp_path, env={"LEAKGUARD_KEEP_EVIDENCE": "0"})
    try:
        made = cli("createadmin", "--db", db_url, "--username", "ann", "--password-stdin", stdin=PASSWORD + "\n")
        assert made.returncode == 0, made.stderr
        ann = bearer(login(server.url, "ann"))
        case = trace(server.url, ann, jpeg())["case_id"]
        missing = http().get(f"{server.url}/api/v1/cases/{case}/evidence", headers=ann)
        assert missing.status_code == 404 and "was not kept" in missing.text
        html = report(server.url, case, ann, "html").text
        assert "was not kept by this console" in html and "data:image" not in html
        assert b"/Subtype /Image" not in report(server.url, case, ann, "pdf").content
    finally:
        stop_console(server)
        if kind == "postgres":
            drop_pg_database(db_url)
