"""Desktop notices through `notify-send` (libnotify), when the user's session bus is there."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess

log = logging.getLogger(__name__)


class NotifySend:
    def __init__(self) -> None:
        self.binary = shutil.which("notify-send")

    def notify(self, title: str, body: str, *, urgency: str = "normal") -> str | None:
        reason, binary = self._unavailable(), self.binary
        if reason is None and binary is not None:
            try:
                result = subprocess.run(
                    [binary, "--app-name=leakguard", f"--urgency={urgency}", title, body],
                    capture_output=True, timeout=5, check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                reason = f"notify-send failed: {exc}"
            else:
                reason = None if result.returncode == 0 else (
                    f"notify-send exited {result.returncode}: {result.stderr.decode(errors='replace')[:200]}"
                )
        if reason:
            log.warning("notice not shown (%s): %s: %s", reason, title, body)
        return reason

    def _unavailable(self) -> str | None:
        if self.binary is None:
            return "notify-send is not installed (Debian package libnotify-bin)"
        if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            return "no D-Bus session bus in this session"
        return None
