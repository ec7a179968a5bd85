"""Same-run A/B of scan throughput: this checkout's `rules` against an older one, alternating.

Speeds on the shared machine move by a third with the load, so a before/after comparison must be
made in one run: worker processes that import the old or the new `rules` package take turns on the
same corpora (the mixed 200 MB corpus's first `--mb` megabytes, and the tabular slice of the
labelled corpus), each warming its scanners first. The old package comes from
``git archive <commit> rules | tar -x -C DIR``.

    python -m bench.rules_ab --base DIR [--mb 24] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def write_corpora(folder: Path, mb: int) -> None:
    from bench.rules_corpus import mixed_documents
    from bench.rules_tables import tabular_documents
    from bench.rules_values import all_generators

    generators = all_generators()
    mixed = mixed_documents(200, 8, 11, generators)[: max(1, mb // 8)]
    tables = [d[0] for d in tabular_documents(7, 200, generators)]
    (folder / "corpora.pickle").write_bytes(pickle.dumps({"mixed": mixed, "tables": tables}))


def worker(folder: Path) -> None:
    """Runs inside the old or the new tree: MB/s (CPU) per scanner and corpus, as one JSON line."""
    from bench.rules import default_pack_scanner, throughput
    from rules.detectors import scanner_for

    corpora = pickle.loads((folder / "corpora.pickle").read_bytes())
    scanners = {"default pack": default_pack_scanner(), "all detectors": scanner_for()}
    out: dict[str, float | int] = {}
    for name, scanner in scanners.items():
        scanner.scan(corpora["mixed"][0][:2_000_000])  # type: ignore[attr-defined]  # build the DFA
        for corpus, documents in corpora.items():
            out[f"{name}, {corpus}"] = throughput(scanner.scan, documents)  # type: ignore[attr-defined]
        out[f"{name}, findings on mixed"] = sum(len(scanner.scan(d)) for d in corpora["mixed"])  # type: ignore[attr-defined]
    print(json.dumps(out))


def run(tree: Path, folder: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": ""}
    done = subprocess.run([sys.executable, "-m", "bench.rules_ab", "--worker", str(folder)], cwd=tree, env=env,
                          capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def old_tree(base: Path, folder: Path) -> Path:
    """A directory where `bench` is this checkout's and `rules` the old one."""
    tree = folder / "old"
    tree.mkdir()
    (tree / "bench").symlink_to(REPO / "bench")
    (tree / "rules").symlink_to(base.resolve() / "rules")
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, help="folder holding the old `rules` package")
    parser.add_argument("--mb", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        write_corpora(folder, args.mb)
        trees = {"before": old_tree(args.base, folder), "after": REPO}
        results: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
        for number in range(args.rounds):
            for label in (("before", "after") if number % 2 == 0 else ("after", "before")):
                results[label].append(run(trees[label], folder))
                print(f"round {number + 1} {label}: {results[label][-1]}", flush=True)
    print("\n| scanner, corpus (MB/s CPU, or a count) | before: median (range) | after: median (range) |\n|---|---|---|")
    for key in results["after"][0]:
        digits = 0 if "findings" in key else 1
        cells = [f"{statistics.median(r[key] for r in results[label]):.{digits}f} "
                 f"({min(r[key] for r in results[label]):.{digits}f}-{max(r[key] for r in results[label]):.{digits}f})"
                 for label in ("before", "after")]
        print(f"| {key} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
