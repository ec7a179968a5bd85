"""Overlay benchmark: frame rendering, start-up, raise latency, idle cost and screen quality.

Runs the real overlay process on its own Xvfb + xcompmgr display and reads the screen back with
mss. Usage: python -m bench.overlay [--quick] [--backend tiled|qt|both]

`tiled` is the default X11 overlay (server-tiled background pixmaps, no Qt or numpy in the
process); `qt` is the Qt overlay (`LEAKGUARD_OVERLAY=qt`), which Windows and macOS use. Idle CPU
counts the overlay's short-lived renderer children too (psutil's children_user/children_system).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np
import psutil

from leakguard.xdisplay import VirtualDisplay, start_virtual_display
from tests.e2e.screen import (
    backdrop,
    busy_pattern,
    current_slot,
    grab,
    psnr,
    read_status,
    stop_process,
    write_marks,
    write_settings,
)
from watermark.marks import EPOCH
from watermark.overlay import render_overlay, render_tile

SIZES = ((1366, 768), (1920, 1080), (2560, 1440), (3840, 2160))
MARK = 0x0123456789ABCDEF


def timed(function: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def render_rows(repeats: int) -> list[tuple[str, str]]:
    rows = []
    for width, height in SIZES:
        milliseconds = timed(functools.partial(render_overlay, MARK, width, height), repeats)
        tile = timed(functools.partial(render_tile, MARK, width, height), repeats)
        side = render_tile(MARK, width, height).shape
        rows.append((f"render_overlay {width}x{height}", f"{milliseconds:.1f} ms"))
        rows.append((f"render_tile {width}x{height} ({side[1]}x{side[0]} px)", f"{tile:.2f} ms"))
    return rows


BACKEND = "tiled"  # set by main(): which overlay backend the screen rows run


def start_overlay(display: VirtualDisplay, state: pathlib.Path) -> tuple[subprocess.Popen[bytes], float]:
    (state / "overlay-status.json").unlink(missing_ok=True)
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "agent.session.overlay", "--state-dir", str(state)],
                               env=display.env(LEAKGUARD_OVERLAY=BACKEND), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    while (status := read_status(state)) is None or status["pid"] != process.pid:
        time.sleep(0.005)
    return process, time.perf_counter() - started


def screen_rows(quick: bool) -> list[tuple[str, str]]:
    return [(f"[{BACKEND}] {name}", value) for name, value in _screen_rows(quick)]


def _screen_rows(quick: bool) -> list[tuple[str, str]]:
    width, height = 1920, 1080
    display = start_virtual_display(width, height)
    rows: list[tuple[str, str]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            state = pathlib.Path(tmp)
            write_marks(state, 600, {current_slot(600): MARK})
            marks = json.loads((state / "marks.json").read_text())  # with the epoch, as the agent writes it
            (state / "marks.json").write_text(json.dumps({**marks, "epoch": EPOCH}))
            rows.append(("start-up to first paint, invisible layer", startup(display, state, 2 if quick else 5)))
            write_settings(state, text="alice pc-042 10.0.0.7 {time}", opacity=0.12)
            rows.append(("start-up to first paint, plus visible text", startup(display, state, 2 if quick else 5)))
            process, _ = start_overlay(display, state)
            try:
                rows += [(f"{name}, visible text", value) for name, value in idle_rows(process, 3 if quick else 10)]
            finally:
                stop_process(process)
            (state / "overlay.json").unlink()
            process, _ = start_overlay(display, state)
            try:
                rows += idle_rows(process, 3 if quick else 10)
                rows += raise_rows(display, pathlib.Path(tmp))
                rows += quality_rows(display, pathlib.Path(tmp), width, height)
            finally:
                stop_process(process)
    finally:
        display.stop()
    return rows


def startup(display: VirtualDisplay, state: pathlib.Path, repeats: int) -> str:
    starts = []
    for _ in range(repeats):
        process, seconds = start_overlay(display, state)
        starts.append(seconds)
        stop_process(process)
    return f"{statistics.median(starts) * 1000:.0f} ms (median of {repeats})"


def idle_rows(process: subprocess.Popen[bytes], seconds: float) -> list[tuple[str, str]]:
    info = psutil.Process(process.pid)
    time.sleep(1.0)  # first paint done, renderer child gone
    before = sum(info.cpu_times()[:4])  # user, system and those of waited-for children (the renderer)
    time.sleep(seconds)
    cpu = 100 * (sum(info.cpu_times()[:4]) - before) / seconds
    memory = info.memory_full_info()
    return [(f"idle CPU over {seconds:.0f} s (1 monitor 1920x1080)", f"{cpu:.2f} % of one core"),
            ("resident memory (RSS / PSS)", f"{memory.rss / 2**20:.1f} / {memory.pss / 2**20:.1f} MiB")]


def raise_rows(display: VirtualDisplay, tmp: pathlib.Path) -> list[tuple[str, str]]:
    """From the moment another window is mapped above the overlay to the overlay being on top again."""
    from Xlib import X
    from Xlib import display as xdisplay

    conn = xdisplay.Display(display.name)
    root = conn.screen().root
    samples = []
    for _ in range(3):
        with backdrop(display, busy_pattern(400, 300), 0, 0, tmp, title="cover"):
            pass  # started and stopped: only used to warm up the page cache
        process = subprocess.Popen([sys.executable, "-m", "tests.e2e.backdrop", str(tmp / "backdrop-0-0.png"),
                                    "0", "0", "cover"], env=display.env(), stdout=subprocess.DEVNULL)
        covered_at = None
        deadline = time.perf_counter() + 6
        while time.perf_counter() < deadline:
            order = [w.get_wm_name() for w in root.query_tree().children
                     if w.get_attributes().map_state == X.IsViewable and w.get_wm_name() in ("cover", "leakguard-overlay")]
            if covered_at is None and order[-1:] == ["cover"]:
                covered_at = time.perf_counter()
            if covered_at is not None and order[-1:] == ["leakguard-overlay"]:
                samples.append(time.perf_counter() - covered_at)
                break
            time.sleep(0.001)
        stop_process(process)
    conn.close()
    found = f"{statistics.median(samples) * 1000:.0f} ms (median of {len(samples)})" if samples else "-"
    return [("window mapped above the overlay -> overlay on top again", found),
            ("tries where the new window was never seen above the overlay", f"{3 - len(samples)} of 3")]


def quality_rows(display: VirtualDisplay, tmp: pathlib.Path, width: int, height: int) -> list[tuple[str, str]]:
    rows = []
    pages = {"white page": np.full((height, width, 3), 255, np.uint8),
             "black page": np.zeros((height, width, 3), np.uint8),
             "busy gradient + noise": busy_pattern(width, height, seed=4)}
    for name, page in pages.items():
        with backdrop(display, page, 0, 0, tmp):
            time.sleep(1.2)  # the overlay raises itself above the new window
            shot = grab(display, 0, 0, width, height).astype(np.float64)
            overlay = render_overlay(MARK, width, height).astype(np.float64)
            alpha = overlay[:, :, 3:4] / 255
            expected = alpha * overlay[:, :, :3] + (1 - alpha) * page
            rows.append((f"PSNR with vs without overlay, {name}", f"{psnr(page, shot):.2f} dB"))
            rows.append((f"max abs(screen - (a*C + (1-a)*bg)), {name}", f"{np.abs(shot - expected).max():.2f} levels"))
    return rows


def print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"leakguard overlay benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
          f"{psutil.cpu_count()} CPUs, load {psutil.getloadavg()[0]:.1f}")
    print(f"| {'measure'.ljust(width)} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for name, value in rows:
        print(f"| {name.ljust(width)} | {value} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--backend", choices=["tiled", "qt", "both"], default="both")
    args = parser.parse_args()
    global BACKEND  # noqa: PLW0603 - one switch for the whole run
    rows = render_rows(3 if args.quick else 10)
    for backend in (["tiled", "qt"] if args.backend == "both" else [args.backend]):
        BACKEND = backend
        rows += screen_rows(args.quick)
    print_table(rows)


if __name__ == "__main__":
    main()
