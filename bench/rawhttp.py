"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for load generation.

The load generator shares the machine's cores with the server it measures, so it must cost
little: requests are written as bytes, answers read by Content-Length, connections kept alive
and reused. Only what the console's API needs (JSON in, JSON out, no chunked answers).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

#: uvicorn closes keep-alive connections idle for 5 s; older idle ones are not reused.
IDLE_SECONDS = 4.0


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.closed = False
        self.used = time.monotonic()

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        self.writer.write(head + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        status, length, keep = int(header[9:12]), 0, True
        for line in header.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                keep = False
            elif name == b"transfer-encoding":
                raise ValueError("chunked answers are not supported by this client")
        data = await self.reader.readexactly(length) if length else b""
        self.used = time.monotonic()
        if not keep:
            self.close()
        return status, data

    def close(self) -> None:
        self.closed = True
        self.writer.close()


class Pool:
    """Up to `limit` keep-alive connections to one server; a request waits for a free one."""

    def __init__(self, url: str, limit: int) -> None:
        host_port = url.split("://", 1)[1].rstrip("/")
        self.host, _, port = host_port.partition(":")
        self.port = int(port or 80)
        self.idle: list[Connection] = []
        self.slots = asyncio.Semaphore(limit)

    async def request(self, method: str, path: str, body: bytes = b"", token: str | None = None) -> tuple[int, bytes]:
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n" + (f"Authorization: Bearer {token}\r\n" if token else "")
                + "\r\n").encode()
        async with self.slots:
            for attempt in range(2):
                connection = self._reusable() if attempt == 0 else None
                connection = connection or await self._open()
                try:
                    answer = await connection.request(head, body)
                except (ConnectionError, asyncio.IncompleteReadError):
                    connection.close()  # a keep-alive connection the server had closed; requests here are idempotent
                    if attempt == 1:
                        raise
                    continue
                if not connection.closed:
                    self.idle.append(connection)
                return answer
        raise AssertionError("unreachable")

    async def json(self, method: str, path: str, payload: Any = None, token: str | None = None) -> tuple[int, Any]:
        body = b"" if payload is None else json.dumps(payload).encode()
        status, data = await self.request(method, path, body, token)
        return status, (json.loads(data) if data else None)

    def _reusable(self) -> Connection | None:
        while self.idle:
            connection = self.idle.pop()
            if time.monotonic() - connection.used < IDLE_SECONDS:
                return connection
            connection.close()
        return None

    async def _open(self) -> Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return Connection(reader, writer)

    async def close(self) -> None:
        for connection in self.idle:
            connection.close()
        self.idle.clear()
