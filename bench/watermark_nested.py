"""Screenshot of a screenshot: decode rate and decode time (python -m bench.watermark_nested).

A leaked screen (mark A, 1366 x 768 or 1920 x 1080, text page, light or dark) is shown at a
given scale in an image viewer (dark or light) on a second screen of the same size that carries
its own overlay (mark B); that screen is captured, then saved as PNG, JPEG 75, or rescaled.
Reported: how often A is read, wrong marks (anything but A and B), and the decode time.

Timing: CPU seconds of this process (``time.process_time``) with OpenCV on one thread, so a
machine shared with other work still gives one-core figures; wall seconds are printed too.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import cv2
import numpy as np

from tests.watermark.images import MARK, OTHER_MARK, composite, jpeg, marked, resize, text_page
from watermark.decoder import DecodeResult, decode_image, decode_layer
from watermark.overlay import render_overlay

OUTER = {
    "png": lambda im: im,
    "jpeg75": lambda im: jpeg(im, 75),
    "x0.8 area": lambda im: resize(im, 0.8),
    "x0.6 linear": lambda im: resize(im, 0.6, cv2.INTER_LINEAR),
}
SCALES = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def viewer_capture(scale: float, size: tuple[int, int], dark_viewer: bool, seed: int) -> np.ndarray:
    width, height = size
    inner = resize(marked(text_page(width, height, seed=seed, dark=seed % 2 == 1), MARK), scale)
    viewer = np.full((height, width, 3), (40, 40, 44) if dark_viewer else (236, 236, 236), np.uint8)
    viewer[:28] = (230, 230, 230) if dark_viewer else (60, 60, 66)
    ih, iw = inner.shape[:2]
    rng = np.random.default_rng(seed)
    top = int(rng.integers(28, max(29, height - ih + 1)))
    left = int(rng.integers(0, max(1, width - iw + 1)))
    viewer[top : top + ih, left : left + iw] = inner
    return composite(render_overlay(OTHER_MARK, width, height), viewer)


def timed(img: np.ndarray, decode: Callable[[np.ndarray], DecodeResult] = decode_image) -> tuple[set[int], float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = decode(img)
    return {d.mark for d in result.marks}, time.process_time() - cpu, time.perf_counter() - wall


def rates(sizes: list[tuple[int, int]], decode: Callable[[np.ndarray], DecodeResult]) -> None:
    print("| outer capture | " + " | ".join(f"inner {s}" for s in SCALES) + " | wrong marks |")
    print("|---|" + "---|" * (len(SCALES) + 1))
    for name, attack in OUTER.items():
        cells, wrong = [], 0
        for scale in SCALES:
            hits = total = 0
            for size in sizes:
                for dark in (True, False):
                    marks, _, _ = timed(attack(viewer_capture(scale, size, dark, seed=total + 7)), decode)
                    hits += MARK in marks
                    wrong += len(marks - {MARK, OTHER_MARK})
                    total += 1
            cells.append(f"{hits}/{total}")
        print(f"| {name} | " + " | ".join(cells) + f" | {wrong} |")


def speed(repeats: int) -> None:
    screens = {
        "text page": text_page(1920, 1080, seed=3),
        "dark editor": text_page(1920, 1080, seed=4, dark=True),
        "white": np.full((1080, 1920, 3), 255, np.uint8),
        "grey": np.full((1080, 1920, 3), 128, np.uint8),
    }
    print("| 1080p screenshot | found | CPU s median | CPU s max | wall s median |")
    print("|---|---|---|---|---|")
    for label, variant in (("marked", lambda bg: marked(bg, OTHER_MARK)), ("unmarked", lambda bg: bg)):
        for name, bg in screens.items():
            img = variant(bg)
            runs = [timed(img) for _ in range(repeats)]
            cpu = sorted(r[1] for r in runs)
            wall = sorted(r[2] for r in runs)
            print(f"| {label} {name} | {bool(runs[0][0])} | {cpu[len(cpu) // 2]:.3f} | {cpu[-1]:.3f} | {wall[len(wall) // 2]:.3f} |")
    nested = viewer_capture(0.4, (1920, 1080), True, seed=7)
    runs = [timed(nested) for _ in range(repeats)]
    cpu = sorted(r[1] for r in runs)
    print(f"| viewer at 0.4 (nested) | {MARK in runs[0][0]} | {cpu[len(cpu) // 2]:.3f} | {cpu[-1]:.3f} | "
          f"{sorted(r[2] for r in runs)[len(runs) // 2]:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="1366 x 768 only")
    parser.add_argument("--baseline", action="store_true", help="rates of the one-layer decoder only (no cancelling)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    print(f"load average at start: {os.getloadavg()}")
    sizes = [(1366, 768)] if args.quick else [(1366, 768), (1920, 1080)]
    if args.baseline:
        rates(sizes, decode_layer)
    else:
        speed(args.repeats)
        print()
        rates(sizes, decode_image)
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
