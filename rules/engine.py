"""`evaluate`: judge one content event against a zone policy. Pure, and it explains itself."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from rules.finding import Finding
from rules.model import ACTIONS, SEVERITIES, Condition, ListFilter, Policy, Rule, UsbDevice, UsbFilter

__all__ = ["ContentEvent", "Verdict", "evaluate", "EVENT_ACTION"]

#: Policy action -> action recorded on the event (CONTRACTS.md vocabulary).
EVENT_ACTION = {"allow": "allow", "audit": "audit", "warn": "warn", "block_with_override": "block",
                "block": "block", "quarantine": "quarantine"}


@dataclass(frozen=True, slots=True)
class ContentEvent:
    """What the agent saw: where content goes and what the scanners found in it."""

    channel: str
    findings: tuple[Finding, ...] = ()
    file_type: str | None = None
    size: int | None = None
    destination: str | None = None
    application: str | None = None
    usb_vendor: str | None = None
    usb_serial: str | None = None
    usb_product: str | None = None
    extraction_status: str = "ok"
    file_name: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision. `action` uses the event vocabulary; `block_with_override` becomes ``block``
    with `override_allowed` (the user may proceed after giving a justification)."""

    action: str
    severity: str
    rule_id: str | None
    explanation: str
    matched: tuple[tuple[str, int], ...]
    override_allowed: bool
    message: str | None = None
    rule_ids: tuple[str, ...] = ()


def evaluate(event: ContentEvent, policy: Policy) -> Verdict:
    """Apply every rule; the strictest matching one wins (ties: higher severity, then earlier)."""
    hits = [(rule, matched) for rule in policy.rules if (matched := _rule_matches(rule, event)) is not None]
    if not hits:
        return Verdict(EVENT_ACTION[policy.default_action], "info", None,
                       f"no rule of zone {policy.zone!r} matched; default action {policy.default_action}",
                       (), False)
    rule, matched = max(hits, key=lambda h: (ACTIONS.index(h[0].action), SEVERITIES.index(h[0].severity),
                                             -policy.rules.index(h[0])))
    return Verdict(EVENT_ACTION[rule.action], rule.severity, rule.id, _explain(rule, matched, event, policy),
                   matched, rule.action == "block_with_override", rule.message, tuple(r.id for r, _ in hits))


def _explain(rule: Rule, matched: tuple[tuple[str, int], ...], event: ContentEvent, policy: Policy) -> str:
    found = ", ".join(f"{count} x {detector}" for detector, count in matched)
    reasons = [f"rule {rule.id!r} ({policy.source}:{rule.line})" if rule.line else f"rule {rule.id!r}",
               f"channel {event.channel}"]
    if found:
        reasons.append(f"found {found}")
    if rule.when.extraction:
        reasons.append(f"content {event.extraction_status}")
    if event.destination:
        reasons.append(f"destination {event.destination}")
    return "; ".join(reasons) + f" -> {rule.action}"


def _rule_matches(rule: Rule, event: ContentEvent) -> tuple[tuple[str, int], ...] | None:
    if event.channel not in rule.channels:
        return None
    if not _passes(rule.destinations, _destination_keys(event.destination), _domain_match):
        return None
    if not _passes(rule.applications, [event.application.lower()] if event.application else [], fnmatchcase):
        return None
    if not _usb_passes(rule.usb, event):
        return None
    return _content_matches(rule.when, event)


def _passes(lists: ListFilter, values: list[str], match: object) -> bool:
    matcher = match if callable(match) else fnmatchcase
    if any(matcher(value, pattern) for value in values for pattern in lists.allow):
        return False
    return not lists.deny or any(matcher(value, pattern) for value in values for pattern in lists.deny)


def _destination_keys(destination: str | None) -> list[str]:
    if not destination:
        return []
    value = destination.strip().lower()
    host = urlsplit(value).hostname if "://" in value else None
    return [value] + ([host] if host else [])


def _domain_match(value: str, pattern: str) -> bool:
    return value == pattern or value.endswith("." + pattern) or fnmatchcase(value, pattern)


def _usb_passes(usb: UsbFilter, event: ContentEvent) -> bool:
    if not usb.allow and not usb.deny:
        return True
    if any(_usb_matches(entry, event) for entry in usb.allow):
        return False
    return not usb.deny or any(_usb_matches(entry, event) for entry in usb.deny)


def _usb_matches(entry: UsbDevice, event: ContentEvent) -> bool:
    if event.usb_vendor is None and event.usb_serial is None:
        return False
    pairs = ((entry.vendor, event.usb_vendor), (entry.product, event.usb_product), (entry.serial, event.usb_serial))
    return all(want is None or (have is not None and want.lower() == have.lower().removeprefix("0x"))
               for want, have in pairs)


def _content_matches(when: Condition, event: ContentEvent) -> tuple[tuple[str, int], ...] | None:
    if when.file_types and _file_type(event) not in when.file_types:
        return None
    if when.min_size is not None and (event.size is None or event.size < when.min_size):
        return None
    if when.max_size is not None and (event.size is None or event.size > when.max_size):
        return None
    if when.extraction and event.extraction_status not in when.extraction:
        return None
    if not when.detectors:
        return ()
    counts = Counter(f.detector for f in event.findings
                     if f.confidence >= when.min_confidence and _selected(f.detector, when.detectors))
    if sum(counts.values()) < when.min_count:
        return None
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _selected(detector: str, wanted: tuple[str, ...]) -> bool:
    return detector in wanted or detector.split(":", 1)[0] in wanted


def _file_type(event: ContentEvent) -> str | None:
    if event.file_type:
        return event.file_type.lower().lstrip(".")
    if event.file_name and "." in event.file_name:
        return event.file_name.rsplit(".", 1)[-1].lower()
    return None
