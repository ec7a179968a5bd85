"""Notices screenshot tools being started, by polling the process table.

On Linux only processes new since the last poll are looked at (one `/proc` listing per poll, then
`/proc/PID/comm` of the new ones), so a poll costs about a tenth of a millisecond; elsewhere psutil.
"""

from __future__ import annotations

import os
import pathlib

#: Process names (lower case, without ".exe") of common screen capture tools.
CAPTURE_TOOLS = frozenset({
    "gnome-screenshot", "spectacle", "flameshot", "scrot", "maim", "ksnip", "shutter",
    "xfce4-screenshooter", "import", "grim", "deepin-screenshot", "screengrab",
    "snippingtool", "screensketch", "screenclippinghost", "sharex", "greenshot", "lightshot", "snagit32", "snagiteditor",
    "screencapture", "screencaptureui", "screenshot",
})
COMM_LENGTH = 15  # Linux keeps the first 15 bytes of a process name in /proc/PID/comm
_BY_COMM = {name[:COMM_LENGTH]: name for name in CAPTURE_TOOLS}
PROC = pathlib.Path("/proc")


def tool_name(process_name: str) -> str | None:
    name = process_name.lower().removesuffix(".exe")
    return name if name in CAPTURE_TOOLS else None


class CaptureToolWatch:
    """Call `poll()` now and then; it returns the capture tools started since `since` (unix time)
    and not reported before. Time-based rather than a first snapshot, so a tool started while the
    overlay itself was still starting is reported too."""

    def __init__(self, since: float) -> None:
        self.since = since
        self._seen: set[int] = set()
        self._proc = PROC.is_dir()
        self._boot = _boot_time() if self._proc else 0.0

    def poll(self) -> list[str]:
        if not self._proc:
            return self._poll_psutil()
        pids = {int(entry) for entry in os.listdir(PROC) if entry.isdigit()}
        started = []
        for pid in pids - self._seen:
            name, created = self._inspect(pid)
            if name is not None and created >= self.since - 1.0:
                started.append(name)
        self._seen = pids
        return started

    def _inspect(self, pid: int) -> tuple[str | None, float]:
        try:
            comm = (PROC / str(pid) / "comm").read_text(encoding="utf-8", errors="replace").strip().lower()
            name = _BY_COMM.get(comm) if len(comm) == COMM_LENGTH else tool_name(comm)
            if name is None:
                return None, 0.0
            stat = (PROC / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
            ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, after the "(comm)" field
            return name, self._boot + ticks / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):  # gone meanwhile
            return None, 0.0

    def _poll_psutil(self) -> list[str]:
        import psutil  # here, not at import: the overlay's first paint does not wait for it

        running: dict[int, tuple[str, float]] = {}
        for process in psutil.process_iter(["pid", "name", "create_time"]):
            name = tool_name(process.info.get("name") or "")
            if name is not None:
                running[process.info["pid"]] = (name, float(process.info.get("create_time") or 0.0))
        started = [name for pid, (name, created) in running.items()
                   if pid not in self._seen and created >= self.since - 1.0]
        self._seen = set(running)
        return started


def _boot_time() -> float:
    for line in (PROC / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return 0.0
