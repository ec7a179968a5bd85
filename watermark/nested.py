"""A screenshot of a screenshot: the leak shown in a viewer on another marked screen.

The outer screen's overlay (mark B) covers the whole capture at that screen's scale; the inner
picture carries its own mark (A, the forensic point) at a smaller scale and another phase. When
the inner picture covers little of the frame, B dominates every fold and A is not read. Since B
is known exactly once found, ``add_inner_marks`` fits B's overlay to the capture, undoes it
(``watermark.cancellation``), and reads the cancelled image again with the one-layer decoder.

Cost: the second read is a decode, so it only runs when the cancelled image shows a tile
period other than B's whose fold correlates with the channel's pilot (``watermark.pilot``),
and first on the rectangle where that tile shows. An ordinary marked screenshot pays for the
fit, the cancellation and that look only; an unmarked one (nothing found, nothing to cancel)
pays nothing.

Every mark added comes from ``decode_layer`` and so passed the same checks as any decode.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from watermark import cancellation, lags, pilot

if TYPE_CHECKING:
    from watermark.decoder import DecodeResult, Detection

MAX_OUTER_MARKS = 2
GATE_LAGS = 8
# The look for another tile and the rectangle it finds stay in this square around where the
# cancelled image is busy (a picture in a viewer; a 0.9 picture is read from part of it).
LOOK_WINDOW = 1024
BUSY_LEVEL = 1.0  # of R + G + B
# Lags within this fraction of a multiple of a cancelled period are that overlay's own (what is
# left of it after JPEG also shows as side peaks a few per cent away).
HARMONIC_TOLERANCE = 0.05
# Pilot z of another tile under the cancelled one. Measured (docs/watermark.md): inner pictures
# at 0.3-0.5 of the frame give 8.3-11.9 (larger ones the one-layer decoder mostly reads itself);
# ordinary marked screenshots, with nothing under their mark, at most 4.5. Passing only costs a
# decode; every mark still has to pass its checks.
MIN_GATE_Z = 5.0


def add_inner_marks(
    rgb: npt.NDArray[np.uint8],
    result: DecodeResult,
    decode_layer: Callable[[npt.NDArray[np.uint8]], DecodeResult],
) -> DecodeResult:
    """``result`` plus the marks read under the marks it found (a picture of another marked screen)."""
    if not result.found or rgb.size == 0:
        return result
    start = time.perf_counter()
    image, periods = _cancel_marks(rgb, result)
    known = {d.mark for d in result.marks}
    inner = _read_under(image, periods, known, decode_layer) if periods else None
    seconds = result.seconds + time.perf_counter() - start
    return _merged(result, inner, seconds) if inner is not None else replace(result, seconds=seconds)


def _cancel_marks(rgb: npt.NDArray[np.uint8], result: DecodeResult) -> tuple[npt.NDArray[np.uint8], list[float]]:
    """The image with each found mark's overlay undone, and those overlays' periods in pixels."""
    image, periods = rgb, []
    for detection in result.marks[:MAX_OUTER_MARKS]:
        fit = cancellation.fit_in_image(image, detection.mark)
        if fit is not None:
            image = cancellation.cancel_overlay(image, fit)
            periods.append(fit.period * fit.scale)
    return image, periods


def _read_under(
    image: npt.NDArray[np.uint8],
    periods: list[float],
    known: set[int],
    decode_layer: Callable[[npt.NDArray[np.uint8]], DecodeResult],
) -> DecodeResult | None:
    """Decode the cancelled image if another tile shows: first the rectangle where it shows
    (the decoder's own regions are halves and thirds, too coarse for a small picture), then,
    if that read nothing new, the whole image."""
    grey = cancellation.brightness(image)
    res = cancellation.residual(grey)
    top, left = _window(res.shape, _busiest(grey))
    window = res[top : top + LOOK_WINDOW, left : left + LOOK_WINDOW]
    peaks = lags.lag_peaks(window, 3 * GATE_LAGS)
    candidates = [lag for lag in peaks if not _is_multiple(lag, periods)][:GATE_LAGS]
    sighting = pilot.find_tile(window, candidates, MIN_GATE_Z)
    if sighting is None:
        return None
    box = pilot.locate(window, sighting)
    if box is not None:
        rows, cols = box
        crop = image[top + rows.start : top + rows.stop, left + cols.start : left + cols.stop]
        inner = decode_layer(np.ascontiguousarray(crop))
        if any(d.mark not in known for d in inner.marks):
            return inner
    return decode_layer(image)


def _window(shape: tuple[int, int], centre: tuple[int, int]) -> tuple[int, int]:
    """Top-left of the ``LOOK_WINDOW`` square around ``centre``, kept inside ``shape``."""
    (h, w), (cy, cx) = shape, centre
    return max(0, min(cy - LOOK_WINDOW // 2, h - LOOK_WINDOW)), max(0, min(cx - LOOK_WINDOW // 2, w - LOOK_WINDOW))


def _busiest(grey: npt.NDArray[np.float32]) -> tuple[int, int]:
    """Where the cancelled image is not flat (a viewer around a picture mostly is): the median
    row and column of its pixels that differ from their surroundings."""
    busy = (np.abs(cancellation.high_pass(grey)) > BUSY_LEVEL).astype(np.float32)
    return _weighted_median(busy.sum(axis=1)), _weighted_median(busy.sum(axis=0))


def _weighted_median(weights: npt.NDArray[np.float32]) -> int:
    cumulative = np.cumsum(weights, dtype=np.float64)
    if cumulative[-1] <= 0:
        return len(weights) // 2
    return int(np.searchsorted(cumulative, cumulative[-1] / 2))


def _is_multiple(lag: float, periods: list[float]) -> bool:
    """Whether ``lag`` is a multiple of a cancelled period (where what is left of it would peak)."""
    return any(abs(lag / p - round(lag / p)) < HARMONIC_TOLERANCE * lag / p for p in periods if lag >= 0.9 * p)


def _merged(outer: DecodeResult, inner: DecodeResult, seconds: float) -> DecodeResult:
    best: dict[int, Detection] = {}
    for detection in (*outer.marks, *inner.marks):
        if detection.mark not in best or detection.confidence > best[detection.mark].confidence:
            best[detection.mark] = detection
    marks = tuple(sorted(best.values(), key=lambda d: -d.confidence))
    return replace(outer, found=True, marks=marks, seconds=seconds, confidence=marks[0].confidence)
