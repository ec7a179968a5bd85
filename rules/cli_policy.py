"""The shell behind `leakguard rules check` and `leakguard rules test`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rules.detectors import scanner_for
from rules.engine import ContentEvent, Verdict, evaluate
from rules.extract import Limits, extract
from rules.extract.tesseract import with_ocr
from rules.finding import Finding, level_for
from rules.model import CHANNELS, Policy
from rules.policy import PolicyError, load_policy


def _load(path: str) -> Policy:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read: {exc}", source=path) from None
    return load_policy(text, source=path)


def check(paths: list[str]) -> int:
    """0 when every policy is valid, 1 otherwise; one line per file."""
    status = 0
    for path in paths:
        try:
            policy = _load(path)
        except PolicyError as exc:
            sys.stderr.write(f"{exc}\n")
            status = 1
            continue
        sys.stdout.write(f"{path}: ok (zone {policy.zone}, {len(policy.rules)} rules, "
                         f"{len(policy.detectors)} custom detectors, {len(policy.keywords)} keyword lists)\n")
    return status


def _file_content(record: dict[str, Any], base: Path) -> str:
    """Text and extraction status of the event's `file` (relative to the events file)."""
    import time

    path = base / str(record["file"])
    extraction = extract(path.read_bytes(), path.name, limits=with_ocr(Limits(clock=time.monotonic)))
    record.setdefault("file_name", path.name)
    record.setdefault("size", path.stat().st_size)
    record.setdefault("extraction_status", extraction.status)
    return extraction.text


#: Findings one line of EVENTS.jsonl may declare per detector: beyond any count threshold a policy
#: sets, and small enough that `"count": 1e12` is an error, not an hour of building findings.
MAX_DECLARED_COUNT = 100_000


def _findings(record: dict[str, Any], policy: Policy) -> tuple[Finding, ...]:
    found: list[Finding] = []
    text = record.get("text")
    if isinstance(text, str):
        scanner = scanner_for([*scanner_for().detectors, *policy.detectors], policy.keywords)
        found += scanner.scan(text)
    for item in record.get("findings", []) + record.get("detectors", []):
        detector = item.get("detector") or item.get("id")
        confidence = float(item.get("confidence", 0.9))
        count = int(item.get("count", 1))
        if not 0.0 <= confidence <= 1.0:  # NaN too
            raise ValueError(f"{detector}: confidence must be between 0 and 1, got {confidence}")
        if not 0 <= count <= MAX_DECLARED_COUNT:
            raise ValueError(f"{detector}: count must be between 0 and {MAX_DECLARED_COUNT:,}, got {count}")
        found += [Finding(str(detector), 0, 0, confidence, level_for(confidence), "", "")] * count
    return tuple(found)


def event_from(record: dict[str, Any], policy: Policy) -> ContentEvent:
    channel = record.get("channel")
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
    fields = ("file_type", "destination", "application", "usb_vendor", "usb_serial", "usb_product", "file_name")
    values = {f: str(record[f]) for f in fields if record.get(f) is not None}
    size = record.get("size")
    return ContentEvent(channel=channel, findings=_findings(record, policy), size=int(size) if size is not None else None,
                        extraction_status=str(record.get("extraction_status", "ok")), **values)


def _show(number: int, record: dict[str, Any], verdict: Verdict, fmt: str) -> str:
    if fmt == "jsonl":
        return json.dumps({"line": number, "id": record.get("id"), "action": verdict.action,
                           "severity": verdict.severity, "rule": verdict.rule_id,
                           "override_allowed": verdict.override_allowed, "matched": [list(m) for m in verdict.matched],
                           "rules": list(verdict.rule_ids), "explanation": verdict.explanation}, ensure_ascii=False)
    label = record.get("id") or f"line {number}"
    override = " (override with justification)" if verdict.override_allowed else ""
    return f"{label}: {verdict.action.upper()}{override} [{verdict.severity}] {verdict.explanation}"


def dry_run(policy_path: str, events_path: str, fmt: str) -> int:
    """Print the verdict for each event; 0 when all lines were judged, 2 when some were not."""
    try:
        policy = _load(policy_path)
        lines = Path(events_path).read_text(encoding="utf-8").splitlines()
    except PolicyError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    except (OSError, UnicodeDecodeError) as exc:
        sys.stderr.write(f"{events_path}: cannot read: {exc}\n")
        return 2
    status = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("each line must be a JSON object")
            if "file" in record and "text" not in record:
                record["text"] = _file_content(record, Path(events_path).parent)
            verdict = evaluate(event_from(record, policy), policy)
        except (ValueError, TypeError, AttributeError, OSError) as exc:
            sys.stderr.write(f"{events_path}:{number}: {exc}\n")
            status = 2
            continue
        sys.stdout.write(_show(number, record, verdict, fmt) + "\n")
    return status
