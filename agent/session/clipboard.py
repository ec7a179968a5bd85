"""The clipboard guard: on every copy, ask the service for a verdict and replace blocked content.

The X server tells us when the clipboard changes hands (XFixes), so nothing is polled. The copied
text goes to the local service over its socket and nowhere else. Files copied in a file manager
(a URI list on the clipboard, pasted into a chat or a browser as attachments) are sent as paths:
the service reads and judges the files themselves, after checking that this user may read them.
A copied image (a screenshot tool's, a browser's "copy image") is written to a private file that
the service reads the same way and judges by the text OCR finds in it; the file is removed once
the verdict is in. OCR takes 0.4-2.5 s: where the zone's policy can block a copy, the image is
held meanwhile (the clipboard offers `HOLD_NOTICE`, so a paste in that time gets no image) and
put back as it was when the verdict allows it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

from agent.ipc import IpcClient, IpcError
from agent.ports import Clipboard, Notifier

log = logging.getLogger("agent.session.clipboard")
KEEP_BLOCKED = 8
MAX_FILES = 32  # paths sent per copy; the service judges this many at most
HOLD_NOTICE = "[leakguard] checking the copied image; it will be back in a moment"


class ClipboardGuard:
    def __init__(self, clipboard: Clipboard, notifier: Notifier, connect: Callable[[], IpcClient | None]) -> None:
        self.clipboard, self.notifier, self.connect = clipboard, notifier, connect
        self.client: IpcClient | None = None
        self.ours: str | bytes | None = None
        self.blocked: OrderedDict[str, tuple[str | bytes, str | None]] = OrderedDict()  # event -> (content, target)
        self.lock = threading.Lock()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if self.clipboard.wait_for_change(0.5):
                started = time.monotonic()
                try:
                    self.check(started)
                except Exception:  # one odd clipboard must not end the guard
                    log.exception("clipboard check failed")
        self.clipboard.close()

    def check(self, started: float) -> dict[str, Any] | None:
        paths = self.clipboard.read_files()
        image = None if paths else self.clipboard.read_image()
        content: str | bytes | None = image or (uri_list(paths) if paths else self.clipboard.read_text())
        if not content or not content.strip() or content == self.ours:
            return None  # nothing, or what we put there ourselves (a notice, or a restored copy)
        owner = self.clipboard.owner()
        source = asdict(owner) if owner else None
        request: dict[str, Any] = {"op": "clipboard", "text": content, "source": source}
        target, spill = None, None
        if paths:
            request = {"op": "clipboard_files", "paths": paths[:MAX_FILES], "source": source}
            target = "text/uri-list"
        held = False
        if image:
            held = self.hold()
            spill = spilled(image)
            request = {"op": "clipboard_image", "path": str(spill), "source": source}
            target = "image/png"
        try:
            reply = self.ask(request)
        finally:
            if spill is not None:
                spill.unlink(missing_ok=True)
        if reply is None:
            log.error("clipboard change not judged: the agent service is not reachable")
            if held:
                self.put_back(content, target)
            return None
        if reply.get("action") == "block" and reply.get("replacement"):
            self.replace(content, reply, target)
        elif held:
            self.put_back(content, target)
        elif reply.get("action") == "warn":
            self.notifier.notify("leakguard: sensitive content copied", str(reply.get("explanation")))
        verdict_ms = (time.monotonic() - started) * 1000
        log.info("clipboard verdict %s", json.dumps({"action": reply.get("action"), "ms": round(verdict_ms, 2),
                                                      "event_id": reply.get("event_id")}))
        return reply

    def replace(self, content: str | bytes, reply: dict[str, Any], target: str | None = None) -> None:
        self.ours = str(reply["replacement"])
        self.clipboard.write_text(self.ours)
        with self.lock:
            self.blocked[str(reply["event_id"])] = (content, target)
            while len(self.blocked) > KEEP_BLOCKED:
                self.blocked.popitem(last=False)
        body = str(reply.get("explanation"))
        if reply.get("override_allowed"):
            body += f"\nTo override, run: leakguard agent justify {reply['event_id']} --reason '...'"
        self.notifier.notify("leakguard: copy blocked", body, urgency="critical")

    def hold(self) -> bool:
        """Offer `HOLD_NOTICE` instead of the copy while it is judged, when the zone's policy can
        block a copy (asked each time: the policy may have changed); whether it did."""
        reply = self.ask({"op": "clipboard_hold"})
        if not (reply and reply.get("hold")):
            return False
        self.ours = HOLD_NOTICE
        self.clipboard.write_text(HOLD_NOTICE)
        return True

    def put_back(self, content: str | bytes, target: str | None) -> None:
        self.ours = content
        self.clipboard.write_text(content, target)

    def restore(self, event_id: str) -> None:
        with self.lock:
            blocked = self.blocked.pop(event_id, None)
        if blocked is not None:
            self.put_back(*blocked)

    def ask(self, request: dict[str, Any]) -> dict[str, Any] | None:
        for _ in range(2):
            if self.client is None:
                self.client = self.connect()
                if self.client is None:
                    return None
            try:
                return self.client.request(request)
            except IpcError:
                self.client.close()
                self.client = None
        return None


def spilled(image: bytes) -> Path:
    """`image` in a new file that only this user may read (in $XDG_RUNTIME_DIR when there is one),
    for the service to read as this user."""
    folder = os.environ.get("XDG_RUNTIME_DIR")
    descriptor, name = tempfile.mkstemp(prefix="leakguard-clip-", suffix=".png",
                                        dir=folder if folder and os.path.isdir(folder) else None)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(image)
    return Path(name)


def uri_list(paths: list[str]) -> str:
    """`paths` as a text/uri-list (RFC 2483), the form the guard writes back after an override."""
    return "".join(f"file://{quote(path)}\r\n" for path in paths)
