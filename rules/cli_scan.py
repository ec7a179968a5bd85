"""The shell behind `leakguard rules scan`: walks paths, reads files, prints results."""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
import time
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rules.extract import Extraction, Limits, extract_path
from rules.extract.tesseract import with_ocr
from rules.finding import DEFAULT_DIGEST_KEY, Finding
from rules.policy import LEVEL_THRESHOLDS
from rules.report import Located, jsonl_record, line_starts, position, sarif_document, text_record
from rules.scan_pool import Lost, SupervisedPool
from rules.scanner import TextScanner

PROGRESS_MIN_FILES = 20
#: `--jobs 0` (the default) scans with one process per CPU, up to this many, for trees of
#: PROGRESS_MIN_FILES files or more; fewer files are scanned in this process.
MAX_AUTO_JOBS = 8
#: Files handed to the workers ahead of the one whose results are printed next, per worker.
AHEAD_PER_JOB = 8


@dataclass(frozen=True)
class ScanSettings:
    """How each file is scanned: the digest key, the lowest confidence reported, extraction limits,
    the output format, and the findings of a baseline, which are not reported again."""

    key: bytes
    min_confidence: float
    limits: Limits
    form: str = "sarif"
    known: frozenset[tuple[str, str, str, str]] = frozenset()


def finding_key(path: str, member: str | None, detector: str, digest: str) -> tuple[str, str, str, str]:
    """What identifies a finding across scans: where it is, which detector, and the keyed hash of
    the matched value (the same value at another place, or another value here, is new)."""
    return path, member or "", detector, digest


def load_baseline(file: str) -> frozenset[tuple[str, str, str, str]]:
    """The findings of an earlier `rules scan --format jsonl` (ValueError naming the line when a
    line is not one)."""
    known = set()
    with open(file, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                known.add(finding_key(record["path"], record.get("member"), record["detector"], record["digest"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{file}:{number}: not a finding of `rules scan --format jsonl` ({exc})") from None
    return frozenset(known)


@dataclass(frozen=True)
class FileResult:
    """What scanning one file gave: an error (it could not be read), a notice (it was not fully
    scannable), detectors that reached their per-file cap, and the findings: as `Located` for
    SARIF, which needs them all at the end, else as the output lines already written out (the
    worker processes format them, so the parent only prints)."""

    path: str
    error: str | None = None
    notice: str | None = None
    truncated: tuple[str, ...] = ()
    located: tuple[Located, ...] = ()
    lines: tuple[str, ...] = ()
    known: int = 0  # findings left out because the baseline has them


def walk(paths: list[str], exclude: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """Regular files under `paths` (sorted, symlinked directories not followed) and missing paths.
    A file or folder whose name, or whose path below the walked folder, matches an `exclude`
    pattern (shell-style: ``*.log``, ``.git``, ``build/*``) is skipped."""
    files: list[str] = []
    missing: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                below = os.path.relpath(root, path)
                dirs[:] = sorted(d for d in dirs if not _excluded(d, below, exclude))
                files.extend(os.path.join(root, n) for n in sorted(names)
                             if os.path.isfile(os.path.join(root, n)) and not _excluded(n, below, exclude))
        elif path.is_file():
            files.append(raw)
        else:
            missing.append(raw)
    return files, missing


def _excluded(name: str, folder: str, patterns: tuple[str, ...]) -> bool:
    relative = name if folder == "." else f"{folder}/{name}"
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(relative, p) for p in patterns)


def _member(extraction: Extraction, offset: int, root: str) -> str | None:
    parts = [p for p in extraction.parts if p.end > p.start]
    index = bisect_right([p.start for p in parts], offset) - 1
    if index < 0 or parts[index].path == root:
        return None
    return parts[index].path[len(root) + 1 :] if parts[index].path.startswith(root + "/") else parts[index].path


def _scan(scanner: TextScanner, text: str, key: bytes) -> tuple[list[Finding], tuple[str, ...]]:
    """Findings, and the detectors that hit their per-text cap (there are more than shown)."""
    report = getattr(scanner, "scan_report", None)
    if report is None:
        return scanner.scan(text, key=key), ()
    result = report(text, key=key)
    findings: list[Finding] = result.findings
    return findings, tuple(result.truncated)


def located_findings(path: str, extraction: Extraction, findings: list[Finding]) -> Iterator[Located]:
    if not findings:
        return
    starts = line_starts(extraction.text)
    for finding in findings:
        line, column = position(starts, finding.start)
        yield Located(path, finding, line, column, _member(extraction, finding.start, path), extraction.file_type)


def scan_file(path: str, scanner: TextScanner, settings: ScanSettings) -> FileResult:
    """Read, extract and scan one file; findings as output lines of `settings.form` (jsonl or
    text) or, for sarif, as `Located`."""
    try:
        extraction = extract_path(path, limits=settings.limits)
    except OSError as exc:
        return FileResult(path, error=str(exc.strerror or exc))
    notice = None if extraction.status == "ok" else f"{extraction.status}: {extraction.reason}"
    findings, truncated = _scan(scanner, extraction.text, settings.key)
    kept = [f for f in findings if f.confidence >= settings.min_confidence]
    located = tuple(located_findings(path, extraction, kept))
    new = tuple(item for item in located if finding_key(item.path, item.member, item.finding.detector,
                                                         item.finding.digest) not in settings.known)
    if settings.form == "sarif":
        return FileResult(path, None, notice, truncated, new, known=len(located) - len(new))
    render = jsonl_record if settings.form == "jsonl" else text_record
    return FileResult(path, None, notice, truncated, (), tuple(render(item) + "\n" for item in new),
                      known=len(located) - len(new))


#: The scanner and settings of a worker process (inherited from the parent when it forks).
_WORKER: tuple[TextScanner, ScanSettings] | None = None


def _scan_in_worker(path: str) -> FileResult:
    assert _WORKER is not None, "set before the pool forks"
    return scan_file(path, *_WORKER)


def jobs_for(requested: int, files: int) -> int:
    """Worker processes for `files` files: `requested`, or with 0 one per CPU (up to
    MAX_AUTO_JOBS) when there are enough files to pay for starting them."""
    if requested > 0:
        return min(requested, max(1, files))
    if files < PROGRESS_MIN_FILES:
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), MAX_AUTO_JOBS, files))


def _failed(path: str, reason: str, unscannable: bool) -> FileResult:
    return FileResult(path, notice=f"unscannable: {reason}") if unscannable else FileResult(path, error=reason)


def _results(files: list[str], jobs: int, scanner: TextScanner, settings: ScanSettings) -> Iterator[FileResult]:
    """Each file's result, in the order of `files`, scanned in `jobs` supervised worker processes
    (`rules.scan_pool`): a file that hangs or kills its parser is reported unscannable and the
    scan goes on."""
    global _WORKER
    _WORKER = (scanner, settings)
    try:
        # fork: the workers inherit the built scanner (and any fingerprint or EDM store) as is.
        with SupervisedPool(jobs, _scan_in_worker, seconds=settings.limits.seconds, failed=_failed,
                            result_classes=(FileResult, Located, Finding)) as pool:
            for result in pool.map(files, jobs * AHEAD_PER_JOB):
                yield FileResult(result.path, notice=f"unscannable: {result.reason}") if isinstance(result, Lost) else result
    finally:
        _WORKER = None


def _progress(total: int, mode: str) -> object:
    from tqdm import tqdm

    disable = {"always": False, "never": True}.get(mode, None if total >= PROGRESS_MIN_FILES else True)
    return tqdm(total=total, unit="file", file=sys.stderr, disable=disable, leave=True, dynamic_ncols=True)


def _notice(message: str) -> None:
    """A line on stderr that does not tear the progress bar."""
    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)


def run(args: argparse.Namespace, scanner: TextScanner, version: str) -> int:
    files, missing = walk(args.paths, tuple(getattr(args, "exclude", None) or ()))
    for path in missing:
        sys.stderr.write(f"leakguard rules scan: {path}: no such file or directory\n")
    key = Path(args.key_file).read_bytes() if args.key_file else DEFAULT_DIGEST_KEY
    limits = Limits(clock=time.monotonic, seconds=args.timeout, max_input_bytes=args.max_bytes,
                    max_image_bytes=args.max_image_bytes)
    if not getattr(args, "no_ocr", False):
        limits = with_ocr(limits)
    try:
        known = load_baseline(args.baseline) if getattr(args, "baseline", None) else frozenset()
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"leakguard rules scan: baseline: {exc}\n")
        return 2
    settings = ScanSettings(key, LEVEL_THRESHOLDS[args.min_level], limits, args.format, known)
    skipped = 0
    found, errors = 0, len(missing)
    collected: list[Located] = []
    notices: list[tuple[str, str]] = []
    jobs = jobs_for(getattr(args, "jobs", 1), len(files))
    results = _results(files, jobs, scanner, settings)
    bar = _progress(len(files), args.progress)
    try:
        for result in results:
            bar.update(1)  # type: ignore[attr-defined]
            path = result.path
            if result.error is not None:
                _notice(f"leakguard rules scan: {path}: {result.error}")
                errors += 1
                continue
            if result.notice is not None:
                notices.append((path, result.notice))
                _notice(f"leakguard rules scan: {path}: {result.notice}")
            if result.truncated:
                _notice(f"leakguard rules scan: {path}: more findings than reported for "
                        f"{', '.join(result.truncated)} (per-file cap reached)")
            found += len(result.located) + len(result.lines)
            skipped += result.known
            collected.extend(result.located)
            sys.stdout.writelines(result.lines)
    finally:
        bar.close()  # type: ignore[attr-defined]
    if args.format == "sarif":
        sys.stdout.write(sarif_document(collected, version, notices) + "\n")
    elif args.format == "text":
        note = f" ({skipped} more in the baseline, not shown)" if skipped else ""
        sys.stderr.write(f"{found} finding(s) in {len(files)} file(s){note}\n")
    return 2 if errors else 1 if found else 0
