"""Find a tile by the channel's pilot alone: at which period it repeats, and where it is.

Used under a cancelled outer overlay (``watermark.nested``), where what is left to find is the
inner picture's tile, at an unknown period and phase, on part of the image only. This is a
cheap look (fold at a few autocorrelation peaks, correlate with the pilot), not a decode: it
decides whether a decode is worth its cost, and which rectangle to give it.

The pilot template is the mean of many marks' signed tiles (``render_tile``): their data cells
average out and their pilot cells, the same in every tile, stay. So it follows the channel's
layout and the pattern's shape from the public renderer, whatever their constants become.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from watermark import cancellation, channel

Floats = npt.NDArray[np.float32]

TEMPLATE_MARKS = 24
TEMPLATE_CELL = 4
BLOCK_MIN = 64
# A block is part of the picture when its pilot score passes this (blocks outside score about +-2).
PRESENCE_Z = 3.0


@dataclass(frozen=True)
class TileSighting:
    """A tile of ``lag`` pixels whose fold matched the pilot with z-score ``z`` at phase (dy, dx)."""

    lag: float
    z: float
    dy: int
    dx: int


def find_tile(res: Floats, lags: list[float], min_z: float) -> TileSighting | None:
    """The first of ``lags`` whose fold of the residual ``res`` shows the pilot (z >= ``min_z``)."""
    for lag in lags:
        sighting = look(res, lag)
        if sighting is not None and sighting.z >= min_z:
            return sighting
    return None


def look(res: Floats, lag: float) -> TileSighting | None:
    """Fold ``res`` at ``lag`` (nearest bin of ``template`` size, no resampling), correlate with the pilot."""
    template = pilot_template()
    bins = template.shape[0]
    h, w = res.shape
    if min(h, w) < 2 * lag:
        return None
    ys, xs = _bins(h, lag, bins), _bins(w, lag, bins)
    index = (ys[:, None] * bins + xs[None, :]).ravel()
    sums = np.bincount(index, weights=res.ravel(), minlength=bins * bins).reshape(bins, bins)
    counts = np.outer(np.bincount(ys, minlength=bins), np.bincount(xs, minlength=bins))
    folded = sums / np.maximum(counts, 1)
    # Straight edges (a picture's border, text lines) fold into rows and columns: drop those.
    folded = folded - folded.mean(axis=0, keepdims=True) - folded.mean(axis=1, keepdims=True)
    dy, dx, z = cancellation.phase(folded, template, subpixel=False)
    return TileSighting(lag, z, int(dy), int(dx))


def locate(res: Floats, sighting: TileSighting) -> tuple[slice, slice] | None:
    """The rectangle of blocks whose residual agrees with the sighted tile's pilot.

    The phase is known from the whole fold, so each block gives one signed score (the
    residual times the placed template, over its own spread); the connected blocks with the
    clearly positive scores are the picture.
    """
    template = pilot_template()
    bins = template.shape[0]
    h, w = res.shape
    ys = (_bins(h, sighting.lag, bins) + sighting.dy) % bins
    xs = (_bins(w, sighting.lag, bins) + sighting.dx) % bins
    product = res * template[ys[:, None], xs[None, :]].astype(np.float32)
    block = max(BLOCK_MIN, int(round(sighting.lag)))
    ny, nx = h // block, w // block
    if ny < 2 or nx < 2:
        return None
    cut = product[: ny * block, : nx * block].reshape(ny, block, nx, block)
    score = cut.sum(axis=(1, 3)) / np.sqrt((cut * cut).sum(axis=(1, 3)) + 1e-12)
    count, labels, _, _ = cv2.connectedComponentsWithStats((score >= PRESENCE_Z).astype(np.uint8), connectivity=8)
    if count < 2:
        return None
    totals = [float(score[labels == label].sum()) for label in range(1, count)]
    rows, cols = np.nonzero(labels == 1 + int(np.argmax(totals)))
    margin = block // 2
    top, bottom = max(0, rows.min() * block - margin), min(h, (rows.max() + 1) * block + margin)
    left, right = max(0, cols.min() * block - margin), min(w, (cols.max() + 1) * block + margin)
    return slice(int(top), int(bottom)), slice(int(left), int(right))


def _bins(size: int, lag: float, bins: int) -> npt.NDArray[np.intp]:
    positions = np.mod(np.arange(size), lag) * (bins / lag)
    return np.minimum(positions, bins - 1).astype(np.intp)


@lru_cache(maxsize=1)
def pilot_template() -> npt.NDArray[np.float64]:
    """The mean signed tile of fixed pseudo-random marks, ``TEMPLATE_CELL`` pixels a cell."""
    rng = np.random.default_rng(0)
    marks = rng.integers(0, 2**63, TEMPLATE_MARKS, dtype=np.int64)
    tiles = [cancellation.signed_tile(int(m), cancellation.SMALLEST_SCREEN) for m in marks]
    size = TEMPLATE_CELL * channel.CELLS
    mean = np.mean(tiles, axis=0)
    return np.asarray(cv2.resize(mean, (size, size), interpolation=cv2.INTER_AREA), dtype=np.float64)
