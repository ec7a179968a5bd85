"""Same-run A/B of scan throughput: this checkout's `rules` against an older one, alternating.

Speeds on the shared machine move by a third with the load, so a before/after comparison must be
made in one run. The old package (from ``git archive <commit> rules | tar -x -C DIR``) is copied
under the name ``rules_old`` (its own imports rewritten), so both live in one process and take
turns on the same corpora, warm: the first `--mb` megabytes of the mixed 200 MB corpus, and the
tabular slice of the labelled corpus. Findings are counted too, to show what changed.

    python -m bench.rules_ab --base DIR [--mb 24] [--rounds 5]
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any


def renamed_copy(base: Path, folder: Path) -> None:
    """`base`/rules copied to `folder`/rules_old with its imports pointing at itself."""
    target = folder / "rules_old"
    shutil.copytree(base / "rules", target)
    for path in target.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        text = text.replace("from rules.", "from rules_old.").replace("import rules.", "import rules_old.")
        path.write_text(text.replace('"rules.packs"', '"rules_old.packs"'), encoding="utf-8")


def pack_scanner(package: str) -> Any:
    """The default pack's selection (as `bench.rules.default_pack_scanner`) from either package."""
    detectors: ModuleType = importlib.import_module(f"{package}.detectors")
    policy: ModuleType = importlib.import_module(f"{package}.policy")
    policies = [policy.load_policy(policy.default_policy_text(zone)) for zone in ("low", "medium", "high")]
    keywords = {k.id: k for p in policies for k in p.keywords}
    ids = {d for p in policies for d in p.detector_ids()} - {"fingerprint", "edm"} - set(keywords)
    return detectors.scanner_for(sorted(ids), tuple(keywords.values()))


def mb_per_s(scanner: Any, documents: list[str]) -> float:
    size = sum(len(d.encode()) for d in documents) / 1e6
    started = time.process_time()
    for document in documents:
        scanner.scan(document)
    return size / (time.process_time() - started)


def main() -> None:
    from bench.rules_corpus import mixed_documents
    from bench.rules_tables import tabular_documents
    from bench.rules_values import all_generators

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="folder holding the old `rules` package")
    parser.add_argument("--mb", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    generators = all_generators()
    corpora = {"mixed": mixed_documents(args.mb, 8, 11, generators),
               "tables": [d[0] for d in tabular_documents(7, 200, generators)]}
    with tempfile.TemporaryDirectory() as folder:
        renamed_copy(args.base, Path(folder))
        sys.path.insert(0, folder)
        all_old = importlib.import_module("rules_old.detectors").scanner_for()
        scanners = {("default pack", "before"): pack_scanner("rules_old"), ("default pack", "after"): pack_scanner("rules"),
                    ("all detectors", "before"): all_old,
                    ("all detectors", "after"): importlib.import_module("rules.detectors").scanner_for()}
        report(scanners, corpora, args.rounds)


def report(scanners: dict[tuple[str, str], Any], corpora: dict[str, list[str]], rounds: int) -> None:
    for scanner in scanners.values():  # warm: DFAs built, caches filled
        for documents in corpora.values():
            mb_per_s(scanner, documents[:2])
    speeds: dict[tuple[str, str, str], list[float]] = {}
    for number in range(rounds):
        for (name, label), scanner in sorted(scanners.items(), reverse=number % 2 == 1):
            for corpus, documents in corpora.items():
                speeds.setdefault((name, corpus, label), []).append(mb_per_s(scanner, documents))
    print(f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {rounds} rounds alternating, MB/s of CPU time\n")
    print("| scanner, corpus | before: median (range) | after: median (range) | findings before / after |\n|---|---|---|---|")
    for name in ("default pack", "all detectors"):
        for corpus, documents in corpora.items():
            cells = []
            for label in ("before", "after"):
                values = speeds[name, corpus, label]
                cells.append(f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})")
            found = [sum(len(scanners[name, label].scan(d)) for d in documents) for label in ("before", "after")]
            print(f"| {name}, {corpus} | {cells[0]} | {cells[1]} | {found[0]} / {found[1]} |")


if __name__ == "__main__":
    main()
