"""The trace service over real HTTP: decode, attribute to device, user and time, open a case."""

from __future__ import annotations

import hashlib
import struct
import time
import zlib

import cv2
import httpx
import numpy as np
import pytest

from tests.console.api import cli, http
from tests.fixtures.consoles import ConsoleServer

pytest.importorskip("watermark.decoder", reason="the watermark decoder is not built yet")
from tests.watermark.images import marked, text_page  # noqa: E402


def _png(rgb: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", rgb[..., ::-1])
    assert ok
    return data.tobytes()


def _current_mark(url: str, agent) -> tuple[int, str]:
    reply = http().get(f"{url}/api/v1/agents/marks", params={"count": 1}, headers=agent.headers, timeout=30)
    first = reply.json()["marks"][0]
    return int(first["slot"]), str(first["mark"])


def _trace(url: str, headers: dict[str, str], data: bytes, name: str = "leak.png") -> httpx.Response:
    return http().post(f"{url}/api/v1/trace", files={"image": (name, data, "image/png")}, headers=headers,
                      timeout=120)


@pytest.mark.slow
def test_leaked_screenshot_is_traced_to_device_user_and_time(console_server: ConsoleServer, staff, new_agent) -> None:
    url = console_server.url
    agent = new_agent("finance-pc-7", user="carol")
    http().post(f"{url}/api/v1/agents/heartbeat", headers=agent.headers, json={"user": "carol"}, timeout=30)
    slot, mark = _current_mark(url, agent)
    evidence = _png(marked(text_page(960, 640, seed=3), int(mark, 16)))
    reply = _trace(url, staff.headers("analyst"), evidence)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["found"] is True and body["mark"] == mark and body["confidence"] > 0.5
    assert (body["agent_id"], body["hostname"], body["user"]) == (agent.id, "finance-pc-7", "carol")
    assert body["evidence_sha256"] == hashlib.sha256(evidence).hexdigest()
    start, end = (np.datetime64(body[k].replace("Z", "").split("+")[0]) for k in ("time_from", "time_to"))
    assert start <= np.datetime64(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())) <= end
    case = http().get(f"{url}/api/v1/cases/{body['case_id']}", headers=staff.headers("auditor"), timeout=30).json()
    assert case["decoder_version"] and case["evidence_sha256"] == body["evidence_sha256"]
    report = http().get(f"{url}/api/v1/cases/{body['case_id']}/report.html", headers=staff.headers("analyst"),
                       timeout=30)
    assert report.headers["content-type"].startswith("text/html")
    assert body["evidence_sha256"] in report.text and "carol" in report.text and "finance-pc-7" in report.text
    pdf = http().get(f"{url}/api/v1/cases/{body['case_id']}/report.pdf", headers=staff.headers("auditor"), timeout=30)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    words = pdf_text(pdf.content)
    assert body["evidence_sha256"] in words and "carol" in words and "finance-pc-7" in words and mark in words


@pytest.mark.slow
def pdf_text(data: bytes) -> str:
    """The PDF's text with all white space removed (long hashes wrap inside their table cell)."""
    import io

    from pypdf import PdfReader

    return "".join("".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages)


def test_pdf_report_keeps_names_in_any_script(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from console import report
    from console.tables import Case

    case = Case(id=42, created_by="analyst-1", filename="leak.jpg", evidence_sha256="ab" * 32, evidence_size=1234,
                decoder_version="wm-1", mark="0123456789abcdef", confidence=0.97, found=True, device=17,
                agent_id="agent-1", hostname="财务-pc", user="张伟", created_at=datetime.now(UTC),
                time_from=datetime(2026, 11, 23, 10, 0, tzinfo=UTC), time_to=datetime(2026, 11, 23, 10, 10, tzinfo=UTC),
                detections=[{"mark": "0123456789abcdef", "confidence": 0.97, "device": 17, "user": "张伟"}])
    words = pdf_text(report.render_case_pdf(case))
    assert "ab" * 32 in words and "2026-11-23T10:10:00+00:00" in words
    if report.pdf_covers("张伟财务"):  # a CJK font is installed (scripts/system-deps.sh adds one)
        assert "张伟" in words and "财务-pc" in words and "U+" not in words
    else:
        assert "<U+5F20><U+4F1F>" in words and "codepoints" in words
    monkeypatch.setattr(report, "PDF_FONTS", ())  # a console with no Unicode font at all
    words = pdf_text(report.render_case_pdf(case))
    assert "<U+5F20><U+4F1F>" in words and "<U+8D22><U+52A1>-pc" in words and "codepoints" in words


@pytest.mark.slow
def test_unmarked_image_opens_a_case_that_found_nothing(console_server: ConsoleServer, staff) -> None:
    reply = _trace(console_server.url, staff.headers("admin"), _png(text_page(640, 480, seed=9)))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["found"] is False and body["agent_id"] is None and body["case_id"] > 0


def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))


@pytest.mark.parametrize(("data", "status"), [
    (b"this is not an image at all", 422),
    (b"", 422),
    (_png_header_only(60_000, 60_000), 422),  # a decompression bomb's header
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, 422),
])
def test_hostile_uploads_are_refused(console_server: ConsoleServer, staff, data: bytes, status: int) -> None:
    reply = _trace(console_server.url, staff.headers("analyst"), data)
    assert reply.status_code == status, reply.text


def test_oversized_upload_is_413(console_server: ConsoleServer, staff) -> None:
    big = b"\x89PNG" + b"\x00" * (26 * 1024 * 1024)
    reply = _trace(console_server.url, staff.headers("analyst"), big)
    assert reply.status_code == 413


def test_trace_needs_analyst_or_admin(console_server: ConsoleServer, staff) -> None:
    data = _png(text_page(64, 64))
    assert _trace(console_server.url, staff.headers("auditor"), data).status_code == 403
    assert _trace(console_server.url, {}, data).status_code == 401


def test_rotated_keys_keep_old_marks_resolvable(console_server: ConsoleServer, staff, new_agent) -> None:
    url, analyst = console_server.url, staff.headers("analyst")
    agent = new_agent("pc-rot", user="dave")
    params = {"from_slot": 400_000, "count": 1}
    before = http().get(f"{url}/api/v1/agents/marks", params=params, headers=agent.headers, timeout=30).json()
    result = cli("rotate-keys", "--db", console_server.db_url, "--only", "mark-secret")
    assert result.returncode == 0, result.stderr
    after = http().get(f"{url}/api/v1/agents/marks", params=params, headers=agent.headers, timeout=30).json()
    old, new = before["marks"][0]["mark"], after["marks"][0]["mark"]
    assert old != new
    for mark in (old, new):
        resolved = http().post(f"{url}/api/v1/marks/resolve", json={"mark": mark}, headers=analyst, timeout=30).json()
        assert resolved["found"] and resolved["agent_id"] == agent.id and resolved["device"] == agent.device
    assert resolved["key_id"] != http().post(f"{url}/api/v1/marks/resolve", json={"mark": old}, headers=analyst,
                                            timeout=30).json()["key_id"]
    unknown = http().post(f"{url}/api/v1/marks/resolve", json={"mark": "0" * 16}, headers=analyst, timeout=30).json()
    assert unknown["found"] is False
