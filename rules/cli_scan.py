"""The shell behind `leakguard rules scan`: walks paths, reads files, prints results."""

from __future__ import annotations

import argparse
import os
import sys
import time
from bisect import bisect_right
from collections.abc import Iterator
from pathlib import Path

from rules.extract import Extraction, Limits, extract
from rules.finding import DEFAULT_DIGEST_KEY, Finding
from rules.policy import LEVEL_THRESHOLDS
from rules.report import Located, jsonl_record, line_starts, position, sarif_document, text_record
from rules.scanner import TextScanner

PROGRESS_MIN_FILES = 20


def walk(paths: list[str]) -> tuple[list[str], list[str]]:
    """Regular files under `paths` (sorted, symlinked directories not followed) and missing paths."""
    files: list[str] = []
    missing: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs.sort()
                files.extend(os.path.join(root, n) for n in sorted(names) if os.path.isfile(os.path.join(root, n)))
        elif path.is_file():
            files.append(raw)
        else:
            missing.append(raw)
    return files, missing


def _read(path: str, limit: int) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(limit + 1)


def _member(extraction: Extraction, offset: int, root: str) -> str | None:
    parts = [p for p in extraction.parts if p.end > p.start]
    index = bisect_right([p.start for p in parts], offset) - 1
    if index < 0 or parts[index].path == root:
        return None
    return parts[index].path[len(root) + 1 :] if parts[index].path.startswith(root + "/") else parts[index].path


def _scan(scanner: TextScanner, text: str, key: bytes, path: str) -> list[Finding]:
    """Findings, with a notice when a detector hit its per-text cap (there are more than shown)."""
    report = getattr(scanner, "scan_report", None)
    if report is None:
        return scanner.scan(text, key=key)
    result = report(text, key=key)
    if result.truncated:
        _notice(f"leakguard rules scan: {path}: more findings than reported for {', '.join(result.truncated)} "
                "(per-file cap reached)")
    findings: list[Finding] = result.findings
    return findings


def located_findings(path: str, extraction: Extraction, scanner: TextScanner, key: bytes,
                     min_confidence: float) -> Iterator[Located]:
    findings = [f for f in _scan(scanner, extraction.text, key, path) if f.confidence >= min_confidence]
    if not findings:
        return
    starts = line_starts(extraction.text)
    for finding in findings:
        line, column = position(starts, finding.start)
        yield Located(path, finding, line, column, _member(extraction, finding.start, path), extraction.file_type)


def _progress(total: int, mode: str) -> object:
    from tqdm import tqdm

    disable = {"always": False, "never": True}.get(mode, None if total >= PROGRESS_MIN_FILES else True)
    return tqdm(total=total, unit="file", file=sys.stderr, disable=disable, leave=True, dynamic_ncols=True)


def _notice(message: str) -> None:
    """A line on stderr that does not tear the progress bar."""
    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)


def run(args: argparse.Namespace, scanner: TextScanner, version: str) -> int:
    files, missing = walk(args.paths)
    for path in missing:
        sys.stderr.write(f"leakguard rules scan: {path}: no such file or directory\n")
    key = Path(args.key_file).read_bytes() if args.key_file else DEFAULT_DIGEST_KEY
    threshold = LEVEL_THRESHOLDS[args.min_level]
    limits = Limits(clock=time.monotonic, seconds=args.timeout, max_input_bytes=args.max_bytes)
    found, errors, collected, notices = 0, len(missing), [], []
    bar = _progress(len(files), args.progress)
    for path in files:
        try:
            extraction = extract(_read(path, limits.max_input_bytes), path, limits=limits)
        except OSError as exc:
            _notice(f"leakguard rules scan: {path}: {exc.strerror or exc}")
            errors += 1
            continue
        finally:
            bar.update(1)  # type: ignore[attr-defined]
        if extraction.status != "ok":
            notices.append((path, f"{extraction.status}: {extraction.reason}"))
            _notice(f"leakguard rules scan: {path}: {extraction.status}: {extraction.reason}")
        for item in located_findings(path, extraction, scanner, key, threshold):
            found += 1
            if args.format == "sarif":
                collected.append(item)
            else:
                sys.stdout.write((jsonl_record(item) if args.format == "jsonl" else text_record(item)) + "\n")
    bar.close()  # type: ignore[attr-defined]
    if args.format == "sarif":
        sys.stdout.write(sarif_document(collected, version, notices) + "\n")
    elif args.format == "text":
        sys.stderr.write(f"{found} finding(s) in {len(files)} file(s)\n")
    return 2 if errors else 1 if found else 0
