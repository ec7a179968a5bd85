"""A small client of the Internet Printing Protocol (RFC 8010 encoding, RFC 8011 operations) as
CUPS serves it: over its local socket (or host:port), HTTP POST of `application/ipp`. Enough
to list the jobs not yet printed with their state and owner, to release a held job, to cancel
one, and to list the printers with their default hold. As root over the local socket, CUPS
grants every operation without a password (its `@SYSTEM` and local-root rules).
"""

from __future__ import annotations

import http.client
import itertools
import socket
import struct
from dataclasses import dataclass

# operations (RFC 8011 5.2; CUPS's own from 0x4001)
GET_JOBS, CANCEL_JOB, RELEASE_JOB, CUPS_GET_PRINTERS = 0x000A, 0x0008, 0x000D, 0x4002
# delimiter and value tags (RFC 8010 3.5)
_OPERATION, _JOB, _END, _PRINTER = 0x01, 0x02, 0x03, 0x04
_INTEGER, _BOOLEAN, _ENUM = 0x21, 0x22, 0x23
_TEXT, _NAME, _KEYWORD, _URI, _CHARSET, _LANGUAGE = 0x41, 0x42, 0x44, 0x45, 0x47, 0x48
# job states (RFC 8011 5.3.7)
PENDING, HELD, PROCESSING, STOPPED, CANCELED, ABORTED, COMPLETED = 3, 4, 5, 6, 7, 8, 9
_MAX_RESPONSE = 16 << 20
_ids = itertools.count(1)


class IppError(Exception):
    pass


@dataclass(frozen=True)
class Job:
    id: int
    state: int
    name: str
    user: str
    printer: str
    hold_until: str
    documents: int
    size_kb: int
    reason: str = ""  # the first of its job-state-reasons ("job-incoming" while documents arrive)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class Client:
    """IPP requests to one CUPS server: a socket path (`/run/cups/cups.sock`) or `host:port`."""

    def __init__(self, server: str, *, timeout: float = 5.0, user: str = "root") -> None:
        self.server, self.timeout, self.user = server, timeout, user

    def jobs(self) -> list[Job]:
        """Every job not completed, canceled or aborted, on every printer."""
        groups = self._call(GET_JOBS, "ipp://localhost/", [
            (_KEYWORD, "which-jobs", ["not-completed"]),
            (_KEYWORD, "requested-attributes", ["job-id", "job-state", "job-name", "job-originating-user-name",
                                                 "job-printer-uri", "job-hold-until", "number-of-documents",
                                                 "job-k-octets", "job-state-reasons"])])
        out = []
        for tag, attributes in groups:
            if tag != _JOB or not isinstance(attributes.get("job-id"), int):
                continue
            printer = str(attributes.get("job-printer-uri", "")).rsplit("/", 1)[-1]
            out.append(Job(_number(attributes["job-id"]), _number(attributes.get("job-state")),
                           str(attributes.get("job-name", "")), str(attributes.get("job-originating-user-name", "")),
                           printer, str(attributes.get("job-hold-until", "")),
                           _number(attributes.get("number-of-documents"), 1), _number(attributes.get("job-k-octets")),
                           str(attributes.get("job-state-reasons", ""))))
        return out

    def printers(self) -> dict[str, str]:
        """Each printer's name and its default `job-hold-until` ("no-hold" unless set)."""
        groups = self._call(CUPS_GET_PRINTERS, None, [
            (_KEYWORD, "requested-attributes", ["printer-name", "job-hold-until-default"])])
        return {str(a["printer-name"]): str(a.get("job-hold-until-default", "no-hold"))
                for tag, a in groups if tag == _PRINTER and "printer-name" in a}

    def release(self, job: int) -> None:
        self._call(RELEASE_JOB, "ipp://localhost/", [(_INTEGER, "job-id", [job])])

    def cancel(self, job: int) -> None:
        self._call(CANCEL_JOB, "ipp://localhost/", [(_INTEGER, "job-id", [job])])

    def _call(self, operation: int, printer: str | None,
              attributes: list[tuple[int, str, list[object]]]) -> list[tuple[int, dict[str, object]]]:
        body = _request(operation, next(_ids), printer, self.user, attributes)
        connection: http.client.HTTPConnection
        if self.server.startswith("/"):
            connection = _UnixConnection(self.server, self.timeout)
        else:
            host, _, port = self.server.rpartition(":")
            connection = http.client.HTTPConnection(host or "localhost", int(port or 631), timeout=self.timeout)
        try:
            connection.request("POST", "/", body=body, headers={"Content-Type": "application/ipp"})
            response = connection.getresponse()
            data = response.read(_MAX_RESPONSE + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise IppError(f"CUPS at {self.server}: {exc}") from exc
        finally:
            connection.close()
        if response.status != 200:
            raise IppError(f"CUPS at {self.server}: HTTP {response.status}")
        status, groups = parse_response(data)
        if status >= 0x0400:  # client and server errors (0x0000-0x03FF are successes and informational)
            raise IppError(f"CUPS at {self.server}: IPP status 0x{status:04x}")
        return groups


def _request(operation: int, request_id: int, printer: str | None, user: str,
             attributes: list[tuple[int, str, list[object]]]) -> bytes:
    out = bytearray(struct.pack(">BBHI", 2, 0, operation, request_id))
    out.append(_OPERATION)
    base: list[tuple[int, str, list[object]]] = [(_CHARSET, "attributes-charset", ["utf-8"]),
                                                 (_LANGUAGE, "attributes-natural-language", ["en"])]
    if printer is not None:
        base.append((_URI, "printer-uri", [printer]))
    base.append((_NAME, "requesting-user-name", [user]))
    for tag, name, values in base + attributes:
        for index, value in enumerate(values):
            key = name.encode() if index == 0 else b""  # more values of one attribute: no name
            raw = struct.pack(">i", value) if isinstance(value, int) else str(value).encode()
            out += struct.pack(">BH", tag, len(key)) + key + struct.pack(">H", len(raw)) + raw
    out.append(_END)
    return bytes(out)


def parse_response(data: bytes) -> tuple[int, list[tuple[int, dict[str, object]]]]:
    """The status code and the attribute groups (delimiter tag, name -> first value)."""
    if len(data) < 8 or len(data) > _MAX_RESPONSE:
        raise IppError(f"an IPP response of {len(data)} bytes")
    status = struct.unpack_from(">H", data, 2)[0]
    groups: list[tuple[int, dict[str, object]]] = []
    at, name = 8, ""
    while at < len(data):
        tag = data[at]
        at += 1
        if tag == _END:
            break
        if tag < 0x10:  # a new group
            groups.append((tag, {}))
            continue
        if at + 2 > len(data):
            raise IppError("an IPP response cut short")
        size = struct.unpack_from(">H", data, at)[0]
        key = data[at + 2:at + 2 + size].decode("utf-8", "replace")
        at += 2 + size
        if at + 2 > len(data):
            raise IppError("an IPP response cut short")
        size = struct.unpack_from(">H", data, at)[0]
        raw = data[at + 2:at + 2 + size]
        at += 2 + size
        if len(raw) != size or not groups:
            raise IppError("an IPP response cut short")
        name = key or name  # an empty name: another value of the attribute before
        if name in groups[-1][1]:
            continue  # the first value of each attribute is enough here
        if tag in (_INTEGER, _ENUM) and size == 4:
            groups[-1][1][name] = struct.unpack(">i", raw)[0]
        elif tag == _BOOLEAN and size == 1:
            groups[-1][1][name] = bool(raw[0])
        else:
            groups[-1][1][name] = raw.decode("utf-8", "replace")
    return status, groups


def _number(value: object, default: int = 0) -> int:
    return value if isinstance(value, int) else default
