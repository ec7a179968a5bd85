"""Process starts from the kernel's process-events connector (netlink), so nothing is polled.

Needs CAP_NET_ADMIN (the service runs as root) and the initial network namespace; where it is
refused the agent falls back to scanning the process table.
"""

from __future__ import annotations

import os
import select
import socket
import struct

NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
PROC_CN_MCAST_LISTEN = 1
PROC_EVENT_EXEC = 0x00000002
NLMSG_DONE = 3
_NLMSG = struct.Struct("=IHHII")
_CN_MSG = struct.Struct("=IIIIHH")
_EVENT = struct.Struct("=IIQ")
_EXEC = struct.Struct("=II")


class ExecEventsUnavailable(OSError):
    """The process-events connector cannot be used here."""


def parse_exec_pids(data: bytes) -> list[int]:
    """Process ids of the exec events in one netlink datagram (other events are ignored)."""
    pids, offset = [], 0
    while offset + _NLMSG.size <= len(data):
        length = _NLMSG.unpack_from(data, offset)[0]
        if length < _NLMSG.size:
            break
        event_at = offset + _NLMSG.size + _CN_MSG.size
        if event_at + _EVENT.size + _EXEC.size <= offset + length:
            what = _EVENT.unpack_from(data, event_at)[0]
            if what == PROC_EVENT_EXEC:
                pids.append(_EXEC.unpack_from(data, event_at + _EVENT.size)[1])  # the thread group id
        offset += (length + 3) & ~3
    return pids


class LinuxExecEvents:
    def __init__(self) -> None:
        try:
            self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
            self._sock.bind((0, CN_IDX_PROC))
            op = struct.pack("=I", PROC_CN_MCAST_LISTEN)
            message = _CN_MSG.pack(CN_IDX_PROC, 1, 0, 0, len(op), 0) + op
            self._sock.send(_NLMSG.pack(_NLMSG.size + len(message), NLMSG_DONE, 0, 0, os.getpid()) + message)
        except OSError as exc:
            raise ExecEventsUnavailable(f"process-events connector unavailable: {exc}") from exc
        self.overflowed = False

    def wait(self, timeout: float) -> list[int]:
        """Pids that exec'd since the last call; sets `overflowed` when the kernel dropped some."""
        ready, _, _ = select.select([self._sock], [], [], timeout)
        pids: list[int] = []
        while ready:
            try:
                pids += parse_exec_pids(self._sock.recv(65536, socket.MSG_DONTWAIT))
            except BlockingIOError:
                break
            except OSError:  # ENOBUFS: events were lost, the caller rescans the process table
                self.overflowed = True
                break
        return pids

    def close(self) -> None:
        self._sock.close()
