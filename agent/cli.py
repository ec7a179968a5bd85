"""`leakguard agent ...`: enroll, run, status, quarantine, justify (heavy imports inside handlers)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="agent_command", metavar="ACTION", required=True)
    enroll = sub.add_parser("enroll", help="enroll this PC into a console with a token")
    enroll.add_argument("--console", required=True, metavar="URL")
    enroll.add_argument("--token", required=True)
    enroll.add_argument("--state-dir", metavar="DIR")
    enroll.set_defaults(handler=_enroll)
    run = sub.add_parser("run", help="run the agent service (watchers, spool, session parts)")
    run.add_argument("--state-dir", metavar="DIR")
    run.add_argument("--config", metavar="FILE", help="TOML configuration (see docs/agent.md)")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    run.set_defaults(handler=_run)
    status = sub.add_parser("status", help="show enrollment, policy, spool and channel state")
    status.add_argument("--state-dir", metavar="DIR")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=_status)
    _register_quarantine(sub)
    justify = sub.add_parser("justify", help="override a blocked action that allows it, with a justification")
    justify.add_argument("event_id")
    justify.add_argument("--reason", required=True)
    justify.add_argument("--state-dir", metavar="DIR")
    justify.set_defaults(handler=_justify)
    inject = sub.add_parser("inject-events")  # test-only: no help, so not listed
    inject.add_argument("--state-dir", metavar="DIR")
    inject.add_argument("--count", type=int, required=True)
    inject.add_argument("--batch", type=int, default=100)
    inject.add_argument("--prefix", default="")
    inject.add_argument("--pause", type=float, default=0.0, help="seconds between batches")
    inject.set_defaults(handler=_inject)


def _register_quarantine(sub: Any) -> None:
    quarantine = sub.add_parser("quarantine", help="list or release quarantined files (admin)")
    qsub = quarantine.add_subparsers(dest="quarantine_command", metavar="ACTION", required=True)
    listing = qsub.add_parser("list", help="list quarantined files")
    listing.add_argument("--state-dir", metavar="DIR")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_quarantine_list)
    release = qsub.add_parser("release", help="decrypt a quarantined file back to where it was (or --to)")
    release.add_argument("item_id")
    release.add_argument("--to", metavar="PATH")
    release.add_argument("--state-dir", metavar="DIR")
    release.set_defaults(handler=_quarantine_release)


def _fail(message: str, code: int = 1) -> int:
    print(f"leakguard agent: {message}", file=sys.stderr)
    return code


def _enroll(args: argparse.Namespace) -> int:
    from agent.client import ConsoleError
    from agent.enrollment import enroll_agent
    from agent.state import StateDir

    state = StateDir.open(args.state_dir)
    try:
        creds = enroll_agent(state, args.console, args.token)
    except ConsoleError as exc:
        return _fail(str(exc))
    except (KeyError, ValueError) as exc:
        return _fail(f"the console's enrollment answer is not understood: {exc}")
    print(f"enrolled as agent {creds.agent_id} (state in {state.root})")
    if creds.policy_key is None:
        print("warning: the console gave no policy key; policies cannot be verified", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> int:
    import logging

    from agent.config import ConfigError, load_config
    from agent.service import run_service
    from agent.state import StateDir

    logging.basicConfig(level=args.log_level, format="%(asctime)s agent %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return _fail(str(exc), 2)
    return run_service(StateDir.open(args.state_dir), config)


def _status(args: argparse.Namespace) -> int:
    from agent.state import StateDir
    from agent.status import collect_status, format_status

    status = collect_status(StateDir.open(args.state_dir))
    print(json.dumps(status, indent=1, sort_keys=True) if args.json else format_status(status))
    return 0 if status.get("running") else 3


def _quarantine_list(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from agent.quarantine import Quarantine
    from agent.state import StateDir

    state = StateDir.open(args.state_dir)
    items = Quarantine(state.quarantine, state.quarantine_key).items()
    if args.json:
        print(json.dumps([asdict(item) for item in items], indent=1))
    for item in [] if args.json else items:
        print(f"{item.id}  {item.size:>10}  {item.sha256[:16]}  {item.original_path}")
    return 0


def _quarantine_release(args: argparse.Namespace) -> int:
    import pathlib
    import time

    from agent.events import agent_event
    from agent.quarantine import Quarantine, QuarantineError
    from agent.spool import Spool
    from agent.state import StateDir

    state = StateDir.open(args.state_dir)
    try:
        target = Quarantine(state.quarantine, state.quarantine_key).release(
            args.item_id, to=pathlib.Path(args.to) if args.to else None)
    except (QuarantineError, OSError) as exc:
        return _fail(str(exc))
    spool = Spool(state.spool)
    spool.add([agent_event("quarantine_released", timestamp=time.time(), severity="medium",
                           item_id=args.item_id, restored_path=str(target))])
    spool.close()
    print(f"released to {target}")
    return 0


def _justify(args: argparse.Namespace) -> int:
    from agent.ipc import IpcClient, IpcError
    from agent.state import StateDir

    try:
        client = IpcClient(StateDir.open(args.state_dir).socket)
        reply = client.request({"op": "justify", "event_id": args.event_id, "reason": args.reason})
    except IpcError as exc:
        return _fail(str(exc))
    if not reply.get("ok"):
        return _fail(str(reply.get("error")))
    print(f"override recorded as event {reply['event_id']}"
          + (f"; file restored to {reply['restored_path']}" if reply.get("restored_path") else "")
          + (f"; print job {reply['released_job']} released" if reply.get("released_job") else ""))
    return 0


def _inject(args: argparse.Namespace) -> int:
    """Test and benchmark aid: send synthetic events through the service's socket into its spool."""
    from agent.injector import inject_events
    from agent.ipc import IpcError
    from agent.state import StateDir

    try:
        sent = inject_events(StateDir.open(args.state_dir), args.count, batch=args.batch, prefix=args.prefix,
                             pause=args.pause)
    except IpcError as exc:
        return _fail(str(exc))
    print(f"injected {sent}")
    return 0
