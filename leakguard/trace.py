"""`leakguard trace IMAGE ...`: the forensic command line.

Decodes every image blindly (no console needed) and, with `--console`, also asks the console to
resolve the mark to device, user and time (`POST /api/v1/trace`). One bad file never stops the
others: it gets `found: false` and an `error`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

MAX_PIXELS = 80_000_000
MAX_FILE_BYTES = 200 * 1024 * 1024


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="leaked screenshots or photos")
    parser.add_argument("--json", action="store_true", help="one JSON object per image on stdout")
    parser.add_argument("--console", metavar="URL", help="resolve marks to device, user and time")
    parser.add_argument("--token", help="console API token (default: $LEAKGUARD_TOKEN)")
    parser.add_argument("--username", help="log in to the console as this person")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    parser.add_argument("--max-pixels", type=int, default=MAX_PIXELS, help="refuse larger images")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    client = None
    if args.console:
        try:
            client = ConsoleClient.connect(args.console, _token(args), args.username, _password(args))
        except ConsoleError as exc:
            print(f"leakguard: {exc}", file=sys.stderr)
            return 1
    failures = 0
    bar = tqdm(args.images, unit="image", file=sys.stderr, disable=len(args.images) < 2 or None)
    for path in bar:
        record = trace_file(path, args.max_pixels)
        if client is not None and "error" not in record:
            failures += _resolve(client, path, record)
        bar.clear()
        print(json.dumps(record) if args.json else describe(record), flush=True)
    return 1 if failures else 0


def trace_file(path: str, max_pixels: int) -> dict[str, Any]:
    """The JSON record for one file; never raises for bad input."""
    from watermark.decoder import DecodeResult, decode_image
    from watermark.errors import DecodeError
    from watermark.imageio import load_layers

    record: dict[str, Any] = {"path": path, "found": False, "mark": None, "confidence": 0.0, "seconds": 0.0}
    try:
        layers = load_layers(_read(path), max_pixels=max_pixels)
    except (OSError, DecodeError) as exc:
        record["error"] = str(exc)
        return record
    results: list[DecodeResult] = []
    for layer in layers:
        results.append(decode_image(layer))
        if results[-1].found:
            break
    seconds = sum(r.seconds for r in results)
    best = max(results, key=lambda r: (r.found, r.confidence))
    record.update(found=best.found, confidence=round(best.confidence, 4), seconds=round(seconds, 4))
    record["marks"] = [{"mark": f"{d.mark:016x}", "confidence": round(d.confidence, 4)} for d in best.marks]
    record["mark"] = record["marks"][0]["mark"] if best.found else None
    return record


def describe(record: dict[str, Any]) -> str:
    """One human line (plus one per extra mark) for a record."""
    if "error" in record:
        return f"{record['path']}: cannot decode: {record['error']}"
    if not record["found"]:
        return f"{record['path']}: no watermark found ({record['seconds']:.2f} s)"
    lines = [f"{record['path']}: mark {m['mark']} (confidence {m['confidence'] or 0:.2f}){_owner(m)}"
             for m in record["marks"]]
    if "user" in record:
        lines.append(
            f"  device {record.get('hostname')} (agent {record.get('agent_id')}), user {record.get('user')}, "
            f"shown between {record.get('time_from')} and {record.get('time_to')}, case {record.get('case_id')}"
        )
    if "console_error" in record:
        lines.append(f"  console: {record['console_error']}")
    return "\n".join(lines)


def _owner(mark: dict[str, Any]) -> str:
    if mark.get("agent_id") is None:
        return ""
    return f" from {mark.get('hostname')} monitor {mark.get('monitor')}, user {mark.get('user')}"


def _read(path: str) -> bytes:
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise OSError(f"file is {size} bytes, over the limit of {MAX_FILE_BYTES}")
    with open(path, "rb") as handle:
        return handle.read()


def _resolve(client: Any, path: str, record: dict[str, Any]) -> int:
    try:
        answer = client.trace(path)
    except ConsoleError as exc:
        record["console_error"] = str(exc)
        return 1
    for key in ("agent_id", "hostname", "user", "time_from", "time_to", "evidence_sha256", "case_id"):
        if key in answer:
            record[key] = answer[key]
    _attribute_marks(record, answer.get("marks") or [])
    return 0


def _attribute_marks(record: dict[str, Any], resolved: list[dict[str, Any]]) -> None:
    """Each mark the console resolved (a capture across monitors has several) gets its owner."""
    by_mark = {str(m.get("mark")): m for m in resolved if isinstance(m, dict)}
    keys = ("agent_id", "hostname", "user", "monitor", "device", "time_from", "time_to")
    marks = record.setdefault("marks", [])
    for entry in marks:
        entry.update({k: by_mark[entry["mark"]].get(k) for k in keys} if entry["mark"] in by_mark else {})
    known = {entry["mark"] for entry in marks}
    marks.extend({"mark": mark, **{k: found.get(k) for k in ("confidence", *keys)}}
                 for mark, found in by_mark.items() if mark not in known)


def _token(args: argparse.Namespace) -> str | None:
    return args.token or os.environ.get("LEAKGUARD_TOKEN") or None


def _password(args: argparse.Namespace) -> str | None:
    if not args.password_stdin:
        return None
    return sys.stdin.readline().rstrip("\r\n")


TIMEOUT_SECONDS = 60.0


class ConsoleError(RuntimeError):
    """The console could not be reached, refused the credentials, or answered nonsense."""


@dataclass
class ConsoleClient:
    """A logged-in client for the console's HTTP API v1."""

    base_url: str
    token: str

    @classmethod
    def connect(cls, url: str, token: str | None, username: str | None, password: str | None) -> ConsoleClient:
        base = url.rstrip("/")
        if token:
            return cls(base, token)
        if not username or password is None:
            raise ConsoleError("--console needs --token (or LEAKGUARD_TOKEN), or --username with --password-stdin")
        answer = _call("POST", f"{base}/api/v1/auth/login", json={"username": username, "password": password})
        if not isinstance(answer.get("token"), str):
            raise ConsoleError("the console's login answer has no token")
        return cls(base, answer["token"])

    def trace(self, path: str) -> dict[str, Any]:
        with open(path, "rb") as handle:
            files = {"image": (os.path.basename(path), handle, "application/octet-stream")}
            return _call("POST", f"{self.base_url}/api/v1/trace", files=files, token=self.token)


def _call(method: str, url: str, *, token: str | None = None, **kwargs: Any) -> dict[str, Any]:
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.request(method, url, headers=headers, timeout=TIMEOUT_SECONDS, **kwargs)
    except httpx.HTTPError as exc:
        raise ConsoleError(f"cannot reach the console at {url}: {exc}") from exc
    if response.status_code in (401, 403):
        raise ConsoleError(f"the console refused the credentials ({response.status_code})")
    if response.status_code >= 400:
        raise ConsoleError(f"the console answered {response.status_code}: {response.text[:200]}")
    try:
        answer = response.json()
    except ValueError as exc:
        raise ConsoleError("the console answered with something that is not JSON") from exc
    if not isinstance(answer, dict):
        raise ConsoleError("the console answered with an unexpected JSON value")
    return answer
