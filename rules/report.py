"""Scan results as text, JSON lines or SARIF 2.1.0. Never the matched text, only previews."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rules.catalog import detector_by_id
from rules.finding import Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"high": "error", "medium": "warning", "low": "note"}
_TEXT_KINDS = frozenset({"text", "xml", "html"})


@dataclass(frozen=True, slots=True)
class Located:
    """A finding with the file it came from and a human position."""

    path: str
    finding: Finding
    line: int
    column: int
    member: str | None
    file_kind: str


def line_starts(text: str) -> list[int]:
    starts = [0]
    position = text.find("\n")
    while position >= 0:
        starts.append(position + 1)
        position = text.find("\n", position + 1)
    return starts


def position(starts: Sequence[int], offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    from bisect import bisect_right

    index = bisect_right(starts, offset) - 1
    return index + 1, offset - starts[index] + 1


def jsonl_record(item: Located) -> str:
    f = item.finding
    record: dict[str, Any] = {
        "path": item.path, "detector": f.detector, "start": f.start, "end": f.end,
        "confidence": f.confidence, "level": f.level, "line": item.line, "column": item.column,
        "preview": f.preview, "digest": f.digest, "basis": list(f.basis),
    }
    if item.member is not None:
        record["member"] = item.member
    return json.dumps(record, ensure_ascii=False)


def text_record(item: Located) -> str:
    f = item.finding
    where = f"{item.path}:{item.line}:{item.column}"
    member = f" in {item.member}" if item.member else ""
    why = f" ({', '.join(f.basis)})" if f.basis else ""
    return f"{where}: {f.detector} [{f.level} {f.confidence:.2f}] {f.preview}{why}{member}"


def _sarif_rule(detector_id: str) -> dict[str, Any]:
    base = detector_id.split(":", 1)[0]
    detector = detector_by_id(base)
    text = detector.description if detector else f"{base} (policy-defined)"
    return {"id": detector_id, "name": base, "shortDescription": {"text": text},
            "properties": {"category": detector.category if detector else "custom"}}


def _sarif_result(item: Located, rule_index: dict[str, int]) -> dict[str, Any]:
    f = item.finding
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(item.path)}}
    if item.file_kind in _TEXT_KINDS and item.member is None:
        physical["region"] = {"startLine": item.line, "startColumn": item.column,
                              "charOffset": f.start, "charLength": f.end - f.start}
    result: dict[str, Any] = {
        "ruleId": f.detector, "ruleIndex": rule_index[f.detector], "level": _SARIF_LEVEL.get(f.level, "warning"),
        "message": {"text": f"{f.detector} ({f.level}, {f.confidence:.2f}): {f.preview}"},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {"leakguardDigest/v1": f.digest},
        "properties": {"confidence": f.confidence, "start": f.start, "end": f.end, "basis": list(f.basis)},
    }
    if item.member is not None:
        result["locations"][0]["logicalLocations"] = [{"fullyQualifiedName": item.member, "kind": "member"}]
    return result


def _uri(path: str) -> str:
    from pathlib import PurePath
    from urllib.parse import quote

    return quote(PurePath(path).as_posix())


def sarif_document(items: Iterable[Located], version: str, notices: Sequence[tuple[str, str]] = ()) -> str:
    """A complete SARIF 2.1.0 log with one run."""
    located = list(items)
    rule_ids = sorted({item.finding.detector for item in located})
    rule_index = {rule: i for i, rule in enumerate(rule_ids)}
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "leakguard", "version": version, "informationUri": "https://github.com/leakguard",
                            "rules": [_sarif_rule(r) for r in rule_ids]}},
        "results": [_sarif_result(item, rule_index) for item in located],
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": [
            {"level": "warning", "message": {"text": message},
             "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(path)}}}]}
            for path, message in notices]}],
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, ensure_ascii=False, indent=1)
