"""Watermark benchmark: invisibility, robustness, false accusations and speed, with two peers.

    .venv/bin/python -m bench.watermark            # full run (2 leaks per screen and attack)
    .venv/bin/python -m bench.watermark --trials 7 --procs 2 --twin-every 4   # 112 per attack
    .venv/bin/python -m bench.watermark --quick    # a smoke run
    .venv/bin/python -m bench.watermark --speed    # the speed table alone

Corpus: bench/watermark_corpus.py (headless Chromium). Attacks: bench/watermark_attacks.py.
Peers: bench/watermark_peers.py. Prints Markdown tables and writes them to
bench/out/watermark/report.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import multiprocessing
import multiprocessing.pool
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from bench import watermark_attacks as attacks
from bench.watermark_corpus import build_corpus
from bench.watermark_metrics import ciede2000, psnr, scielab
from bench.watermark_peers import BITS, Peer, load_peers
from watermark.decoder import decode_image
from watermark.overlay import render_overlay

OUT = pathlib.Path(__file__).parent / "out" / "watermark"
PEER_CONTENTS = ("doc-1366", "viewer-1080")


@dataclass
class Tally:
    trials: int = 0
    correct: int = 0
    wrong: int = 0
    unmarked: int = 0
    accused: int = 0
    traceless: int | None = None  # leaks identical, bit for bit, to the unmarked twin's (None: not checked)
    seconds: list[float] = field(default_factory=list)

    def row(self, name: str) -> str:
        rate = 100.0 * self.correct / max(1, self.trials)
        fa = f"{self.accused}/{self.unmarked}" if self.unmarked else "-"
        secs = f"{statistics.mean(self.seconds):.2f}" if self.seconds else "-"
        same = "-" if self.traceless is None else str(self.traceless)
        return f"| {name} | {self.trials} | {rate:.1f}% | {self.wrong} | {fa} | {secs} | {same} |"

    def rate_with_trace(self) -> float:
        """Decode rate over the leaks that still differ from their unmarked twin."""
        return 100.0 * self.correct / max(1, self.trials - (self.traceless or 0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few contents and trials")
    parser.add_argument("--trials", type=int, default=2, help="leaks per content and attack")
    parser.add_argument("--unmarked", type=int, default=2000, help="unmarked leaks for false accusations")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--speed", action="store_true", help="the speed table alone")
    parser.add_argument("--procs", type=int, default=2, help="worker processes for the robustness runs")
    parser.add_argument("--twin-every", type=int, default=1,
                        help="decode the unmarked twin of every k-th leak (the rest are random unmarked pieces)")
    args = parser.parse_args(argv)
    corpus = build_corpus(OUT / "corpus")
    if args.speed:
        print("\n".join(speed_table(corpus)))
        return 0
    if args.quick:
        corpus = {k: corpus[k] for k in ("doc-1366", "code-dark-1080", "flat-white-1080", "viewer-1080")}
        args.trials, args.unmarked = 1, 60
    rng = np.random.default_rng(20261123)
    marks = {name: int(rng.integers(0, 2**63)) * 2 + 1 for name in corpus}
    overlays = {name: render_overlay(marks[name], img.shape[1], img.shape[0]) for name, img in corpus.items()}
    marked = {name: attacks.composite(overlays[name], img) for name, img in corpus.items()}
    lines = [f"# Watermark benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC", "",
             f"`{' '.join(['python -m bench.watermark', *(argv if argv is not None else sys.argv[1:])])}`; "
             f"load average at start {_load()}", ""]
    lines += invisibility_table(corpus, marked, overlays)
    ours = robustness(corpus, marked, marks, args.trials, rng, args.procs, args.twin_every)
    ours["leak in a viewer (screenshot of screenshot)"] = viewer_attack(marked, marks, overlays, rng)
    ours["two monitors, two marks"] = two_monitors(marked, marks)
    false_accusations = unmarked_leaks(corpus, args.unmarked - sum(t.unmarked for t in ours.values()), rng, args.procs)
    peers = [] if args.no_peers else load_peers()
    lines += robustness_table(ours, false_accusations, peers, corpus, args.trials, rng)
    lines += speed_table(corpus)
    lines += [f"Load average at the end: {_load()} (2 cores, shared with other work).", ""]
    report = "\n".join(lines)
    print(report)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.md").write_text(report + "\n")
    return 0


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def invisibility_table(corpus: dict[str, np.ndarray], marked: dict[str, np.ndarray], overlays: dict[str, np.ndarray]) -> list[str]:
    rows = ["## Invisibility (overlay composited in 8 bits over each screen)", "",
            "| content | size | PSNR dB | CIEDE2000 mean (400k px sample) | CIEDE2000 p99 | S-CIELAB p99 (pattern alone on the mean colour, 40 px/deg) |",
            "|---|---|---|---|---|---|"]
    for name in tqdm(corpus, desc="invisibility", file=sys.stderr):
        bg, out = corpus[name], marked[name]
        sample = np.random.default_rng(1).choice(bg.shape[0] * bg.shape[1], min(400_000, bg.shape[0] * bg.shape[1]), replace=False)
        de = ciede2000(out.reshape(-1, 1, 3)[sample], bg.reshape(-1, 1, 3)[sample])
        s = pattern_scielab(overlays[name], bg)
        rows.append(f"| {name} | {bg.shape[1]}x{bg.shape[0]} | {psnr(out, bg):.1f} | {de.mean():.3f} | "
                    f"{np.percentile(de, 99):.3f} | {np.percentile(s, 99):.3f} |")
    return [*rows, ""]


def pattern_scielab(rgba: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """S-CIELAB of the pattern alone: the overlay over a flat screen of the content's mean colour,
    against that screen under a uniform overlay of the same mean alpha and colour (its tint)."""
    rgba = rgba[:1080, :1920]  # the pattern is periodic: a 1080p piece says it all
    # The flat screen is an 8-bit screen: both sides use the same rounded colour, so the
    # comparison sees the pattern and not the rounding of the mean colour.
    flat = np.broadcast_to(np.rint(bg.reshape(-1, 3).mean(axis=0)), (*rgba.shape[:2], 3))
    alpha = rgba[..., 3:4].astype(np.float64) / 255.0
    mean_alpha = float(alpha.mean())
    mean_colour = (alpha * rgba[..., :3]).mean(axis=(0, 1)) / max(mean_alpha, 1e-12)
    tinted = flat * (1.0 - mean_alpha) + mean_colour * mean_alpha
    return scielab(attacks.composite(rgba, flat), tinted)


def decode_marks(img: np.ndarray) -> tuple[set[int], float]:
    result = decode_image(img)
    return {d.mark for d in result.marks}, result.seconds


_SHARED: dict[str, Any] = {}  # read-only inputs of the worker processes (inherited by fork)


def _attack_job(job: tuple[str, str, int, bool]) -> tuple[str, bool, int, float, bool | None, bool]:
    """One marked leak and, if ``twin``, the same attack on the unmarked screen (in a worker).

    The last item says whether the leak is identical, bit for bit, to the unmarked twin's: then
    it carries no trace of the mark at all (a flat white screen pushed to pure white)."""
    attack_name, name, seed, twin = job
    attack = attacks.ATTACKS[attack_name]
    leak = attack(_SHARED["marked"][name], np.random.default_rng(seed))
    clean_leak = attack(_SHARED["corpus"][name], np.random.default_rng(seed))
    traceless = leak.shape == clean_leak.shape and bool(np.array_equal(leak, clean_leak))
    found, secs = decode_marks(leak)
    mark = _SHARED["marks"][name]
    if attack_name == CLIPPING_ATTACK:
        attack_name = _clip_class(name, leak, clean_leak)
    if not twin:
        return attack_name, mark in found, len(found - {mark}), secs, None, traceless
    clean, _ = decode_marks(clean_leak)
    return attack_name, mark in found, len(found - {mark}), secs, bool(clean), traceless


CLIPPING_ATTACK = "brightness/contrast"
KEPT = f"{CLIPPING_ATTACK}: edit leaves the mark on >= half the screen"
ERASED = f"{CLIPPING_ATTACK}: edit clips the mark off > half the screen"


def _clip_class(name: str, leak: np.ndarray, clean_leak: np.ndarray) -> str:
    """Whether an edit erased the mark from most of the screen: the share of pixels where the
    marked and unmarked screens differ before the edit and no longer differ after it. Edits that
    clip the page to pure white or black erase the mark there, whatever the decoder does."""
    before = np.any(_SHARED["marked"][name] != _SHARED["corpus"][name], axis=-1)
    after = np.any(leak != clean_leak, axis=-1)
    erased = np.count_nonzero(before & ~after) / max(1, np.count_nonzero(before))
    return ERASED if erased > 0.5 else KEPT


def _pool(procs: int) -> multiprocessing.pool.Pool:
    return multiprocessing.get_context("fork").Pool(procs)


def robustness(corpus: dict[str, np.ndarray], marked: dict[str, np.ndarray], marks: dict[str, int],
               trials: int, rng: np.random.Generator, procs: int = 1, twin_every: int = 1) -> dict[str, Tally]:
    """Every attack on every screen ``trials`` times; every ``twin_every``-th leak also on the
    unmarked screen (false accusations; the rest of the 2,000 are random unmarked pieces)."""
    tallies: dict[str, Tally] = {name: Tally(traceless=0) for name in attacks.ATTACKS}
    jobs = [(a, n, int(rng.integers(2**32)), t % twin_every == 0)
            for a in attacks.ATTACKS for n in corpus for t in range(trials)]
    _SHARED.update(corpus=corpus, marked=marked, marks=marks)
    with _pool(procs) as pool:
        results = pool.imap(_attack_job, jobs, chunksize=1)
        for attack_name, ok, wrong, secs, accused, traceless in tqdm(results, total=len(jobs), desc="attacks (ours)", file=sys.stderr):
            if attack_name in (KEPT, ERASED):
                part = tallies.setdefault(attack_name, Tally(traceless=0))
                part.trials, part.correct = part.trials + 1, part.correct + ok
                part.traceless = (part.traceless or 0) + traceless
                attack_name = CLIPPING_ATTACK
            tally = tallies[attack_name]
            tally.trials += 1
            tally.correct += ok
            tally.traceless = (tally.traceless or 0) + traceless
            tally.wrong += wrong
            tally.seconds.append(secs)
            if accused is not None:
                tally.unmarked += 1
                tally.accused += accused
            _snapshot(tallies)
    return tallies


def _snapshot(tallies: dict[str, Tally]) -> None:
    """Partial robustness rows, rewritten as results come in (a long run can be read while it runs)."""
    OUT.mkdir(parents=True, exist_ok=True)
    rows = [tally.row(name) for name, tally in tallies.items() if tally.trials]
    (OUT / "progress.md").write_text("\n".join([f"load {_load()}", *rows]) + "\n")


def viewer_attack(marked: dict[str, np.ndarray], marks: dict[str, int], overlays: dict[str, np.ndarray],
                  rng: np.random.Generator) -> Tally:
    tally = Tally()
    names = list(marked)
    for i, name in enumerate(tqdm(names, desc="viewer", file=sys.stderr)):
        screen = names[(i + 1) % len(names)]
        leak = attacks.in_viewer(marked[name], overlays[screen], rng)
        found, secs = decode_marks(leak)
        tally.trials += 1
        tally.correct += marks[name] in found
        tally.wrong += len(found - {marks[name], marks[screen]})
        tally.seconds.append(secs)
    return tally


def two_monitors(marked: dict[str, np.ndarray], marks: dict[str, int]) -> Tally:
    tally = Tally()
    by_height: dict[int, list[str]] = {}
    for name, img in marked.items():
        by_height.setdefault(img.shape[0], []).append(name)
    pairs = [(g[i], g[(i + 1) % len(g)]) for g in by_height.values() if len(g) > 1 for i in range(len(g))]
    for left, right in tqdm(pairs, desc="two monitors", file=sys.stderr):
        found, secs = decode_marks(np.concatenate([marked[left], marked[right]], axis=1))
        tally.trials += 1
        tally.correct += {marks[left], marks[right]} <= found
        tally.wrong += len(found - {marks[left], marks[right]})
        tally.seconds.append(secs)
    return tally


def _unmarked_job(job: tuple[str, int, int, int, int, int, int]) -> bool:
    name, ch, cw, y, x, kind, seed = job
    img = _SHARED["corpus"][name]
    piece = list(attacks.ATTACKS.values())[kind](img[y : y + ch, x : x + cw], np.random.default_rng(seed))
    found, _ = decode_marks(piece)
    return bool(found)


def unmarked_leaks(corpus: dict[str, np.ndarray], count: int, rng: np.random.Generator, procs: int = 1) -> Tally:
    """Random pieces of unmarked screens, randomly attacked: any mark found is a false accusation."""
    tally = Tally()
    names = list(corpus)
    jobs = []
    for _ in range(max(0, count)):
        name = names[int(rng.integers(len(names)))]
        h, w = corpus[name].shape[:2]
        ch, cw = int(rng.integers(min(h, 200), min(h, 480) + 1)), int(rng.integers(min(w, 200), min(w, 640) + 1))
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        jobs.append((name, ch, cw, y, x, int(rng.integers(len(attacks.ATTACKS))), int(rng.integers(2**32))))
    _SHARED.update(corpus=corpus)
    with _pool(procs) as pool:
        for accused in tqdm(pool.imap(_unmarked_job, jobs, chunksize=4), total=len(jobs), desc="unmarked leaks", file=sys.stderr):
            tally.unmarked += 1
            tally.accused += accused
    return tally


def robustness_table(ours: dict[str, Tally], extra: Tally, peers: list[Peer], corpus: dict[str, np.ndarray],
                     trials: int, rng: np.random.Generator) -> list[str]:
    header = ["| attack | leaks | decoded | wrong marks | false accusations (unmarked) | decode s | "
              "leaks identical to the unmarked twin's (no trace of the mark) |", "|---|---|---|---|---|---|---|"]
    rows = ["## Robustness: leakguard", "", *header]
    rows += [tally.row(name) for name, tally in ours.items()]
    screenshot = [t for n, t in ours.items() if n in attacks.ATTACKS]
    average = statistics.mean(100.0 * t.correct / max(1, t.trials) for t in screenshot)
    with_trace = statistics.mean(t.rate_with_trace() for t in screenshot)
    traceless = sum(t.traceless or 0 for t in screenshot)
    accused = sum(t.accused for t in ours.values()) + extra.accused
    unmarked = sum(t.unmarked for t in ours.values()) + extra.unmarked
    wrong = sum(t.wrong for t in ours.values())
    rows += ["", f"Average decode rate over the {len(screenshot)} screenshot attacks: **{average:.2f}%**; "
             f"wrong marks: **{wrong}**; false accusations: **{accused} of {unmarked}** unmarked leaks "
             f"({extra.unmarked} of them random pieces of unmarked screens, randomly attacked). "
             f"Over the leaks that still differ from their unmarked twin (leaving out {traceless} that are "
             f"identical to it bit for bit, so carry no trace of any mark): **{with_trace:.2f}%**.", ""]
    for peer in peers:
        rows += [f"## Robustness: {peer.name} (same attacks; it cannot say 'no mark', so every failed decode "
                 "is a wrong claim)", "", "| content | PSNR dB |", "|---|---|"]
        tallies, quality = peer_robustness(peer, corpus, rng)
        rows += [f"| {n} | {q:.1f} |" for n, q in quality.items()]
        rows += ["", *header, *[t.row(n) for n, t in tallies.items()], ""]
    return rows


def peer_robustness(peer: Peer, corpus: dict[str, np.ndarray], rng: np.random.Generator) -> tuple[dict[str, Tally], dict[str, float]]:
    tallies: dict[str, Tally] = {}
    quality: dict[str, float] = {}
    names = [n for n in PEER_CONTENTS if n in corpus]
    for name in tqdm(names, desc=peer.name, file=sys.stderr):
        bits = rng.integers(0, 2, BITS).astype(np.uint8)
        embedded = peer.embed(corpus[name], bits)
        quality[name] = psnr(embedded, corpus[name])
        for attack_name, attack in attacks.ATTACKS.items():
            tally = tallies.setdefault(attack_name, Tally())
            leak = attack(embedded, np.random.default_rng(int(rng.integers(2**32))))
            got, secs = timed(lambda leak=leak: safe_extract(peer, leak))
            tally.trials += 1
            tally.correct += got is not None and bool(np.array_equal(got, bits))
            tally.wrong += got is not None and not np.array_equal(got, bits)
            tally.seconds.append(secs)
    return tallies, quality


def safe_extract(peer: Peer, img: np.ndarray) -> np.ndarray | None:
    try:
        return peer.extract(img)
    except Exception:  # a peer crashing on an attacked image counts as "not decoded"
        return None


def timed(fn: Callable[[], np.ndarray | None]) -> tuple[np.ndarray | None, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def speed_table(corpus: dict[str, np.ndarray]) -> list[str]:
    """Render and decode times. Decodes are timed twice: wall seconds with OpenCV's threads, and
    on one core: every thread of this process pinned to one CPU and OpenCV on one thread, CPU
    and wall seconds (equal unless something waits), the latter on the unmarked screens too
    (nothing found: every fallback runs).

    The pinning matters: a library that runs on every core (OpenBLAS does, for a matrix-vector
    product) would otherwise count the CPU time its spinning threads burn, and make the decode
    look slower than it is on one core; pinned, such threads can only take turns.
    """
    renders = []
    for _ in range(5):
        start = time.perf_counter()
        render_overlay(0x0123456789ABCDEF, 3840, 2160)
        renders.append(time.perf_counter() - start)
    unmarked = [img for img in corpus.values() if img.shape[:2] == (1080, 1920)]
    screens = [attacks.composite(render_overlay(7, 1920, 1080), img) for img in unmarked]
    decodes = [decode_image(img).seconds for img in screens]
    with _one_core():
        one_core, one_core_unmarked = _core_seconds(screens), _core_seconds(unmarked)
        reference = _reference_seconds()
    fresh, fresh_unmarked = _fresh_process_seconds(screens), _fresh_process_seconds(unmarked)
    rows = [("decode a 1080p screenshot ({n} screens), CPU s on one core", one_core),
            ("same, the unmarked screens (nothing found)", one_core_unmarked)]
    lines = ["## Speed (this machine, shared with other work)", "",
             "| what | median s | max s |", "|---|---|---|",
             f"| render 4K overlay | {statistics.median(renders):.3f} | {max(renders):.3f} |",
             f"| decode a 1080p screenshot ({len(decodes)} screens), wall, OpenCV threads on | "
             f"{statistics.median(decodes):.3f} | {max(decodes):.3f} |"]
    for label, pairs in rows:
        cpu, wall = [c for c, _ in pairs], [w for _, w in pairs]
        lines.append(f"| {label.format(n=len(pairs))} (wall {statistics.median(wall):.3f} / {max(wall):.3f}) | "
                     f"{statistics.median(cpu):.3f} | {max(cpu):.3f} |")
    lines += [f"| first decode in a fresh process (as `leakguard trace`), marked | "
              f"{statistics.median(fresh):.3f} | {max(fresh):.3f} |",
              f"| same, unmarked | {statistics.median(fresh_unmarked):.3f} | {max(fresh_unmarked):.3f} |"]
    lines.append(f"| machine reference: 10 x (Gaussian blur sigma 3 + FFT) of a 1080p float image, CPU s on one core | "
                 f"{statistics.median(reference):.3f} | {max(reference):.3f} |")
    return [*lines, ""]


@contextlib.contextmanager
def _one_core() -> Iterator[None]:
    """Pin every thread of this process to one CPU, and OpenCV to one thread, then restore."""
    threads = cv2.getNumThreads()
    tids = [int(t) for t in os.listdir("/proc/self/task")] if os.path.isdir("/proc/self/task") else [0]
    cpu = min(os.sched_getaffinity(0))
    saved: dict[int, set[int]] = {}
    cv2.setNumThreads(1)
    try:
        for tid in tids:
            with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
                saved[tid] = os.sched_getaffinity(tid)
                os.sched_setaffinity(tid, {cpu})
        yield
    finally:
        for tid, mask in saved.items():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(tid, mask)
        cv2.setNumThreads(threads)


def _reference_seconds(repeats: int = 5) -> list[float]:
    """CPU seconds of a fixed workload like the decoder's own (blurs and FFTs at 1080p), so that
    decode times taken on different machines, or on one machine on different days, compare.

    Taken after the decodes, as they are: the same workload runs about a third slower in a fresh
    process (glibc gives its large temporaries fresh pages until large frees raise its mmap
    threshold), and so does a first decode (``_fresh_process_seconds``).
    """
    image = np.random.default_rng(0).random((1080, 1920), dtype=np.float32)
    seconds = []
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(10):
            cv2.GaussianBlur(image, (19, 19), 3.0)
            np.fft.rfft2(image)
        seconds.append(time.process_time() - start)
    return seconds


_FRESH_DECODE = """
import sys, time, cv2, numpy as np
from watermark.decoder import decode_image
cv2.setNumThreads(1)
image = np.load(sys.argv[1])
start = time.process_time()
decode_image(image)
print(time.process_time() - start)
"""


def _fresh_process_seconds(images: list[np.ndarray]) -> list[float]:
    """CPU seconds of one decode in a fresh process pinned to one CPU, as ``leakguard trace``
    runs it (imports and image loading not counted): nothing cached, no warm heap."""
    cpu = min(os.sched_getaffinity(0))
    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, img in enumerate(images):
            path = pathlib.Path(tmp) / f"{i}.npy"
            np.save(path, img)
            out = subprocess.run([sys.executable, "-c", _FRESH_DECODE, str(path)], check=True, capture_output=True,
                                 text=True, preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
            seconds.append(float(out.stdout.split()[-1]))
    return seconds


def _core_seconds(images: list[np.ndarray]) -> list[tuple[float, float]]:
    """(CPU, wall) seconds of each decode."""
    seconds = []
    for img in images:
        cpu, wall = time.process_time(), time.perf_counter()
        decode_image(img)
        seconds.append((time.process_time() - cpu, time.perf_counter() - wall))
    return seconds


if __name__ == "__main__":
    sys.exit(main())
