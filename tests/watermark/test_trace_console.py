"""`leakguard trace --console`: the client side of POST /api/v1/trace, over real HTTP.

The console's real endpoint is built elsewhere; this stand-in speaks the contract
(login -> token, multipart field `image`, Bearer auth) so the client is checked end to end.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from leakguard.cli import main
from tests.watermark.images import marked

ANSWER = {"found": True, "mark": "0123456789abcdef", "confidence": 0.9, "agent_id": "a-1", "hostname": "pc-7",
          "user": "alice", "time_from": "2026-11-23T01:00:00Z", "time_to": "2026-11-23T01:10:00Z",
          "evidence_sha256": "ab" * 32, "case_id": "case-1"}


class Console(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/api/v1/auth/login":
            ok = json.loads(body) == {"username": "alice", "password": "s3cret"}
            self._send(200 if ok else 401, {"token": "tok"} if ok else {"detail": "bad"})
        elif self.path == "/api/v1/trace":
            authorised = self.headers.get("Authorization") == "Bearer tok"
            has_image = b'name="image"' in body and b"\x89PNG" in body
            self._send(200 if authorised and has_image else 401, ANSWER if authorised else {"detail": "no"})
        else:
            self._send(404, {})

    def _send(self, status: int, payload: dict[str, object]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def console_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Console)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def leak(tmp_path: Path) -> Path:
    path = tmp_path / "leak.png"
    cv2.imwrite(str(path), marked(np.full((300, 400, 3), 220, dtype=np.uint8))[..., ::-1])
    return path


def test_login_then_trace(console_url: str, leak: Path, capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret\n"))
    code = main(["trace", "--json", "--console", console_url, "--username", "alice", "--password-stdin", str(leak)])
    record = json.loads(capsys.readouterr().out)
    assert code == 0
    assert record["found"] is True and record["user"] == "alice" and record["hostname"] == "pc-7"
    assert record["case_id"] == "case-1"


def test_token_from_environment_and_human_output(console_url: str, leak: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKGUARD_TOKEN", "tok")
    assert main(["trace", "--console", console_url, str(leak)]) == 0
    out = capsys.readouterr().out
    assert "user alice" in out and "pc-7" in out


def test_wrong_password_is_a_clear_error(console_url: str, leak: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("nope\n"))
    assert main(["trace", "--console", console_url, "--username", "alice", "--password-stdin", str(leak)]) == 1
    assert "refused the credentials" in capsys.readouterr().err


def test_wrong_token_is_reported_per_image(console_url: str, leak: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "--json", "--console", console_url, "--token", "bad", str(leak)]) == 1
    record = json.loads(capsys.readouterr().out)
    assert record["found"] is True and "refused" in record["console_error"]
