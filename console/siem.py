"""SIEM output: RFC 5424 syslog carrying CEF over UDP or TCP, and JSON lines to a file.

Matched content never appears here: events carry detector ids and counts only.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from console.settings import Settings
from leakguard import __version__

FACILITY_LOCAL4 = 20
#: leakguard severity -> (CEF 0..10, syslog severity 0..7)
SEVERITY = {"critical": (10, 2), "high": (8, 3), "medium": (5, 4), "low": (3, 5), "info": (1, 6)}
HOSTNAME = "leakguard-console"


def _header(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|")


def _ext(value: Any) -> str:
    text = str(value).replace("\\", "\\\\").replace("=", "\\=")
    return text.replace("\r", "\\r").replace("\n", "\\n")


def cef(signature: str, name: str, severity: str, extension: dict[str, Any]) -> str:
    level = SEVERITY.get(severity, (5, 4))[0]
    ext = " ".join(f"{key}={_ext(value)}" for key, value in extension.items() if value not in (None, ""))
    head = "|".join(_header(part) for part in ("leakguard", "leakguard", __version__, signature, name))
    return f"CEF:0|{head}|{level}|{ext}"


def event_cef(row: dict[str, Any]) -> str:
    detectors = ",".join(f"{d['id']}:{d.get('count', 1)}" for d in row.get("detectors", []))
    ts: datetime = row["ts"]
    return cef(f"event:{row['channel']}:{row['action']}", f"{row['action']} on {row['channel']}", row["severity"], {
        "rt": int(ts.timestamp() * 1000), "externalId": row["id"], "deviceExternalId": row["agent_id"],
        "suser": row.get("user"), "act": row["action"], "cat": row["channel"],
        "cs1Label": "detectors", "cs1": detectors,
    })


def syslog_message(payload: str, severity: str, *, msgid: str, now: datetime | None = None) -> str:
    """One RFC 5424 message: <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG."""
    pri = FACILITY_LOCAL4 * 8 + SEVERITY.get(severity, (5, 4))[1]
    stamp = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return f"<{pri}>1 {stamp} {HOSTNAME} leakguard - {msgid} - {payload}"


def send_syslog(target: str, messages: Iterable[str]) -> None:
    """UDP: one datagram each. TCP: RFC 6587 octet counting ("LEN SP MSG")."""
    url = urlsplit(target)
    if url.scheme not in ("udp", "tcp") or not url.hostname or not url.port:
        raise OSError(f"SIEM syslog target must be udp://host:port or tcp://host:port, not {target!r}")
    address = (url.hostname, url.port)
    if url.scheme == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for message in messages:
                sock.sendto(message.encode("utf-8")[:65000], address)
        return
    with socket.create_connection(address, timeout=5) as sock:
        data = b"".join(f"{len(m.encode('utf-8'))} ".encode() + m.encode("utf-8") for m in messages)
        sock.sendall(data)


def append_jsonl(path: str, records: Iterable[dict[str, Any]]) -> None:
    lines = "".join(json.dumps(r, default=_json_default, sort_keys=True) + "\n" for r in records)
    with open(path, "a", encoding="utf-8") as handle:  # one write per batch keeps lines whole
        handle.write(lines)


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def forward_events(settings: Settings, rows: list[dict[str, Any]]) -> None:
    if settings.siem_syslog:
        send_syslog(settings.siem_syslog, (syslog_message(event_cef(r), r["severity"], msgid="event") for r in rows))
    if settings.siem_jsonl:
        append_jsonl(settings.siem_jsonl, ({"type": "event", **r} for r in rows))


def forward_alert(settings: Settings, alert: dict[str, Any]) -> None:
    if settings.siem_syslog:
        payload = cef(f"alert:{alert['kind']}", alert["message"], alert["severity"], {
            "externalId": alert["id"], "suser": alert.get("user"), "deviceExternalId": alert.get("agent_id"),
            "cs2Label": "rule", "cs2": alert["rule"],
        })
        send_syslog(settings.siem_syslog, [syslog_message(payload, alert["severity"], msgid="alert")])
    if settings.siem_jsonl:
        append_jsonl(settings.siem_jsonl, [{"type": "alert", **alert}])
