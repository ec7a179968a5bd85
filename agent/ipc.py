"""The local socket between the agent service and its session parts and CLI.

JSON lines over a Unix socket. Each connection is checked with SO_PEERCRED: only root, the
service's own user and users logged in on this PC may talk to the service, and admin requests
(quarantine release) need root or the service's user.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import pwd
import socket
import socketserver
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil

log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


class IpcError(Exception):
    """The service is not reachable or refused the request."""


@dataclass(frozen=True)
class Peer:
    pid: int
    uid: int
    user: str | None

    @property
    def is_admin(self) -> bool:
        return self.uid in (0, os.geteuid())


def peer_of(sock: socket.socket) -> Peer:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, _gid = struct.unpack("3i", creds)
    try:
        user: str | None = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = None
    return Peer(pid, uid, user)


def allowed(peer: Peer) -> bool:
    if peer.is_admin:
        return True
    return peer.user is not None and peer.user in {u.name for u in psutil.users()}


Handler = Callable[[dict[str, Any], Peer, "Connection"], dict[str, Any] | None]


class Connection:
    """One client connection; `push` lets the service send notices to a subscribed session."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def push(self, message: dict[str, Any]) -> bool:
        try:
            with self._lock:
                self._stream.write(json.dumps(message).encode() + b"\n")
                self._stream.flush()
        except OSError:
            return False
        return True


class _RequestHandler(socketserver.StreamRequestHandler):
    server: IpcServer

    def handle(self) -> None:
        peer = peer_of(self.request)
        connection = Connection(self.wfile)
        if not allowed(peer):
            connection.push({"ok": False, "error": f"uid {peer.uid} may not talk to the agent"})
            return
        try:
            while line := self.rfile.readline(MAX_MESSAGE_BYTES + 1):
                reply = self._answer(line, peer, connection)
                if reply is not None and not connection.push(reply):
                    return
        finally:
            self.server.dispatch({"op": "disconnected"}, peer, connection)

    def _answer(self, line: bytes, peer: Peer, connection: Connection) -> dict[str, Any] | None:
        try:
            request = json.loads(line)
            if not isinstance(request, dict) or not isinstance(request.get("op"), str):
                raise ValueError("a request is a JSON object with an 'op'")
        except ValueError as exc:
            return {"ok": False, "error": f"malformed request: {exc}"}
        try:
            return self.server.dispatch(request, peer, connection)
        except Exception as exc:  # one bad request must not take the service down
            log.exception("IPC request %s failed", request.get("op"))
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


class IpcServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: pathlib.Path, dispatch: Handler) -> None:
        path.unlink(missing_ok=True)
        self.dispatch = dispatch
        super().__init__(str(path), _RequestHandler)
        os.chmod(path, 0o666)  # access is checked per connection with SO_PEERCRED


class IpcClient:
    """A blocking client for the service socket."""

    def __init__(self, path: pathlib.Path, *, timeout: float = 10.0) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(str(path))
        except OSError as exc:
            self._sock.close()
            raise IpcError(f"the agent service is not running ({path}: {exc.strerror})") from exc
        self._reader = self._sock.makefile("rb")

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        try:
            self._sock.sendall(json.dumps(message).encode() + b"\n")
            return self.receive()
        except OSError as exc:
            raise IpcError(f"the agent service connection failed: {exc}") from exc

    def receive(self) -> dict[str, Any]:
        line = self._reader.readline(MAX_MESSAGE_BYTES + 1)
        if not line:
            raise IpcError("the agent service closed the connection")
        return dict(json.loads(line))

    def settimeout(self, timeout: float | None) -> None:
        self._sock.settimeout(timeout)

    def close(self) -> None:
        self._reader.close()
        self._sock.close()
