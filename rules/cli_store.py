"""The shell behind `leakguard rules fingerprint|edm`: the index folder on disk."""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

from rules.catalog import BUILTIN_DETECTORS
from rules.detectors import scanner_for
from rules.edm import EdmError, EdmIndex, build_edm_index
from rules.extract import Limits, extract
from rules.extract.tesseract import with_ocr
from rules.finding import DEFAULT_DIGEST_KEY, Finding
from rules.fingerprint import FingerprintIndex
from rules.keywords import KeywordList
from rules.policy import load_policy
from rules.scanner import ScanResult, TextScanner

FINGERPRINTS = "fingerprints.json"


def _out(message: str) -> None:
    sys.stdout.write(message + "\n")


def _err(message: str) -> None:
    sys.stderr.write(message + "\n")


def store_dir(args: argparse.Namespace) -> Path:
    if getattr(args, "store", None):
        return Path(args.store)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "leakguard"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)


def load_fingerprints(store: Path) -> FingerprintIndex:
    path = store / FINGERPRINTS
    if path.exists():
        return FingerprintIndex.from_json(path.read_text(encoding="utf-8"))
    return FingerprintIndex(os.urandom(16))


def fingerprint_add(args: argparse.Namespace) -> int:
    store = store_dir(args)
    index = load_fingerprints(store)
    status = 0
    for name in args.files:
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            _err(f"leakguard rules fingerprint: {name}: {exc.strerror}")
            status = 2
            continue
        extraction = extract(data, name, limits=with_ocr(Limits(clock=time.monotonic)))
        if extraction.status != "ok" or not extraction.text.strip():
            _err(f"leakguard rules fingerprint: {name}: cannot register ({extraction.reason or 'no text'})")
            status = 2
            continue
        doc_id = hashlib.sha256(data).hexdigest()[:12]
        if any(d.doc_id == doc_id for d in index.documents):
            _out(f"{doc_id}  already registered  {name}")
            continue
        index = index.add(doc_id, args.name or Path(name).name, data, extraction.text)
        _out(f"{doc_id}  {len(index.documents[-1].hashes)} fingerprints  {name}")
    write_atomic(store / FINGERPRINTS, index.to_json())
    return status


def fingerprint_list(args: argparse.Namespace) -> int:
    for doc in load_fingerprints(store_dir(args)).documents:
        _out(f"{doc.doc_id}  {len(doc.hashes):6d} fingerprints  sha256:{doc.sha256[:16]}  {doc.name}")
    return 0


def fingerprint_remove(args: argparse.Namespace) -> int:
    store = store_dir(args)
    index = load_fingerprints(store)
    status = 0
    for doc_id in args.ids:
        try:
            index = index.remove(doc_id)
            _out(f"removed {doc_id}")
        except KeyError:
            _out(f"leakguard rules fingerprint: no document {doc_id}")
            status = 1
    write_atomic(store / FINGERPRINTS, index.to_json())
    return status


def edm_index(args: argparse.Namespace) -> int:
    store = store_dir(args)
    name = args.name or Path(args.csv).stem
    columns = [c.strip() for c in args.columns.split(",")] if args.columns else None
    try:
        text = Path(args.csv).read_bytes().decode("utf-8-sig")
        index = build_edm_index(text, salt=os.urandom(16), columns=columns, min_fields=args.min_fields,
                                proximity=args.proximity)
    except (OSError, UnicodeDecodeError, EdmError) as exc:
        _err(f"leakguard rules edm: {args.csv}: {exc}")
        return 2
    write_atomic(store / "edm" / f"{name}.json", index.to_json())
    _out(f"{name}: {index.rows} records, {len(index.postings)} salted hashes of {len(index.columns)} columns "
          f"(report {index.min_fields}+ fields within {index.proximity} characters)")
    return 0


def edm_list(args: argparse.Namespace) -> int:
    for path in sorted((store_dir(args) / "edm").glob("*.json")):
        index = EdmIndex.from_json(path.read_text(encoding="utf-8"))
        _out(f"{path.stem}: {index.rows} records, columns {', '.join(index.columns)}")
    return 0


class StoreScanner:
    """Detectors plus registered fingerprints and EDM indexes, as one scanner."""

    def __init__(self, scanner: TextScanner, store: Path) -> None:
        self.scanner = scanner
        self.fingerprints = load_fingerprints(store)
        self.edm = {p.stem: EdmIndex.from_json(p.read_text(encoding="utf-8"))
                    for p in sorted((store / "edm").glob("*.json"))}

    def scan(self, text: str, *, key: bytes = DEFAULT_DIGEST_KEY) -> list[Finding]:
        return self.scan_report(text, key=key).findings

    def scan_report(self, text: str, *, key: bytes = DEFAULT_DIGEST_KEY) -> ScanResult:
        report = getattr(self.scanner, "scan_report", None)
        base = report(text, key=key) if report is not None else ScanResult(self.scanner.scan(text, key=key))
        findings = base.findings + self.fingerprints.findings(text)
        for name, index in self.edm.items():
            findings += index.findings(text, name=name)
        return ScanResult(sorted(findings, key=lambda f: (f.start, f.detector)), base.truncated)


def scanner_from_args(args: argparse.Namespace) -> TextScanner:
    detectors: list[object] = list(args.detectors.split(",")) if args.detectors else [d.id for d in BUILTIN_DETECTORS]
    keywords: tuple[KeywordList, ...] = ()
    if args.policy:
        policy = load_policy(Path(args.policy).read_text(encoding="utf-8"), source=args.policy)
        detectors += list(policy.detectors)
        keywords = policy.keywords
    scanner: TextScanner = scanner_for(detectors, keywords)  # type: ignore[arg-type]
    return StoreScanner(scanner, Path(args.store)) if args.store else scanner
