"""Cost of reading files in the agent's extraction worker (`agent.extraction`) against reading
them in the service's own process, per file, for the kinds the worker takes.

For each sample: the median wall time of `rules.extract.extract` in this process, of the same
file through a kept (warm) worker, and through a new worker each time (what the first file after
a minute without work pays), with the ratios to in-process.

    .venv/bin/python -m bench.agent_extraction [--runs 20]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from agent.extraction import Pool, _extract_here
from tests.rules import samples

DATA = Path(__file__).resolve().parent.parent / "tests" / "rules" / "data"


def corpus() -> list[tuple[str, str, bytes]]:
    """(description, file name, bytes) of each sample."""
    lines = [f"Line {n}: customer {n} paid with card 4111 1111 1111 1111 on invoice {n * 7919}" for n in range(40)]
    return [
        ("PDF, 1 page", "a.pdf", samples.pdf(["report", "card 4111111111111111"])),
        ("PDF, 2 pages of tables (LibreOffice)", "b.pdf", (DATA / "libreoffice_tables.pdf").read_bytes()),
        ("xls (LibreOffice)", "c.xls", (DATA / "legacy_office.xls").read_bytes()),
        ("doc (LibreOffice)", "d.doc", (DATA / "legacy_office.doc").read_bytes()),
        ("ppt (LibreOffice)", "e.ppt", gzip.decompress((DATA / "legacy_office.ppt.gz").read_bytes())),
        ("7z (LZMA2, 3 files)", "f.7z", (DATA / "sevenzip" / "plain.7z").read_bytes()),
        ("zip of 10 docx", "g.zip", samples.zip_of({f"d{n}.docx": samples.docx(lines) for n in range(10)})),
        ("e-mail with a docx", "h.eml", samples.eml("see attachment", {"x.docx": samples.docx(lines)})),
    ]


def median_seconds(run: Callable[[], object], times: int) -> float:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        spent.append(time.perf_counter() - started)
    return statistics.median(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print(f"# agent extraction worker, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; medians of {args.runs} "
          f"(new worker: of {max(3, args.runs // 4)})\n")
    print("| file | bytes | in the service, ms | kept worker, ms (ratio) | new worker, ms (ratio) |")
    print("|---|---|---|---|---|")
    warm = Pool(size=1, idle_seconds=600)
    try:
        for name, filename, data in corpus():
            here = median_seconds(lambda d=data, f=filename: _extract_here(d, f, ocr=False, seconds=60), args.runs)
            status = warm.extract(data, filename, ocr=False, seconds=60).status  # starts the kept worker
            kept = median_seconds(lambda d=data, f=filename: warm.extract(d, f, ocr=False, seconds=60), args.runs)

            def cold(d: bytes = data, f: str = filename) -> None:
                pool = Pool(size=1)
                pool.extract(d, f, ocr=False, seconds=60)
                pool.close()

            new = median_seconds(cold, max(3, args.runs // 4))
            print(f"| {name} ({status}) | {len(data):,} | {here * 1000:.1f} | {kept * 1000:.1f} ({kept / here:.2f}x) "
                  f"| {new * 1000:.0f} ({new / here:.1f}x) |")
    finally:
        warm.close()


if __name__ == "__main__":
    main()
