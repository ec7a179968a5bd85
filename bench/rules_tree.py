"""`leakguard rules scan` over a folder tree, end to end, with one worker and with several.

Writes a tree of the throughput corpus's mixed text (`bench.rules_corpus.mixed_documents`) as
files of 0.25-2 MB in nested folders, a quarter of them zipped, then runs the real command
(`--format jsonl --progress never`) with `--jobs 1`, `--jobs 2` and the default, and prints wall
time, MB/s and the speed-up over one job. Every run must print the same findings.

    .venv/bin/python -m bench.rules_tree [--mb 200] [--jobs 1,2,0]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench.rules_corpus import mixed_documents
from bench.rules_values import all_generators


def write_tree(root: Path, mb: int, seed: int = 5) -> int:
    """The tree under `root`; returns its size in bytes of text (before zipping)."""
    rng = random.Random(seed)
    documents = mixed_documents(mb, 2, seed, all_generators())
    total = 0
    for number, document in enumerate(documents):
        text = document.encode()
        for part, piece in enumerate(_pieces(rng, text)):
            folder = root / f"dept{number % 4}" / f"team{part % 3}"
            folder.mkdir(parents=True, exist_ok=True)
            total += len(piece)
            if rng.random() < 0.25:
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                    archive.writestr(f"export-{number}-{part}.txt", piece)
                (folder / f"archive-{number}-{part}.zip").write_bytes(buffer.getvalue())
            else:
                (folder / f"notes-{number}-{part}.txt").write_bytes(piece)
    return total


def _pieces(rng: random.Random, text: bytes) -> list[bytes]:
    """`text` cut at line ends into pieces of 0.25-2 MB."""
    pieces, start = [], 0
    while start < len(text):
        end = text.find(b"\n", min(len(text), start + rng.randint(250_000, 2_000_000)))
        end = len(text) if end < 0 else end + 1
        pieces.append(text[start:end])
        start = end
    return pieces


def scan(root: Path, jobs: int) -> tuple[float, str, int]:
    """Wall seconds, a digest of stdout, and the number of findings."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "leakguard.cli", "rules", "scan", "--format", "jsonl",
                             "--progress", "never", "--jobs", str(jobs), str(root)],
                            capture_output=True, timeout=3600, check=False)
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"scan --jobs {jobs} failed ({result.returncode}): {result.stderr.decode()[-800:]}")
    return seconds, hashlib.sha256(result.stdout).hexdigest()[:16], result.stdout.count(b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=200, help="text in the tree")
    parser.add_argument("--jobs", default="1,2,0", help="comma-separated --jobs values (0: the default)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "share"
        size = write_tree(root, args.mb)
        files = sum(len(names) for _, _, names in os.walk(root))
        print(f"\n## leakguard rules scan over a tree ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})\n")
        print(f"{files} files, {size / 1e6:.0f} MB of text (a quarter zipped)\n")
        print("| --jobs | wall s | MB/s | speed-up | findings | output digest |\n|---|---|---|---|---|---|")
        base = None
        for jobs in (int(j) for j in args.jobs.split(",")):
            seconds, digest, findings = scan(root, jobs)
            base = base or seconds
            print(f"| {jobs or 'default'} | {seconds:.1f} | {size / 1e6 / seconds:.1f} | {base / seconds:.2f}x | "
                  f"{findings} | {digest} |")


if __name__ == "__main__":
    main()
