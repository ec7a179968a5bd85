"""The local socket: malformed requests get an error reply and the server keeps serving; what a
session part may send is limited."""

from __future__ import annotations

import os
import pathlib
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from agent.events import check_events, new_event
from agent.ipc import Connection, IpcClient, IpcError, IpcServer, Peer


@pytest.fixture
def server(tmp_path: pathlib.Path) -> Iterator[pathlib.Path]:
    def dispatch(request: dict[str, Any], peer: Peer, connection: Connection) -> dict[str, Any] | None:
        if request["op"] == "boom":
            raise RuntimeError("handler failed")
        if request["op"] == "whoami":
            return {"ok": True, "uid": peer.uid, "admin": peer.is_admin}
        return None

    path = tmp_path / "agent.sock"
    ipc = IpcServer(path, dispatch)
    threading.Thread(target=ipc.serve_forever, daemon=True).start()
    yield path
    ipc.shutdown()


def test_bad_requests_get_errors_and_the_server_survives(server: pathlib.Path) -> None:
    raw = socket.socket(socket.AF_UNIX)
    raw.connect(str(server))
    reader = raw.makefile("rb")
    for line in (b"not json\n", b"[1, 2]\n", b'{"no": "op"}\n'):
        raw.sendall(line)
        assert b"malformed request" in reader.readline()
    raw.sendall(b'{"op": "boom"}\n')
    assert b"RuntimeError: handler failed" in reader.readline()
    raw.close()
    client = IpcClient(server)
    assert client.request({"op": "whoami"}) == {"ok": True, "uid": os.geteuid(), "admin": True}
    client.close()


def test_a_missing_service_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(IpcError, match="not running"):
        IpcClient(tmp_path / "nothing.sock")


def test_session_parts_may_only_report_their_channels() -> None:
    capture = new_event("screen_capture", "audit", timestamp=0)
    usb = new_event("removable_media", "audit", timestamp=0)
    assert check_events([capture], admin=False) is None
    assert "may only report" in str(check_events([usb], admin=False))
    assert check_events([usb], admin=True) is None
    assert "not a UUID" in str(check_events([{**capture, "id": "x"}], admin=True))
    assert "unknown channel" in str(check_events([{**capture, "channel": "fax"}], admin=True))
    assert "1 to 1000" in str(check_events([], admin=True))
    assert "1 to 1000" in str(check_events([{"id": str(uuid.uuid4())}] * 1001, admin=True))
