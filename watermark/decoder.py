"""Blind decoder: only the leaked image, no original, no secret.

Steps: project RGB onto the overlay's colour direction, estimate the tile period from the
autocorrelation, resample to the nominal period, fold, align on the pilot, read the cells,
Viterbi-decode and check (pilot z-score, CRC-32, codeword agreement). Each region of the image is
tried on its own as well (halves, thirds), so a screenshot spanning two monitors that carry
different marks yields both; every candidate period is tried, so a screenshot of a screenshot
shown smaller yields the inner mark and the outer screen's own. A mark is reported only when every check passes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np
import numpy.typing as npt

from watermark import channel, context, nested, sync
from watermark.pattern import cell_size_for

MIN_PILOT_Z = 5.0
MAX_NOMINAL_PIXELS = 2_500_000
PERIOD_CANDIDATES = 4
MIN_SIDE = 24
# Periods of an unscaled screenshot (cell sizes 6..16 px): always screened, because busy periodic
# content (spreadsheet grids) can hide the tile's own autocorrelation peak.
NATIVE_PERIODS = tuple(float(channel.CELLS * cell) for cell in range(6, 17))
SAME_PERIOD = 0.001
SCREEN_TILES = 5
SCREEN_Z = 4.0
MAX_PERIODS = 4
NEIGHBOUR_READS = 3
PERIOD_NUDGES = (-0.002, 0.002, -0.004, 0.004)
WHOLE_IMAGE_PERIODS = 6
CONTEXT_MAX_SIDE = 1080
CLIPPED_SHARE = 0.2
CONTEXT_ESTIMATES = 4
# The whole-image fallback screens a period finer than the nominal one on the capture's own
# pixels first (``_Capture.gate_z``), and upsamples the capture only when that shows the pilot.
GATE_Z = 4.5
GATE_SIGMA = 1.25


@dataclass(frozen=True)
class Detection:
    """One mark found in the image; ``confidence`` in 0..1 (above 0.5 only for found marks)."""

    mark: int
    confidence: float


@dataclass(frozen=True)
class DecodeResult:
    """Every distinct mark found (several when the image spans monitors) and the decode time."""

    found: bool
    marks: tuple[Detection, ...]
    seconds: float
    confidence: float = 0.0


def decode_image(rgb: npt.NDArray[np.uint8]) -> DecodeResult:
    """Find the overlay's marks in a leaked screenshot (H x W x 3 RGB, or H x W grey, uint8).

    Then look under each mark found for a picture of another marked screen (``watermark.nested``).
    """
    return nested.add_inner_marks(rgb, decode_layer(rgb), decode_layer)


def decode_layer(rgb: npt.NDArray[np.uint8]) -> DecodeResult:
    """The marks readable directly in ``rgb``, without looking under them for inner pictures."""
    start = time.perf_counter()
    projected = project(rgb)
    found: dict[int, float] = {}
    miss = 0.0
    if min(projected.shape) < MIN_SIDE:
        return DecodeResult(False, (), time.perf_counter() - start, 0.0)
    capture = _Capture(projected, sync.flat_weights(projected, sync.NATIVE_FLAT_MIN_RANGE))
    candidates = _candidates(sync.estimate_periods(projected, PERIOD_CANDIDATES))
    for reads in _reads(capture, candidates, found):
        for read in reads:
            if read.mark is None:
                miss = max(miss, read.confidence)
            else:
                found[read.mark] = max(found.get(read.mark, 0.0), read.confidence)
    detections = tuple(Detection(m, c) for m, c in sorted(found.items(), key=lambda kv: -kv[1]))
    confidence = detections[0].confidence if detections else miss
    return DecodeResult(bool(detections), detections, time.perf_counter() - start, confidence)


@dataclass(frozen=True)
class _Capture:
    """The projected capture and its flat weights, both on the capture's own pixels.

    The weights are taken before any resampling: in dense text (a spreadsheet at 1366x768) the
    white gaps between strokes are a pixel or two wide, and shrinking the capture to the
    nominal period first smears strokes into them, so that almost nothing counts as flat and the
    text's own edges swamp the mark (docs/watermark.md, "Flat weights on the capture's pixels").
    """

    projected: npt.NDArray[np.float32]
    flat: npt.NDArray[np.float32]

    def central(self, side: int) -> _Capture:
        return _Capture(sync.central(self.projected, side), sync.central(self.flat, side))

    def residual(self, period: float) -> npt.NDArray[np.float32]:
        """The residual at the nominal tile period, for a tile of ``period`` capture pixels."""
        return sync.residual(_to_nominal(self.projected, period), weights=_to_nominal(self.flat, period))

    def gate_z(self, period: float) -> float:
        """Pilot z of the whole capture folded at a ``period`` under the nominal one, cheaply:
        one residual on the capture's own pixels serves every such period (``GATE_SIGMA``),
        stretched by under a pixel per tile to a whole-pixel period, folded, and only the folded
        tile is resampled.

        ``residual`` upsamples the capture to the nominal period, to as much as 2.5 MP, once for
        each such period: on an unmarked text page, whose line spacings are such periods, that
        was most of the time spent before "not found". On marked captures shrunk to periods of
        41-91 px the blur mattered little (z within 1 of the exact fold's for blurs of 0.75-3 px,
        docs/watermark.md, "Whole-image gate").
        """
        return sync.align(sync.fold(_blocks_at(self.own_residual, period))).z

    @cached_property
    def own_residual(self) -> npt.NDArray[np.float32]:
        """The residual on the capture's own pixels, at blur ``GATE_SIGMA`` (``gate_z``)."""
        return sync.residual(self.projected, GATE_SIGMA, weights=self.flat)


@dataclass(frozen=True)
class _Read:
    mark: int | None
    confidence: float
    z: float


def _candidates(estimated: list[float]) -> list[float]:
    """The estimated periods, in their order, then the native ones not yet among them.

    An estimate within ``SAME_PERIOD`` of a native period is taken as that period (exact for an
    unscaled screenshot): screening and decoding both would otherwise repeat its work.
    """
    candidates: list[float] = []
    for period in [*estimated, *NATIVE_PERIODS]:
        native = next((n for n in NATIVE_PERIODS if abs(period - n) <= SAME_PERIOD * n), period)
        if native not in candidates:
            candidates.append(native)
    return candidates


def _reads(capture: _Capture, candidates: list[float], found: dict[int, float]) -> Iterator[list[_Read]]:
    """Reads, cheapest and likeliest first; the fallbacks run only while ``found`` is empty.

    1. The candidate periods whose fold of a central window shows the pilot.
    2. Nothing found: the first few of the rest, folded over the whole image.
    3. Still nothing, and much of the image clipped: the screened periods and the native ones
       (``_context_periods``), then the periods it shows itself, on the context residual
       (``watermark.context``), which reads the mark off text strokes when a brightness edit
       clipped the page itself.
    """
    screened = _screen_periods(capture, candidates)
    for period in screened:
        yield _period_reads(capture, capture.residual(period), period, whole_only=bool(found))
    rest = [p for p in candidates if p not in screened]
    for period, res in _whole_image_periods(capture, rest[:WHOLE_IMAGE_PERIODS], found):
        yield _period_reads(capture, res, period, whole_only=False)
    if not found and _clipped(capture.projected):
        yield from _context_reads(capture, screened + _context_periods(rest, capture.projected.shape), found)


def _clipped(projected: npt.NDArray[np.float32]) -> bool:
    """Whether ``CLIPPED_SHARE`` of the pixels sit at the image's darkest or brightest value, as
    an edit that clips a page leaves them (so do plain white or black pages; photos, video and
    gradients do not, and skip the context residual)."""
    sample = projected[::2, ::2]
    extreme = max(np.count_nonzero(sample == sample.min()), np.count_nonzero(sample == sample.max()))
    return bool(extreme >= CLIPPED_SHARE * sample.size)


def _screen_periods(capture: _Capture, periods: list[float]) -> list[float]:
    """The candidate periods whose fold of a central window shows the pilot, best first."""
    scored = []
    for period in periods:
        window = capture.central(int(SCREEN_TILES * period))
        z = sync.align(sync.fold(sync.cut_blocks(window.residual(period)))).z
        if z >= SCREEN_Z:
            scored.append((z, period))
    return [period for _, period in sorted(scored, reverse=True)[:MAX_PERIODS]]


def _context_periods(candidates: list[float], shape: tuple[int, int]) -> list[float]:
    """The native periods among ``candidates`` that a screen at least as large as the capture has.

    Clipped pages are read off their glyphs, which only an unscaled screenshot keeps sharp, and
    an unscaled screenshot's period is a native one; a crop comes from a larger screen, whose
    cells are no smaller. (A clipped page gives a dozen estimates from its text lines, none at
    its tile.)
    """
    own = channel.CELLS * cell_size_for(shape[1], shape[0])
    return [p for p in NATIVE_PERIODS if p >= own and p in candidates]


def _whole_image_periods(
    capture: _Capture, periods: list[float], found: dict[int, float]
) -> Iterator[tuple[float, npt.NDArray[np.float32]]]:
    """The periods that show the pilot over the whole image, with their residuals; lazy, and
    only while nothing is found.

    The screen looks at a central window only; when the mark survives only away from the centre
    (a brightness edit clipped the middle of the page to white, a dense table fills it), the
    whole image still shows the pilot.
    """
    for period in periods:
        if found:
            return
        if period < sync.NOMINAL_PERIOD and capture.gate_z(period) < GATE_Z:
            continue
        res = capture.residual(period)
        if sync.align(sync.fold(sync.cut_blocks(res))).z >= MIN_PILOT_Z:
            yield period, res


def _context_reads(capture: _Capture, periods: list[float], found: dict[int, float]) -> Iterator[list[_Read]]:
    """Reads of the context residual at each period whose whole fold shows the pilot: the
    given ones, then the first ``CONTEXT_ESTIMATES`` that the context residual's own
    autocorrelation shows.

    Captures larger than ``CONTEXT_MAX_SIDE`` on their short side are halved first (area): a
    HiDPI screen's glyphs and cells are twice as large, and the residual costs a quarter.
    """
    projected, shrink = capture.projected, 1
    while min(projected.shape) > CONTEXT_MAX_SIDE:
        half = (projected.shape[1] // 2, projected.shape[0] // 2)
        projected = np.asarray(cv2.resize(projected, half, interpolation=cv2.INTER_AREA), dtype=np.float32)
        shrink *= 2
    res = context.context_residual(projected)
    tried = [period / shrink for period in periods]
    for pixels in tried:
        if found:
            return
        blocks = _blocks_at(res, pixels)
        if sync.align(sync.fold(blocks)).z >= MIN_PILOT_Z:
            yield _block_reads(blocks, whole_only=False)
    # A clipped page that was rescaled too: its period is no native one, and the capture's own
    # estimates are its text lines'. The context residual has the text taken out, so its
    # autocorrelation shows the tile's period.
    for pixels in sync.estimate_periods(res, PERIOD_CANDIDATES, fine=False)[:CONTEXT_ESTIMATES]:
        if found:
            return
        if any(abs(pixels - t) <= SAME_PERIOD * t for t in tried):
            continue
        blocks = _blocks_at(res, pixels)
        if sync.align(sync.fold(blocks)).z >= MIN_PILOT_Z:
            yield _block_reads(blocks, whole_only=False)


def _period_reads(
    capture: _Capture, res: npt.NDArray[np.float32], period: float, *, whole_only: bool
) -> list[_Read]:
    """Reads of the whole image (first) and of its regions from ``res``, the residual at
    ``period``; when the pilot is there but no read checks, the period may be a little off."""
    reads = _block_reads(sync.cut_blocks(res), whole_only=whole_only)
    if reads[0].z >= MIN_PILOT_Z and all(r.mark is None for r in reads):
        reads += _nudge_period(capture, period)
    return reads


def _block_reads(blocks: sync.Blocks, *, whole_only: bool) -> list[_Read]:
    """Reads of all blocks (first) and, unless ``whole_only``, of each region of them."""
    regions = [(slice(None), slice(None))] if whole_only else list(_regions(blocks.shape))
    return [_decode_region(sync.fold(blocks, rows, cols)) for rows, cols in regions]


def _nudge_period(capture: _Capture, period: float) -> list[_Read]:
    for nudge in PERIOD_NUDGES:
        nudged = period * (1.0 + nudge)
        reads = _block_reads(sync.cut_blocks(capture.residual(nudged)), whole_only=True)
        if reads[0].mark is not None:
            return reads
    return []


def project(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Brightness (R + G + B), the overlay's direction; grey images pass through."""
    if rgb.ndim == 2 or (rgb.ndim == 3 and rgb.shape[2] >= 3):
        return sync.brightness(rgb)
    raise ValueError(f"expected an H x W x 3 image, got shape {rgb.shape}")


def _blocks_at(res: npt.NDArray[np.float32], period: float) -> sync.Blocks:
    """``res``, a residual on the capture's own pixels, cut into blocks of one tile of ``period``.

    A whole-pixel period (an unscaled screenshot's) is cut as it is, and only each folded tile is
    resampled (``sync.fold``). A period under the nominal one is first stretched by under a pixel
    per tile to a whole-pixel period and cut the same way: upsampling the residual to the
    nominal period instead costs up to 2.5 MP for each such period. A larger period is
    resampled down to the nominal one.
    """
    if period.is_integer():
        return sync.cut_blocks(res, int(period))
    if period < sync.NOMINAL_PERIOD:
        pixels = max(1, round(period))
        h, w = res.shape
        size = (max(1, round(w * pixels / period)), max(1, round(h * pixels / period)))
        return sync.cut_blocks(np.asarray(cv2.resize(res, size, interpolation=cv2.INTER_LINEAR), dtype=np.float32), pixels)
    return sync.cut_blocks(_to_nominal(res, period))


def _to_nominal(projected: npt.NDArray[np.float32], period: float) -> npt.NDArray[np.float32]:
    scale = sync.NOMINAL_PERIOD / period
    h, w = projected.shape
    limit = int(np.sqrt(MAX_NOMINAL_PIXELS) / scale)
    if h > limit or w > limit:
        top, left = max(0, (h - limit) // 2), max(0, (w - limit) // 2)
        projected = projected[top : top + limit, left : left + limit]
        h, w = projected.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    method = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(projected, size, interpolation=method), dtype=np.float32)


def _regions(shape: tuple[int, int]) -> Iterator[tuple[slice, slice]]:
    """All blocks, then halves and thirds along each side that spans enough tiles."""
    rows, cols = shape
    yield slice(None), slice(None)
    for parts in (2, 3):
        if cols >= 2 * parts:
            for i in range(parts):
                yield slice(None), slice(i * cols // parts, (i + 1) * cols // parts)
        if rows >= 2 * parts:
            for i in range(parts):
                yield slice(i * rows // parts, (i + 1) * rows // parts), slice(None)


def _decode_region(folded: npt.NDArray[np.float64]) -> _Read:
    """Align one folded region on the pilot, then read and check its cells.

    The pilot peak can land a pixel off after JPEG or resampling, so the data cells are also
    read at the neighbouring origins that best match the pilot; each read is checked on its own.
    """
    alignment = sync.align(folded)
    if alignment.z < MIN_PILOT_Z:
        return _Read(None, 0.0, alignment.z)
    best = 0.0
    for cells in sync.best_neighbours(folded, alignment, NEIGHBOUR_READS):
        read = channel.read_cells(cells)
        if read.mark is not None:
            return _Read(read.mark, _confidence(read.agreement, True), alignment.z)
        best = max(best, _confidence(read.agreement, False))
    return _Read(None, best, alignment.z)


def _confidence(agreement: float, valid: bool) -> float:
    """Map codeword agreement to 0..1: found marks land in 0.5..1, rejected reads below 0.5."""
    span = (agreement - channel.MIN_AGREEMENT) / (1.0 - channel.MIN_AGREEMENT)
    if valid:
        return float(np.clip(0.5 + 0.5 * span, 0.5, 1.0))
    return float(np.clip(0.5 * agreement, 0.0, 0.49))
