"""`leakguard agent status`: ask the running service, or read its state directory when it is down."""

from __future__ import annotations

import sqlite3
from typing import Any

import psutil

from agent.enrollment import load_credentials
from agent.ipc import IpcClient, IpcError
from agent.state import StateDir, read_json


def collect_status(state: StateDir) -> dict[str, Any]:
    try:
        client = IpcClient(state.socket, timeout=3)
        live = client.request({"op": "status"})
        client.close()
        return {"running": True, "state_dir": str(state.root), **live}
    except (IpcError, ValueError):
        pass
    creds = load_credentials(state)
    saved = read_json(state.policy) or {}
    marker = state.run_marker.read_text().strip() if state.run_marker.exists() else None
    return {
        "running": False, "state_dir": str(state.root), "enrolled": creds is not None,
        "console": creds.console_url if creds else None, "agent_id": creds.agent_id if creds else None,
        "policy": {"source": "persisted" if saved else "fallback", "etag": saved.get("etag"),
                   "zone": (saved.get("body") or {}).get("zone"), "version": (saved.get("body") or {}).get("version")},
        "spool_depth": _spool_depth(state),
        "last_stop": "unclean" if marker and not _alive(marker) else "clean",
    }


def _alive(pid_text: str) -> bool:
    return pid_text.isdigit() and psutil.pid_exists(int(pid_text))


def _spool_depth(state: StateDir) -> int | None:
    if not state.spool.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{state.spool}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM events").fetchone()[0])
    except sqlite3.Error:
        return None


def format_status(status: dict[str, Any]) -> str:
    policy = status.get("policy") or {}
    lines = [
        "agent:    " + (f"running (pid {status.get('pid')})" if status["running"] else "not running"),
        f"state:    {status['state_dir']}",
        f"enrolled: {status.get('agent_id') or 'no'}" + (f" at {status['console']}" if status.get("console") else ""),
        f"policy:   {policy.get('source', '-')} zone={policy.get('zone')} version={policy.get('version')}",
        f"spool:    {status.get('spool_depth')} event(s) waiting",
    ]
    if status["running"]:
        lines.append(f"console:  {status.get('last_error') or 'ok'}")
        lines += [f"watching: {w['channel']:16} {w['path']}" for w in status.get("watched", [])]
    elif status.get("last_stop") == "unclean":
        lines.append("last stop: unclean (crash or kill)")
    return "\n".join(lines)
