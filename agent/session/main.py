"""The session part: connects to the service, guards the clipboard, shows the service's notices."""

from __future__ import annotations

import argparse
import getpass
import logging
import signal
import threading
import time
from collections.abc import Sequence
from typing import Any

from agent.ipc import IpcClient, IpcError
from agent.platform import select_clipboard, select_notifier
from agent.ports import Notifier
from agent.session.clipboard import ClipboardGuard
from agent.state import StateDir

log = logging.getLogger("agent.session")
CONNECT_SECONDS = 30.0


def connect(state: StateDir, stop: threading.Event, *, patience: float = CONNECT_SECONDS) -> IpcClient | None:
    deadline = time.monotonic() + patience
    while not stop.is_set():
        try:
            return IpcClient(state.socket)
        except IpcError:
            if time.monotonic() > deadline:
                return None
            stop.wait(0.2)
    return None


def listen(state: StateDir, notifier: Notifier, guard: ClipboardGuard | None, stop: threading.Event) -> None:
    """Keep a subscribed connection open and act on what the service pushes."""
    while not stop.is_set():
        client = connect(state, stop, patience=float("inf"))
        if client is None:
            return
        try:
            client.request({"op": "hello", "user": getpass.getuser()})
            client.settimeout(None)
            while not stop.is_set():
                handle_push(client.receive(), notifier, guard)
        except (IpcError, OSError, ValueError) as exc:
            log.warning("service connection lost (%s); reconnecting", exc)
        finally:
            client.close()
        stop.wait(0.5)


def handle_push(message: dict[str, Any], notifier: Notifier, guard: ClipboardGuard | None) -> None:
    if message.get("op") == "notice":
        body = str(message.get("body", ""))
        if message.get("override_allowed") and message.get("event_id"):
            body += f"\nTo override, run: leakguard agent justify {message['event_id']} --reason '...'"
        notifier.notify(str(message.get("title", "leakguard")), body, urgency="critical")
    elif message.get("op") == "restore_clipboard" and guard is not None:
        guard.restore(str(message.get("event_id")))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.session")
    parser.add_argument("--state-dir", required=False)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s session %(levelname)s %(message)s")
    state = StateDir.open(args.state_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    notifier = select_notifier()
    clipboard, reason = select_clipboard()
    if clipboard is None:
        log.warning("clipboard not watched: %s", reason)
    guard = ClipboardGuard(clipboard, notifier, lambda: connect(state, stop, patience=2.0)) if clipboard else None
    threading.Thread(target=listen, args=(state, notifier, guard, stop), daemon=True).start()
    if guard is not None:
        guard.run(stop)
    else:
        stop.wait()
    return 0
