"""Policy dataclasses back to plain data for YAML (defaults left out, so dumps stay short)."""

from __future__ import annotations

from typing import Any

from rules.checksums import NAMED_CHECKS
from rules.detector import Detector
from rules.keywords import KeywordList
from rules.model import CHANNELS, Condition, ListFilter, Policy, Rule, UsbDevice, UsbFilter


def _filter(lists: ListFilter) -> dict[str, Any]:
    return {k: list(v) for k, v in (("allow", lists.allow), ("deny", lists.deny)) if v}


def _usb(device: UsbDevice) -> dict[str, str]:
    return {k: v for k, v in (("vendor", device.vendor), ("product", device.product), ("serial", device.serial)) if v}


def _usb_filter(usb: UsbFilter) -> dict[str, Any]:
    return {k: [_usb(d) for d in v] for k, v in (("allow", usb.allow), ("deny", usb.deny)) if v}


def _condition(when: Condition) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if when.detectors:
        data["detectors"] = list(when.detectors)
    if when.min_confidence:
        data["min_confidence"] = when.min_confidence
    if when.min_count != 1:
        data["min_count"] = when.min_count
    for key in ("file_types", "extraction"):
        if getattr(when, key):
            data[key] = list(getattr(when, key))
    for key in ("min_size", "max_size"):
        if getattr(when, key) is not None:
            data[key] = getattr(when, key)
    return data


def _rule(rule: Rule) -> dict[str, Any]:
    data: dict[str, Any] = {"id": rule.id}
    if rule.description:
        data["description"] = rule.description
    if rule.channels != CHANNELS:
        data["channels"] = list(rule.channels)
    optional = (("when", _condition(rule.when)), ("destinations", _filter(rule.destinations)),
                ("applications", _filter(rule.applications)), ("usb", _usb_filter(rule.usb)))
    data.update({k: v for k, v in optional if v})
    data["action"] = rule.action
    data["severity"] = rule.severity
    if rule.message:
        data["message"] = rule.message
    return data


def _detector(detector: Detector) -> dict[str, Any]:
    data: dict[str, Any] = {"id": detector.id, "pattern": detector.pattern, "score": detector.score}
    if detector.description:
        data["description"] = detector.description
    if detector.category != "custom":
        data["category"] = detector.category
    for key in ("context", "negative"):
        if getattr(detector, key):
            data[key] = list(getattr(detector, key))
    if detector.needs_context:
        data["needs_context"] = True
    check = next((name for name, (validate, _) in NAMED_CHECKS.items() if validate is detector.validate), None)
    if check:
        data["checksum"] = check
    if detector.column_names:
        data["column_names"] = list(detector.column_names)
    return data


def _keywords(lst: KeywordList) -> dict[str, Any]:
    return {"id": lst.id, "words": list(lst.words), "case_sensitive": lst.case_sensitive, "score": lst.score}


def policy_to_data(policy: Policy) -> dict[str, Any]:
    data: dict[str, Any] = {"version": policy.version, "zone": policy.zone}
    if policy.name:
        data["name"] = policy.name
    if policy.description:
        data["description"] = policy.description
    mark = policy.watermark
    data["watermark"] = {"invisible": mark.invisible, "visible_template": mark.visible_template,
                         "visible_opacity": mark.visible_opacity}
    data["default_action"] = policy.default_action
    if policy.detectors:
        data["detectors"] = [_detector(d) for d in policy.detectors]
    if policy.keywords:
        data["keywords"] = [_keywords(k) for k in policy.keywords]
    data["rules"] = [_rule(r) for r in policy.rules]
    return data
