"""The agent's side of the console HTTP API v1 (CONTRACTS.md): the only module that talks HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


class ConsoleError(Exception):
    """The console could not be reached or answered with an error; `retry` says whether to try again."""

    def __init__(self, message: str, *, status: int | None = None, retry: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.retry = retry


@dataclass(frozen=True)
class PolicyResponse:
    """`body` is None when the console answered 304 Not Modified."""

    body: dict[str, Any] | None
    etag: str | None


def _raise_for(response: httpx.Response, what: str) -> None:
    if response.status_code < 400:
        return
    retry = response.status_code >= 500 or response.status_code in (408, 425, 429)
    detail = response.text[:300].strip()
    raise ConsoleError(f"{what}: HTTP {response.status_code} {detail}", status=response.status_code, retry=retry)


def enroll(url: str, payload: dict[str, Any], *, timeout: float = 15.0) -> dict[str, Any]:
    try:
        response = httpx.post(f"{url.rstrip('/')}/api/v1/agents/enroll", json=payload, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ConsoleError(f"enrollment: cannot reach {url}: {exc}") from exc
    _raise_for(response, "enrollment")
    return dict(response.json())


class ConsoleClient:
    """Authenticated calls of one enrolled agent."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0) -> None:
        self._http = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ConsoleError(f"{what}: {type(exc).__name__}: {exc}") from exc
        _raise_for(response, what)
        return response

    def heartbeat(self, payload: dict[str, Any]) -> dict[str, Any]:
        response = self._call("POST", "/api/v1/agents/heartbeat", "heartbeat", json=payload)
        return dict(response.json()) if response.content else {}

    def fetch_policy(self, etag: str | None) -> PolicyResponse:
        headers = {"If-None-Match": etag} if etag else {}
        response = self._call("GET", "/api/v1/agents/policy", "policy", headers=headers)
        if response.status_code == 304:
            return PolicyResponse(None, etag)
        return PolicyResponse(dict(response.json()), response.headers.get("ETag"))

    def send_events(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        response = self._call("POST", "/api/v1/events", "events", json={"events": events})
        return dict(response.json())

    def fetch_marks(self, from_slot: int, count: int, monitors: int = 1) -> dict[str, Any]:
        params = {"from_slot": from_slot, "count": count, "monitors": monitors}
        return dict(self._call("GET", "/api/v1/agents/marks", "marks", params=params).json())
