"""RAR decompression: how fast `rules/extract/rar5_lz.py` (RAR 5.0) and `rar29_lz.py` (RAR
2.9-4.x) read what a RAR compressor wrote, beside The Unarchiver's `unar` (native code)
extracting the same archives in the same run.

The archives come from the tests' compressors (`tests/rules/rar5_pack.py`, `rar4_pack.py`: greedy
matching, output `unar` reads byte for byte): a CSV of customer rows, text with copies from near
and far, random bytes (literals only) and, for RAR 5.0, x86-like code under an E8 filter. Our
figure is the best of three reads of the whole archive through `rar_members` (CRC-32 checked);
`unar`'s is the best of three extractions to a temporary folder, its process start included.

    .venv/bin/python -m bench.rar [--megabytes 2]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from rules.extract.budget import Budget, Limits
from rules.extract.rar import rar_members
from tests.rules import rar4_pack, rar5_pack
from tests.rules.samples import x86_like
from tests.rules.test_extract_rar5_lz import _mixed


def contents(size: int) -> dict[str, tuple[bytes, list[rar5_pack.Filter]]]:
    rng = random.Random(1)
    rows = io.StringIO()
    writer = csv.writer(rows)
    while rows.tell() < size:
        writer.writerow([rng.randint(1, 10**6), f"Customer {rng.randint(1, 99999)}", rng.randint(10**15, 10**16 - 1),
                         rng.choice(("Berlin", "Paris", "Madrid")), round(rng.random() * 1000, 2)])
    code = x86_like(size // 2)
    return {"CSV rows": (rows.getvalue().encode()[:size], []), "text, near and far copies": (_mixed(3, size), []),
            "random bytes": (rng.randbytes(size // 2), []), "x86 code, E8 filter": (code, [rar5_pack.Filter(0, len(code), 1)])}


def ours(archive: bytes) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _name, _content in rar_members(archive, Budget(Limits(), len(archive)), "bench.rar"):
            pass
        best = min(best, time.perf_counter() - started)
    return best


def unar(archive: bytes) -> float | None:
    if shutil.which("unar") is None:
        return None
    best = float("inf")
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "bench.rar"
        source.write_bytes(archive)
        for run in range(3):
            started = time.perf_counter()
            subprocess.run(["unar", "-q", "-f", "-o", f"{scratch}/out{run}", str(source)], check=True,
                           capture_output=True)
            best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=2.0, help="size of the CSV and text contents")
    size = int(parser.parse_args().megabytes * 1e6)
    print(f"{'format':8} {'content':28} {'MB':>5} {'packed':>7} {'ours MB/s':>10} {'unar MB/s':>10} {'ours/unar':>10}")
    for name, (data, filters) in contents(size).items():
        archives = {"RAR 5.0": rar5_pack.archive([("file", data)], filters={"file": filters}, dict_log=5)}
        if not filters:
            archives["RAR 2.9"] = rar4_pack.archive([("file", data)])
        for version, archive in archives.items():
            mine, theirs = ours(archive), unar(archive)
            mb = len(data) / 1e6
            peer = f"{mb / theirs:10.1f} {theirs / mine:10.3f}" if theirs else f"{'-':>10} {'-':>10}"
            print(f"{version:8} {name:28} {mb:5.1f} {len(archive) / len(data):7.2f} {mb / mine:10.1f} {peer}")

if __name__ == "__main__":
    main()
