"""Speed of the PPMd var.H decoder (`rules.extract.ppmd`): 7-Zip's PPMd coder beside pyppmd (7-Zip's
own C code) in the same run, and RAR 2.9's PPMd blocks.

Inputs: English prose and CSV rows (what PPMd is chosen for), and random bytes, 300 KB each,
encoded by pyppmd at order 6 with 16 MiB (7-Zip's defaults for -m0=PPMd) and at order 16; RAR
blocks by the tests' mirror encoder at order 8.

    .venv/bin/python -m bench.ppmd
"""

from __future__ import annotations

import random
import time
from functools import partial

import pyppmd

from bench.pst import best_of
from bench.rules_corpus import sentence
from rules.extract.ppmd import ppmd7_decompress
from tests.rules.test_ppmd import _pyppmd, _rar_block, _rar_decode

SIZE = 300_000


def contents() -> dict[str, bytes]:
    rng = random.Random(3)
    prose = "\n".join(sentence(rng, rng.randint(8, 30)) for _ in range(6000)).encode()[:SIZE]
    rows = "".join(f"{n},{rng.randint(10**8, 10**9)},{sentence(rng, 3)},{rng.uniform(1, 999):.2f}\n"
                   for n in range(12000)).encode()[:SIZE]
    return {"prose": prose, "CSV rows": rows, "random bytes": rng.randbytes(SIZE)}


def main() -> None:
    print(f"PPMd var.H decoding, {SIZE // 1000} KB each (bench.ppmd, {time.strftime('%Y-%m-%d %H:%M')})\n")
    print("| content | 7z o6 16 MiB: ours | pyppmd (C) | ours / pyppmd | 7z o16: ours | RAR o8: ours |")
    print("|---|---|---|---|---|---|")
    for name, data in contents().items():
        cells = []
        for order in (6, 16):
            packed = _pyppmd(data, order, 16 << 20)
            cells.append(best_of(2, partial(ppmd7_decompress, packed, order, 16 << 20, len(data))))
            if order == 6:
                theirs = best_of(1, partial(pyppmd.Ppmd7Decoder(6, 16 << 20).decode, packed, len(data)))
        block, _ = _rar_block(data, 8, memory_mb=16)
        assert _rar_decode([block])[0] == [data]
        rar = best_of(1, partial(_rar_decode, [block]))
        mb = len(data) / 1e6
        print(f"| {name} | {mb / cells[0] * 1000:.0f} KB/s | {mb / theirs:.1f} MB/s | {theirs / cells[0]:.4f}x | "
              f"{mb / cells[1] * 1000:.0f} KB/s | {mb / rar * 1000:.0f} KB/s |")


if __name__ == "__main__":
    main()
