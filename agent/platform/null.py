"""Null backends: the agent keeps running and says what it cannot see."""

from __future__ import annotations

import logging
import time

from agent.ports import DeviceIdentity, Mount

log = logging.getLogger(__name__)


class NullMountTable:
    def mounts(self) -> list[Mount]:
        return []

    def wait_for_change(self, timeout: float) -> bool:
        time.sleep(timeout)
        return False

    def identify(self, mount: Mount) -> DeviceIdentity:
        return DeviceIdentity()


class LogNotifier:
    def __init__(self, reason: str) -> None:
        self.reason = reason

    def notify(self, title: str, body: str, *, urgency: str = "normal") -> str | None:
        log.warning("notice not shown (%s): %s: %s", self.reason, title, body)
        return self.reason
