"""Notices screenshot tools being started, by polling the process table (any OS, via psutil)."""

from __future__ import annotations

#: Process names (lower case, without ".exe") of common screen capture tools.
CAPTURE_TOOLS = frozenset({
    "gnome-screenshot", "spectacle", "flameshot", "scrot", "maim", "ksnip", "shutter",
    "xfce4-screenshooter", "import", "grim", "deepin-screenshot", "screengrab",
    "snippingtool", "screensketch", "screenclippinghost", "sharex", "greenshot", "lightshot", "snagit32", "snagiteditor",
    "screencapture", "screencaptureui", "screenshot",
})


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

    @staticmethod
    def _running() -> dict[int, tuple[str, float]]:
        import psutil  # here, not at import: the overlay's first paint does not wait for it

        found = {}
        for process in psutil.process_iter(["pid", "name", "create_time"]):
            name = tool_name(process.info.get("name") or "")
            if name is not None:
                found[process.info["pid"]] = (name, float(process.info.get("create_time") or 0.0))
        return found

    def poll(self) -> list[str]:
        running = self._running()
        started = [name for pid, (name, created) in running.items()
                   if pid not in self._seen and created >= self.since - 1.0]
        self._seen = set(running)
        return started
