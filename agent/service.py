"""The agent service: wires the spool, the console sync, the channels, the local socket and the
supervisor together, and records its own start and stop so that silencing it leaves a trace."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import threading
import time
from typing import Any

import psutil

from agent.channels.clipboard import ClipboardChannel
from agent.channels.files import FileChannel
from agent.channels.mounts import MountWatcher
from agent.channels.printing import PrintChannel
from agent.channels.processes import ProcessScanner
from agent.client import ConsoleClient
from agent.config import AgentConfig
from agent.enrollment import Credentials, host_facts, load_credentials
from agent.events import agent_event, check_events, new_event
from agent.ipc import Connection, IpcServer, Peer
from agent.outbox import Outbox
from agent.overlayfiles import overlay_settings, refresh_marks, write_overlay_settings
from agent.platform import (
    Backends,
    select_backends,
    select_exec_events,
    select_open_guard,
    select_writer_log,
)
from agent.policystore import PolicyStore
from agent.policysync import PolicyVerifyError, decode_key
from agent.ports import SystemClock
from agent.quarantine import Quarantine
from agent.spool import Spool
from agent.state import StateDir, load_or_create_key
from agent.supervisor import Supervisor, session_children
from agent.sync import Syncer

log = logging.getLogger(__name__)


class Service:
    def __init__(self, state: StateDir, config: AgentConfig, *,
                 backends: Backends | None = None) -> None:
        self.state, self.config, self.clock = state, config, SystemClock()
        self.backends = backends or select_backends()
        self.creds: Credentials | None = load_credentials(state)
        self.stop_event, self.wake = threading.Event(), threading.Event()
        self.spool = Spool(state.spool, max_events=config.spool.max_events)
        self.outbox = Outbox(self.spool, self.wake)
        key = decode_key(self.creds.policy_key) if self.creds and self.creds.policy_key else None
        self.policies = PolicyStore(state, key, fallback_zone=config.policy.fallback_zone)
        self.quarantine = Quarantine(state.quarantine, state.quarantine_key)
        self.session_users: dict[int, str] = {}
        self.started = time.time()
        self.key = load_or_create_key(state.digest_key)
        self.files = FileChannel(self.outbox, self.policies, self.quarantine, clock=self.clock, user=self.user,
                                 max_bytes=config.channels.max_file_bytes, key=self.key, ocr=config.channels.ocr)
        self.clipboard = ClipboardChannel(self.outbox, self.policies, self.clock, self.user, self.key,
                                          max_bytes=config.channels.max_file_bytes, ocr=config.channels.ocr)
        channels = config.channels
        self.printing = PrintChannel(self.outbox, self.policies, self.quarantine, clock=self.clock, user=self.user,
                                     server=channels.print_server, spool=channels.print_spool,
                                     hold=channels.print_hold, poll_seconds=channels.print_poll_seconds,
                                     override_seconds=channels.print_override_seconds,
                                     max_bytes=channels.max_file_bytes, key=self.key, ocr=channels.ocr)
        self.syncer: Syncer | None = None
        self.supervisor: Supervisor | None = None

    def user(self) -> str | None:
        """The logged-in user: the newest session part's user, else the first login session."""
        if self.session_users:
            return list(self.session_users.values())[-1]
        users = psutil.users()
        return users[0].name if users else None

    def heartbeat_body(self) -> dict[str, Any]:
        counters = self.spool.counters()
        return {**host_facts(), "user": self.user(), "policy_version": self.policies.active.version, "users": sorted({u.name for u in psutil.users()}),
                "policy": self.policies.describe(), "uptime_seconds": round(time.time() - self.started),
                "spool": {"depth": self.spool.depth(),
                          "dropped": {k[8:]: v for k, v in counters.items() if k.startswith("dropped.")}},
                "session_parts": len(self.session_users)}

    def write_overlay(self) -> None:
        watermark = getattr(self.policies.active.policy, "watermark", None)
        settings = overlay_settings(watermark, user=self.user(), host=socket.gethostname(),
                                    zone=self.policies.active.zone, device=self.creds.device if self.creds else None)
        write_overlay_settings(self.state, settings)

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._record_start()
        refused = self.policies.load_persisted()
        if refused:
            self.outbox.record(agent_event("policy_rejected", timestamp=self.clock.time(), severity="high",
                                           error=f"persisted policy: {refused}", kept=self.policies.describe()))
        self.write_overlay()
        self._attribute_writers()
        self.files.start()
        watcher = MountWatcher(self.backends.mounts, self.config.channels, self.outbox, self.clock,
                               self.files.set_roots, self.user)
        watcher.refresh(report=False)  # watched before the service says it is up
        self._thread("mounts", lambda: watcher.run(self.stop_event))
        self._thread("warm-up", self._warm_up)
        if self.config.channels.printing:
            self._thread("print", lambda: self.printing.run(self.stop_event))
        self._start_scanner()
        self._start_sync()
        self.ipc = IpcServer(self.state.socket, self.dispatch)  # last: answering means watching
        self._thread("ipc", self.ipc.serve_forever)
        self._start_supervisor()

    def _warm_up(self) -> None:
        """Load the rules engine and compile the policy's scanner now, and the extraction modules
        of the formats read in this process (an OOXML document), not on the first file."""
        from agent.judge import Context, judge_bytes, judge_text

        try:
            judge_text("warm-up 4111 1111 1111 1111", Context(channel="clipboard"), self.policies.active.policy,
                       key=self.key)
            judge_bytes(_tiny_docx(), "warm-up.docx", Context(channel="removable_media"), self.policies.active.policy,
                        key=self.key, ocr=False)
        except Exception:  # a broken policy shows up on first use, with the channel's context
            log.exception("warming up the rules engine failed")

    def _thread(self, name: str, target: Any) -> None:
        threading.Thread(target=target, name=name, daemon=True).start()

    def _start_scanner(self) -> None:
        channels = self.config.channels
        if channels.cli_uploads or channels.screen_capture:
            scanner = ProcessScanner(self.backends.processes, self.outbox, self.policies, self.clock,
                                     protected=channels.protected_paths, max_bytes=channels.max_file_bytes,
                                     uploads=channels.cli_uploads, captures=channels.screen_capture, key=self.key,
                                     ocr=channels.ocr)
            self.files.name_of = scanner.name_of
            self._guard_opens(scanner, channels.protected_paths)
            execs, reason = select_exec_events()
            if execs is None:
                log.warning("scanning the process table every %.1f s: %s", channels.process_scan_seconds, reason)
            self._thread("processes", lambda: scanner.run(self.stop_event, channels.process_scan_seconds, execs))

    def _attribute_writers(self) -> None:
        writers, reason = select_writer_log()
        if writers is None:
            self.files.writers_reason = f"the writing process is not known here: {reason}"
            return
        self.files.writers = writers
        self._thread("writers", lambda: writers.serve(self.stop_event))

    def _guard_opens(self, scanner: ProcessScanner, protected: tuple[str, ...]) -> None:
        if not protected or not self.config.channels.cli_uploads:
            return
        guard, reason = select_open_guard()
        if guard is None:
            log.warning("protected files are not guarded at open (%s); uploads are stopped by scanning", reason)
            return
        log.info("guarding opens in %d protected directories", guard.protect(protected))
        scanner.guarded = True
        self._thread("open-guard", lambda: guard.serve(scanner.on_open, self.stop_event))

    def _start_sync(self) -> None:
        if self.creds is None:
            log.warning("not enrolled: events stay in the spool until `leakguard agent enroll`")
            return
        client = ConsoleClient(self.creds.console_url, self.creds.agent_token,
                               timeout=self.config.sync.request_timeout_seconds)
        self.syncer = Syncer(client, self.spool, self.outbox, self.policies, self.config.sync, self.clock,
                             heartbeat_body=self.heartbeat_body, on_policy=self.write_overlay,
                             marks=lambda c: refresh_marks(c, self.state, self.clock.time()))
        syncer = self.syncer
        self._thread("sync", lambda: syncer.run(self.stop_event, self.wake))

    def _start_supervisor(self) -> None:
        session = self.config.session
        children, notes = session_children(str(self.state.root), overlay=session.overlay,
                                           session=session.enabled and (session.clipboard or session.notifications))
        for note in notes:
            log.warning("%s", note)
        if children:
            self.supervisor = Supervisor(children, self.outbox, self.clock, delay=session.restart_delay_seconds,
                                         log_path=str(self.state.root / "session.log"))
            supervisor = self.supervisor
            self._thread("supervisor", lambda: supervisor.run(self.stop_event))

    def _record_start(self) -> None:
        unclean = self.state.run_marker.exists()
        self.outbox.record(agent_event("agent_started", timestamp=self.clock.time(),
                                       severity="high" if unclean else "info",
                                       previous_stop="unclean (crash, kill or power loss)" if unclean else "clean",
                                       pid=os.getpid()))
        self.state.run_marker.write_text(str(os.getpid()))

    def shutdown(self, reason: str) -> None:
        self.outbox.record(agent_event("agent_stopping", timestamp=self.clock.time(), severity="high", reason=reason))
        self.stop_event.set()
        self.wake.set()
        if self.supervisor is not None:
            self.supervisor.stop_all()
        self.files.stop()
        self.printing.restore()  # the printers' own default hold back, so printing goes on without the agent
        if self.syncer is not None:
            try:  # one last delivery attempt so the console hears about the stop
                self.syncer.deliver()
            except Exception as exc:
                log.warning("final delivery failed (%s); the spool keeps the events", exc)
        self.ipc.shutdown()
        self.state.socket.unlink(missing_ok=True)
        self.state.run_marker.unlink(missing_ok=True)
        self.spool.close()

    # --- local socket ----------------------------------------------------------------------------
    def dispatch(self, request: dict[str, Any], peer: Peer, connection: Connection) -> dict[str, Any] | None:
        op = request["op"]
        if op == "hello":
            self.session_users[peer.pid] = str(request.get("user") or peer.user)
            self.outbox.subscribe(connection)
            self.write_overlay()
            return {"ok": True}
        if op == "disconnected":
            self._session_gone(peer)
            return None
        if op == "clipboard":
            return self.clipboard.judge(str(request.get("text", "")), request.get("source"), request.get("target"))
        if op == "clipboard_files":
            return self.clipboard.judge_files(request.get("paths"), request.get("source"), peer.uid)
        if op == "clipboard_image":
            return self.clipboard.judge_image(request.get("path"), request.get("source"), peer.uid)
        if op == "clipboard_hold":
            return {"ok": True, "hold": self.clipboard.may_block()}
        if op == "status":
            return {"ok": True, **self.status()}
        if op == "justify":
            return self.justify(str(request.get("event_id")), str(request.get("reason", "")), peer)
        if op == "events":
            return self.accept_events(request.get("events"), peer)
        return {"ok": False, "error": f"unknown or forbidden op {op!r}"}

    def accept_events(self, events: Any, peer: Peer) -> dict[str, Any]:
        """Events from session parts (the overlay's screenshot signals) and the test injector."""
        problem = check_events(events, admin=peer.is_admin)
        if problem:
            return {"ok": False, "error": problem}
        if not peer.is_admin:
            events = [{**event, "user": peer.user} for event in events]
        added = self.spool.add(events)
        self.wake.set()
        return {"ok": True, "added": added}

    def _session_gone(self, peer: Peer) -> None:
        user = self.session_users.pop(peer.pid, None)
        if user is not None and not self.stop_event.is_set():
            self.outbox.record(agent_event("session_part_disconnected", timestamp=self.clock.time(),
                                           severity="medium", pid=peer.pid, session_user=user))

    def justify(self, event_id: str, reason: str, peer: Peer) -> dict[str, Any]:
        if len(reason.strip()) < 5:
            return {"ok": False, "error": "give a justification of at least a few words"}
        pending = self.outbox.take_override(event_id)
        if pending is None:
            return {"ok": False, "error": f"event {event_id} is unknown or does not allow an override"}
        original, undo, restored = pending["event"], pending["undo"], None
        released: dict[str, Any] = {}
        if "quarantine_id" in undo:
            self.files.exempt[original["file"]["path"]] = original["file"]["sha256"]
            restored = str(self.quarantine.release(undo["quarantine_id"]))
        if "print_job" in undo:
            error = self.printing.release_overridden(undo["print_job"], event_id)
            if error is not None:
                return {"ok": False, "error": error}
            released["released_job"] = undo["print_job"]
        event = new_event(original["channel"], "allow", timestamp=self.clock.time(), severity=original["severity"],
                          detectors=[(d["id"], d["count"]) for d in original["detectors"]], user=peer.user,
                          override={"of_event": event_id, "justification": reason.strip()[:2000],
                                    "restored_path": restored, **released}, file=original.get("file"),
                          **({"destination": original["destination"]} if "destination" in original else {}))
        self.outbox.record(event)
        if undo.get("clipboard"):
            self.outbox.push({"op": "restore_clipboard", "event_id": event_id})
        return {"ok": True, "event_id": event["id"], "restored_path": restored, **released}

    def status(self) -> dict[str, Any]:
        syncer = self.syncer
        return {
            "pid": os.getpid(), "enrolled": self.creds is not None,
            "console": self.creds.console_url if self.creds else None,
            "agent_id": self.creds.agent_id if self.creds else None, "user": self.user(),
            "policy": self.policies.describe(), "spool_depth": self.spool.depth(), "counters": self.spool.counters(),
            "last_error": syncer.last_error if syncer else "not enrolled",
            "last_success": syncer.last_success if syncer else None,
            "watched": [{"path": r.path, "channel": r.channel} for r in self.files.watches],
            "session_parts": self.supervisor.pids() if self.supervisor else [],
            "sessions_connected": len(self.session_users),
        }


def hold_lock(state: StateDir) -> int | None:
    """One service per state directory: an exclusive lock the kernel drops if the service dies."""
    fd = os.open(state.root / "agent.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def run_service(state: StateDir, config: AgentConfig) -> int:
    if hold_lock(state) is None:
        log.error("another agent is already running with the state directory %s", state.root)
        return 2
    try:
        service = Service(state, config)
    except PolicyVerifyError as exc:
        log.error("cannot start: %s", exc)
        return 2
    stopping: list[str] = []

    def on_signal(signum: int, _frame: object) -> None:
        stopping.append(signal.Signals(signum).name)
        service.stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    service.start()
    log.info("agent running (state %s, pid %d)", state.root, os.getpid())
    while not service.stop_event.wait(1.0):
        pass
    service.shutdown(stopping[0] if stopping else "stopped")
    return 0


def _tiny_docx() -> bytes:
    """A one-paragraph Word document, for the warm-up."""
    import io
    import zipfile

    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as docx:
        docx.writestr("word/document.xml", f'<w:document xmlns:w="{ns}"><w:body><w:p><w:r><w:t>warm-up</w:t>'
                                           "</w:r></w:p></w:body></w:document>")
    return out.getvalue()
