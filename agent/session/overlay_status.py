"""`overlay-status.json`: what each monitor shows right now (read by the agent, tests and the demo).

Shared by both overlay backends (the Qt one and the server-tiled X11 one); the format is fixed:
`{"pid", "updated", "platform", "screens": [{"name", "monitor", "x", "y", "width", "height",
"device_pixel_ratio", "mark" (16 hex digits or null), "visible_text"}]}`.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import time
from typing import Any

STATUS_FILE = "overlay-status.json"


def write_status(state_dir: pathlib.Path, platform: str, screens: list[dict[str, Any]]) -> None:
    status = {"pid": os.getpid(), "updated": time.time(), "platform": platform, "screens": screens}
    temp = state_dir / f".{STATUS_FILE}.{os.getpid()}.tmp"
    temp.write_text(json.dumps(status, indent=1), encoding="utf-8")
    os.replace(temp, state_dir / STATUS_FILE)


def local_ip() -> str:
    """The address this PC uses for outside traffic (a UDP connect sends no packet)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"
