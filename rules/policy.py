"""Zone policies as code: load (validating everything once), dump, and the default pack."""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources
from typing import Any

import yaml

from rules.catalog import BUILTIN_IDS
from rules.checksums import NAMED_CHECKS
from rules.context import column_label
from rules.detector import Detector
from rules.keywords import KeywordList
from rules.model import (
    ACTIONS,
    CHANNELS,
    SEVERITIES,
    TEMPLATE_FIELDS,
    ZONES,
    Condition,
    ListFilter,
    Policy,
    Rule,
    UsbDevice,
    UsbFilter,
    WatermarkSettings,
)
from rules.policy_fields import Fields
from rules.policy_lines import parse_lines
from rules.policy_yaml import Located, PolicyError, parse_document, type_plain
from rules.scanner import PatternError, compile_pattern

__all__ = ["Policy", "PolicyError", "default_policy_text", "dump_policy", "load_policy", "LEVEL_THRESHOLDS"]

LEVEL_THRESHOLDS = {"low": 0.0, "medium": 0.6, "high": 0.85}
#: Detector ids produced outside the text scanner: document fingerprints and exact data match.
EXTERNAL_DETECTORS = ("fingerprint", "edm")
_ID = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20,
               "g": 10**9, "gb": 10**9, "gib": 2**30, "t": 10**12, "tb": 10**12, "tib": 2**40}
#: Shared by every rule without destination, application or USB lists (most of a large pack).
_NO_LIST_FILTER, _NO_USB_FILTER = ListFilter(), UsbFilter()


def load_policy(text: str, *, source: str = "<policy>") -> Policy:
    """Parse and validate a policy; raise `PolicyError` naming file, line and field."""
    top = Fields(_read(text, source), source, "", 1)
    top.only("version", "name", "zone", "description", "default_action", "watermark", "detectors",
             "keywords", "rules")
    if top.number("version", 1, 1, 1, integer=True) != 1:
        raise top.error("version", "unsupported version")
    zone = top.text("zone")
    if zone not in ZONES and not _ID.fullmatch(zone):
        raise top.error("zone", "must be low, medium, high or a custom lower-case name")
    reserved = set(BUILTIN_IDS) | set(EXTERNAL_DETECTORS)
    detectors: tuple[Detector, ...] = _unique(top, "detectors", _detector, reserved)
    keywords: tuple[KeywordList, ...] = _unique(top, "keywords", _keywords, reserved | {d.id for d in detectors})
    known = reserved | {d.id for d in detectors} | {k.id for k in keywords}
    rules: tuple[Rule, ...] = _unique(top, "rules", lambda f: _rule(f, known), set())
    return Policy(zone=zone, rules=rules, default_action=top.text("default_action", "allow", ACTIONS),
                  name=top.text("name", ""), description=top.text("description", ""), version=1,
                  watermark=_watermark(top.child("watermark")), detectors=detectors, keywords=keywords,
                  source=source)


def _read(text: str, source: str) -> Located:
    """The line-based reader when the file is plain enough for it, else libyaml (same tree)."""
    data = parse_lines(text, type_plain)
    return data if data is not None else parse_document(text, source)


def _unique(top: Fields, key: str, build: Callable[[Fields], Any], reserved: set[str]) -> tuple[Any, ...]:
    """Build each item of a list, rejecting ids seen before or reserved for built-ins."""
    items: list[Any] = []
    seen: set[str] = set()
    for fields in top.children(key):
        item = build(fields)
        if item.id in reserved:
            raise fields.error("id", f"{item.id!r} clashes with a built-in detector")
        if item.id in seen:
            raise fields.error("id", f"duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    return tuple(items)


def _watermark(f: Fields) -> WatermarkSettings:
    f.only("invisible", "visible_template", "visible_opacity")
    template = f.text("visible_template", None)
    if template is not None:
        for name in re.findall(r"\{([^{}]*)\}", template):
            if name not in TEMPLATE_FIELDS:
                raise f.error("visible_template", f"unknown placeholder {{{name}}} (use {', '.join(TEMPLATE_FIELDS)})")
    opacity = f.number("visible_opacity", 0.08 if template else 0.0, 0.0, 1.0)
    return WatermarkSettings(f.boolean("invisible", True), template, float(opacity))


def _detector(f: Fields) -> Detector:
    f.only("id", "pattern", "description", "score", "context", "negative", "needs_context", "category",
           "checksum", "column_names")
    detector_id = f.text("id")
    if not _ID.fullmatch(detector_id):
        raise f.error("id", "must be lower-case letters, digits, '_', '-' or '.'")
    pattern = f.text("pattern")
    try:
        regex = compile_pattern(pattern)
    except PatternError as exc:
        raise f.error("pattern", f"not a valid RE2 pattern ({exc}); lookaround and backreferences "
                                 "are not supported") from None
    if regex.search(b"") is not None:
        raise f.error("pattern", "matches the empty string")
    check_name = f.text("checksum", None, tuple(NAMED_CHECKS))
    validate, chance = NAMED_CHECKS[check_name] if check_name else (None, 0.0)
    return Detector(detector_id, f.text("category", "custom"), pattern, f.text("description", ""),
                    float(f.number("score", 0.7, 0.0, 1.0)), validate,
                    tuple(w.lower() for w in f.strings("context")), tuple(w.lower() for w in f.strings("negative")),
                    f.boolean("needs_context", False), checksum=validate is not None,
                    column_names=tuple(column_label(w.lower()) for w in f.strings("column_names")), chance=chance)


def _keywords(f: Fields) -> KeywordList:
    f.only("id", "words", "case_sensitive", "score")
    keyword_id = f.text("id")
    if not _ID.fullmatch(keyword_id):
        raise f.error("id", "must be lower-case letters, digits, '_', '-' or '.'")
    words = f.strings("words")
    if not words:
        raise f.error("words", "needs at least one word")
    return KeywordList(keyword_id, words, f.boolean("case_sensitive", False), float(f.number("score", 0.7, 0, 1)))


def _rule(f: Fields, known: set[str]) -> Rule:
    f.only("id", "description", "channels", "when", "destinations", "applications", "usb", "action",
           "severity", "message")
    rule_id = f.text("id")
    if not _ID.fullmatch(rule_id):
        raise f.error("id", "must be lower-case letters, digits, '_', '-' or '.'")
    return Rule(id=rule_id, action=f.text("action", choices=ACTIONS),
                severity=f.text("severity", "medium", SEVERITIES), description=f.text("description", ""),
                channels=f.strings("channels", CHANNELS) or CHANNELS, when=_condition(f.child("when"), known),
                destinations=_list_filter(f, "destinations"), applications=_list_filter(f, "applications"),
                usb=_usb_filter(f, "usb"),
                message=f.text("message", None), line=f.data.line)


def _condition(f: Fields, known: set[str]) -> Condition:
    f.only("detectors", "min_confidence", "min_count", "file_types", "min_size", "max_size", "extraction")
    detectors = f.strings("detectors")
    for name in detectors:
        if name not in known:
            raise f.error("detectors", f"unknown detector {name!r}")
    level = f.raw("min_confidence", 0.0)
    if isinstance(level, str):
        confidence = LEVEL_THRESHOLDS.get(level)
        if confidence is None:
            raise f.error("min_confidence", "must be low, medium, high or a number 0..1")
    else:
        confidence = float(f.number("min_confidence", 0.0, 0.0, 1.0))
    return Condition(detectors, confidence, int(f.number("min_count", 1, 1, 10**9, integer=True)),
                     tuple(t.lower().lstrip(".") for t in f.strings("file_types")), _size(f, "min_size"),
                     _size(f, "max_size"), f.strings("extraction", ("ok", "encrypted", "unscannable")))


def _size(f: Fields, key: str) -> int | None:
    value = f.raw(key, None)
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    match = _SIZE.fullmatch(str(value).strip())
    if match is None or match.group(2).lower() not in _SIZE_UNITS:
        raise f.error(key, "must be a size such as 1048576, 500KB or 10MiB")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def _list_filter(parent: Fields, key: str) -> ListFilter:
    if not parent.present(key):
        return _NO_LIST_FILTER
    f = parent.child(key)
    f.only("allow", "deny")
    return ListFilter(tuple(v.lower() for v in f.strings("allow")), tuple(v.lower() for v in f.strings("deny")))


def _usb_filter(parent: Fields, key: str) -> UsbFilter:
    if not parent.present(key):
        return _NO_USB_FILTER
    f = parent.child(key)
    f.only("allow", "deny")
    return UsbFilter(*(tuple(_usb_device(item) for item in f.children(key)) for key in ("allow", "deny")))


def _usb_device(f: Fields) -> UsbDevice:
    f.only("vendor", "product", "serial")
    values = []
    for key in ("vendor", "product"):
        value = f.raw(key, None)
        text = None if value is None else (f"{value:04x}" if isinstance(value, int) else str(value).lower())
        if text is not None and not re.fullmatch(r"(0x)?[0-9a-f]{4}", text):
            raise f.error(key, "must be a 4-digit hex USB id such as 0781")
        values.append(text[-4:] if text else None)
    serial = f.raw("serial", None)
    return UsbDevice(values[0], values[1], None if serial is None else str(serial))


def default_policy_text(zone: str) -> str:
    """The shipped policy for the low, medium or high zone (YAML text, ready to edit)."""
    if zone not in ZONES:
        raise ValueError(f"no default policy for zone {zone!r}; choose one of {', '.join(ZONES)}")
    return resources.files("rules.packs").joinpath(f"{zone}.yaml").read_text(encoding="utf-8")


def dump_policy(policy: Policy) -> str:
    """YAML that `load_policy` reads back into an equal policy."""
    from rules.policy_dump import policy_to_data

    data: dict[str, Any] = policy_to_data(policy)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)
