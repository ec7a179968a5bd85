"""Judging content with the rules engine: extract, scan, evaluate against the zone policy.

The result keeps what the console may see: detector ids and counts, and per finding its level, why
(`basis`), its character offsets, a keyed hash under this device's key (`digest`: equal values
correlate across this PC's events, nobody without the key can test a guess) and a redacted preview.
The matched text itself stays here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_PREVIEWS = 5
#: Findings an event describes one by one (the most certain first); `findings_total` counts them all.
MAX_FINDINGS = 20
#: ... and in at most this many bytes of JSON, so that an event stays far below the console's
#: 16 KiB limit for extra fields (an event the console refused would be lost).
MAX_FINDINGS_BYTES = 6144


@dataclass(frozen=True)
class Judgement:
    action: str
    severity: str
    rule_id: str | None
    explanation: str
    detectors: tuple[tuple[str, int], ...]
    previews: tuple[str, ...]
    override_allowed: bool
    scan_status: str = "ok"
    scan_reason: str | None = None
    message: str | None = None
    findings: tuple[dict[str, Any], ...] = ()
    findings_total: int = 0

    def details(self) -> dict[str, Any]:
        """Fields for the event: the verdict and what was found, never the text itself."""
        return {
            "verdict": {
                "rule_id": self.rule_id, "explanation": self.explanation, "override_allowed": self.override_allowed,
                "scan_status": self.scan_status, "scan_reason": self.scan_reason,
            },
            "previews": list(self.previews),
            "findings": list(self.findings),
            "findings_total": self.findings_total,
        }

    @property
    def tip(self) -> str:
        """The policy tip shown to the user: the rule's message, else the explanation."""
        return self.message or self.explanation


@dataclass(frozen=True)
class Context:
    """What the agent knows about where the content is going."""

    channel: str
    destination: str | None = None
    application: str | None = None
    file_type: str | None = None
    size: int | None = None
    usb_vendor: str | None = None
    usb_product: str | None = None
    usb_serial: str | None = None
    file_name: str | None = None


def scan(text: str, policy: Any, key: bytes | None) -> list[Any]:
    """Built-in detectors plus the policy's own detectors and keyword lists."""
    from rules.catalog import BUILTIN_DETECTORS
    from rules.detectors import scan_text

    detectors = [*BUILTIN_DETECTORS, *policy.detectors] if policy.detectors else None
    if key:
        return scan_text(text, detectors=detectors, keywords=policy.keywords, key=key)
    return scan_text(text, detectors=detectors, keywords=policy.keywords)


def judge_text(text: str, context: Context, policy: Any, *, status: str = "ok", reason: str | None = None,
               key: bytes | None = None) -> Judgement:
    from rules.engine import ContentEvent, evaluate

    findings = scan(text, policy, key) if text else []
    event = ContentEvent(
        channel=context.channel, findings=tuple(findings), file_type=context.file_type,
        size=context.size if context.size is not None else len(text), destination=context.destination,
        application=context.application, usb_vendor=context.usb_vendor, usb_serial=context.usb_serial,
        usb_product=context.usb_product, extraction_status=status, file_name=context.file_name,
    )
    verdict = evaluate(event, policy)
    return Judgement(
        action=str(verdict.action), severity=str(verdict.severity), rule_id=verdict.rule_id,
        explanation=verdict.explanation, detectors=tuple((str(d), int(n)) for d, n in verdict.matched),
        previews=tuple(f.preview for f in findings[:MAX_PREVIEWS]), override_allowed=bool(verdict.override_allowed),
        scan_status=status, scan_reason=reason, message=verdict.message,
        findings=described(findings), findings_total=len(findings),
    )


def described(findings: list[Any]) -> tuple[dict[str, Any], ...]:
    """The most certain findings, first in the text first, as the event carries them."""
    from rules.finding import level_rank

    out: list[dict[str, Any]] = []
    size = 2
    for f in sorted(findings, key=lambda f: (-level_rank(f.level), f.start))[:MAX_FINDINGS]:
        record = {"detector": f.detector, "level": f.level, "basis": list(f.basis), "start": f.start,
                  "end": f.end, "digest": f.digest, "preview": f.preview}
        size += len(json.dumps(record)) + 2
        if size > MAX_FINDINGS_BYTES:
            break
        out.append(record)
    return tuple(out)


def judge_bytes(data: bytes, filename: str, context: Context, policy: Any, *, key: bytes | None = None,
                ocr: bool = True) -> Judgement:
    """Extract text from a file's bytes (bombs and corrupt files give a status, not a crash), within
    the extraction's time cap, PDFs, legacy Office files and archives in a worker process
    (`agent.extraction`); images are read by tesseract when ``ocr`` and it is installed."""
    from agent.extraction import extract_file

    extraction = extract_file(data, filename, ocr=ocr)
    return judge_text(extraction.text, context, policy, status=extraction.status, reason=extraction.reason, key=key)
