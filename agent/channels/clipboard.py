"""The clipboard channel, service side: the session part sends what was copied, the service judges it.

Copies without findings and with an `allow` verdict are not recorded: the clipboard is busy and
most of it is nobody's business. The text itself never leaves this process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.channels.processes import redact_argv
from agent.events import new_event
from agent.judge import Context, judge_text
from agent.outbox import Outbox
from agent.policystore import PolicyStore
from agent.ports import Clock

MAX_CLIPBOARD_CHARS = 2_000_000
NOTICE = "[leakguard] This content was removed from the clipboard: {explanation}"


class ClipboardChannel:
    def __init__(self, outbox: Outbox, policies: PolicyStore, clock: Clock, user: Callable[[], str | None],
                 key: bytes | None = None) -> None:
        self.outbox, self.policies, self.clock, self.user, self.key = outbox, policies, clock, user, key

    def judge(self, text: str, source: dict[str, Any] | None, target: dict[str, Any] | None) -> dict[str, Any]:
        source = _application(source)
        app = (source or {}).get("name")
        judgement = judge_text(text[:MAX_CLIPBOARD_CHARS], Context(channel="clipboard", application=app,
                                                                   destination=(target or {}).get("name"),
                                                                   size=len(text)), self.policies.active.policy,
                               key=self.key)
        reply: dict[str, Any] = {"ok": True, "action": judgement.action, "explanation": judgement.tip,
                                 "override_allowed": judgement.override_allowed, "event_id": None}
        if judgement.action == "allow" and not judgement.detectors:
            return reply
        event = new_event(
            "clipboard", judgement.action, timestamp=self.clock.time(), severity=judgement.severity,
            detectors=judgement.detectors, user=self.user(), source_application=source,
            target_application=target, text_length=len(text), **judgement.details(),
        )
        self.outbox.record(event)
        reply["event_id"] = event["id"]
        if judgement.action == "block":
            reply["replacement"] = NOTICE.format(explanation=judgement.tip)
            if judgement.override_allowed:
                self.outbox.allow_override(event, {"clipboard": True})
        return reply


def _application(raw: Any) -> dict[str, Any] | None:
    """The copying program as the session part saw it, trimmed: no secrets from its command line."""
    if not isinstance(raw, dict):
        return None
    argv = raw.get("cmdline")
    cmdline = redact_argv(tuple(str(a) for a in argv[:16])) if isinstance(argv, list | tuple) else []
    return {"pid": raw.get("pid"), "name": raw.get("name"), "exe": raw.get("exe"), "user": raw.get("user"),
            "cmdline": cmdline}
