"""Speed of reading OneNote sections (`rules.extract.onenote`), beside pyOneNote in the same run.

Sections come from the tests' writer (`tests/rules/one_pack.py`): pages of prose paragraphs, one
in four with a CSV file inserted. For each: MB/s and pages/s of our reader (every string and
inserted file), of `extract` on the whole section (the files read too), and of pyOneNote (its
`get_properties` and `get_files`, pure Python like ours).

    .venv/bin/python -m bench.onenote [--pages 400]
"""

from __future__ import annotations

import argparse
import io
import random
import time

from bench.pst import best_of
from bench.rules_corpus import sentence
from rules.extract import Limits, extract
from rules.extract.budget import Budget
from rules.extract.onenote import onenote_content
from tests.rules.one_pack import Embedded, Page, one_bytes


def section(pages: int, seed: int) -> list[Page]:
    rng = random.Random(seed)
    out = []
    for n in range(pages):
        files = [Embedded(f"export-{n}.csv", "".join(f"{r},{rng.randint(10**8, 10**9)},{sentence(rng, 4)}\n"
                                                     for r in range(rng.randint(50, 300))).encode(), ".csv")
                 ] if n % 4 == 0 else []
        out.append(Page(sentence(rng, 5), [sentence(rng, rng.randint(8, 40)) for _ in range(rng.randint(3, 25))],
                        files=files))
    return out


def pyonenote_seconds(one: bytes) -> float | None:
    try:
        from pyOneNote.OneDocument import OneDocment
    except ImportError:
        return None

    def run() -> None:
        document = OneDocment(io.BytesIO(one))
        document.get_properties()
        document.get_files()

    return best_of(3, run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=400)
    args = parser.parse_args()
    limits = Limits(max_entries=100_000)
    print(f"OneNote sections of {args.pages} pages (bench.onenote, {time.strftime('%Y-%m-%d %H:%M')})\n")
    print("| section | size | ours: strings and files | ours: extract | pyOneNote | ours / pyOneNote |")
    print("|---|---|---|---|---|---|")
    pages = section(args.pages, 7)
    for name, options in (("plain", {}), ("fragments of 4 KiB, short references", {"fragment_size": 4096,
                                                                                  "compact_refs": True})):
        one = one_bytes(pages, **options)
        mb = len(one) / 1e6
        read = best_of(3, lambda one=one: onenote_content(one, Budget(limits, len(one)), "b.one"))  # type: ignore[misc]
        whole = best_of(3, lambda one=one: extract(one, "b.one", limits=limits))  # type: ignore[misc]
        theirs = pyonenote_seconds(one)
        print(f"| {name} | {mb:.1f} MB | {mb / read:.1f} MB/s, {args.pages / read:,.0f} pages/s | {mb / whole:.1f} MB/s | "
              f"{f'{mb / theirs:.1f} MB/s' if theirs else 'not installed'} | "
              f"{f'{theirs / read:.2f}x' if theirs else '-'} |")


if __name__ == "__main__":
    main()
