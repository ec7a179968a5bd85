"""Synchronisation: find the tile period (scale) and the tile origin (translation) blindly.

The overlay is a periodic tile, so the autocorrelation of a screenshot's high-passed residual
peaks at multiples of the tile period whatever the crop offset (a self-referencing watermark,
Kutter 1999). The period gives the scale; the image is resampled so that the tile is
``NOMINAL_PERIOD`` pixels, every period is folded (summed) onto one tile, and circular
cross-correlation with the keyed pilot gives the translation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import zip_longest

import cv2
import numpy as np
import numpy.typing as npt

from watermark.channel import CELLS, pilot_cells
from watermark.pattern import pixel_tile

NOMINAL_CELL = 4
NOMINAL_PERIOD = CELLS * NOMINAL_CELL
MIN_PERIOD = 36.0
MAX_PERIOD = 640.0
ACF_WINDOW = 1024
RESIDUAL_SIGMA = 3.0
LOCAL_WINDOW = 7
JPEG_BLOCK = 8
PROFILE_SIGMA = 1.5
ENERGY_FLOOR_CAP = 150.0
LIVE_ENERGY = 1e-2  # residual energy of a pixel whose neighbourhood is exactly flat (or nearly)
FLAT_MIN_RANGE = 8.0
# Flat weights taken on the capture's own pixels (``decoder``): JPEG noise there is not yet
# averaged down by the resampling to the nominal period, so the floor of the scale is higher.
NATIVE_FLAT_MIN_RANGE = 16.0
FLAT_NOISE_FACTOR = 2.0

@dataclass(frozen=True)
class Alignment:
    """Where the tile origin is inside a folded tile, and how sure the pilot is of it."""

    dy: int
    dx: int
    z: float


def brightness(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """R + G + B, the overlay's direction (it is achromatic), as float32; a grey image as it is."""
    if image.ndim == 2:
        return image.astype(np.float32)
    if image.size == 0:
        return np.zeros(image.shape[:2], np.float32)
    planes = image[..., :3].astype(np.float32)
    return np.asarray(cv2.transform(planes, np.ones((1, 3), np.float32)), dtype=np.float32)


def residual(
    channel: npt.NDArray[np.float32],
    sigma: float = RESIDUAL_SIGMA,
    weights: npt.NDArray[np.float32] | None = None,
    *,
    live_floor: bool = True,
) -> npt.NDArray[np.float32]:
    """High-passed residual: the overlay's pattern, with as little content as possible.

    Two steps:

    * **Edge-aware prediction.** Screen content is mostly flat areas cut by sharp edges (text,
      grid lines). A pixel counts as flat when the range of its 3 x 3 neighbourhood is small
      next to the image's own noise level (``flat_weights``); the local background is the
      Gaussian mean of the *flat* neighbours only (normalised convolution, Knutsson & Westin
      1993), so a white strip two pixels from a grid line is compared with white, not with a
      blur of the line, and keeps its mark. Edge pixels themselves get (almost) no weight.
    * **Energy weighting.** What is left is weighted down where its local energy is high
      (photos, fine texture): flat areas, where the overlay is all there is, dominate. The floor
      is the energy of the quietest tenth of the pixels that have any residual at all, but never
      above ``ENERGY_FLOOR_CAP``. Pixels with none (a page clipped to pure white by a brightness
      edit, blocks JPEG coded flat) say nothing about the noise; counted, they pulled the floor
      to zero and the weighting became a division by the local energy, which drowned the mark
      kept in the unclipped rest (docs/watermark.md, "Residual floor"). With
      ``live_floor=False`` every pixel counts, as before (``watermark.cancellation`` wants that).

    ``weights`` (same shape as ``channel``) are flat weights taken elsewhere: the decoder takes
    them on the capture's own pixels, where a one-pixel text stroke is still one pixel wide, and
    resamples them with the image (see ``decoder``); by default they come from ``channel``.
    """
    channel = np.asarray(channel, dtype=np.float32)
    weights = flat_weights(channel) if weights is None else np.asarray(weights, dtype=np.float32)
    num = gaussian_blur(weights * channel, sigma)
    den = gaussian_blur(weights, sigma)
    # With no flat neighbour near (den tiny), the pixel's own weight is tiny too: no residual.
    background = np.divide(num, den, out=channel.copy(), where=den > 1e-3)
    high = channel - background
    high *= weights
    energy = np.asarray(cv2.boxFilter(high * high, -1, (LOCAL_WINDOW, LOCAL_WINDOW)), dtype=np.float32)
    sample = energy[::4, ::4].ravel()
    if live_floor:
        sample = sample[sample > LIVE_ENERGY]
    quiet = float(np.partition(sample, sample.size // 10)[sample.size // 10]) if sample.size else 0.0
    floor = np.float32(min(quiet, ENERGY_FLOOR_CAP) + 1e-3)
    energy += floor
    high *= np.divide(floor, energy, out=energy)
    return high


def gaussian_blur(values: npt.NDArray[np.float32], sigma: float) -> npt.NDArray[np.float32]:
    """Gaussian blur with the kernel cut at 3 sigma (0.3 % of its mass left out per axis).

    OpenCV's own choice for float images, 4 sigma, takes about 2.5 times as long at sigma 3,
    and the blur runs twice per residual, once for every candidate period.
    """
    size = 2 * int(np.ceil(3.0 * sigma)) + 1
    return np.asarray(cv2.GaussianBlur(values, (size, size), sigma), dtype=np.float32)


def flat_weights(channel: npt.NDArray[np.float32], min_range: float = FLAT_MIN_RANGE) -> npt.NDArray[np.float32]:
    """Near 1 where the 3 x 3 neighbourhood is flat, near 0 on edges.

    The scale is ``FLAT_NOISE_FACTOR`` times the lower-quartile 3 x 3 range of the image (its
    noise and overlay level: JPEG noise raises it), never below ``min_range``; the weight
    falls as ``1 / (1 + (range / scale)^4)``.
    """
    kernel = np.ones((3, 3), np.uint8)
    spread = cv2.dilate(channel, kernel) - cv2.erode(channel, kernel)
    sample = spread[::3, ::3].ravel()
    scale = max(min_range, FLAT_NOISE_FACTOR * float(np.partition(sample, sample.size // 4)[sample.size // 4]))
    ratio = spread * np.float32(1.0 / scale)
    ratio *= ratio
    ratio *= ratio
    ratio += np.float32(1.0)
    return np.asarray(np.reciprocal(ratio, out=ratio), dtype=np.float32)


def estimate_periods(channel: npt.NDArray[np.float32], count: int = 3, *, fine: bool = True) -> list[float]:
    """Candidate tile periods in pixels, most likely first.

    Two readings: the central window as it is, and (unless not ``fine``) its centre enlarged
    twice (a finer residual, which finds small periods under dense text); the decoder's checks
    decide between them.
    """
    coarse = _window_periods(central(channel, ACF_WINDOW), count + 1)
    finer = [p / 2 for p in _window_periods(_enlarge(central(channel, ACF_WINDOW // 2)), count)] if fine else []
    merged: list[float] = []
    for period in [x for pair in zip_longest(coarse, finer) for x in pair if x is not None]:
        if MIN_PERIOD / 2 <= period <= MAX_PERIOD and all(abs(period - c) > 0.004 * c for c in merged):
            merged.append(period)
    return merged


def central(channel: npt.NDArray[np.float32], side: int) -> npt.NDArray[np.float32]:
    h, w = channel.shape
    top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return channel[top : top + side, left : left + side]


def _enlarge(channel: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return np.asarray(cv2.resize(channel, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC), dtype=np.float32)


def _window_periods(window: npt.NDArray[np.float32], count: int) -> list[float]:
    if min(window.shape) < 2 * MIN_PERIOD / 1.4:
        return []
    return _pick_peaks(_smooth(_axis_profile(residual(window))), count)


def _axis_profile(window: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Whitened autocorrelation by lag, summed over the x and y axes where each is usable."""
    h, w = window.shape
    padded = np.zeros((2 * h, 2 * w), dtype=np.float32)
    padded[:h, :w] = window - window.mean()
    spectrum = cv2.dft(padded, flags=cv2.DFT_COMPLEX_OUTPUT, nonzeroRows=h)[:, : w + 1]
    magnitude = np.asarray(cv2.magnitude(spectrum[..., 0], spectrum[..., 1]), dtype=np.float64)
    _notch_block_grid(magnitude, 2 * h, 2 * w)
    # Only the ACF's row 0 and column 0 are needed: each is a 1-D transform of the spectrum
    # summed over the other axis (the half-spectrum's columns counted twice, except DC and Nyquist).
    row0 = np.fft.irfft(magnitude.sum(axis=0), n=2 * w) / (2 * h)
    # (A reduction, not ``magnitude @ weights``: OpenBLAS would run that on every core and spin
    # them, doubling the CPU time of a decode for no gain in wall time.)
    folded = 2.0 * magnitude.sum(axis=1) - magnitude[:, 0] - magnitude[:, -1]
    col0 = np.real(np.fft.ifft(folded)) / (2 * w)
    scale = row0[0] + 1e-12
    lags = int(3 * MAX_PERIOD) + 2
    profile = np.zeros(lags)
    for line, size in ((row0 / scale, w), (col0 / scale, h)):
        usable = min(lags, int(size * 0.7))
        profile[:usable] += line[:usable]
    return profile


def _smooth(profile: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Blur the lag profile: the tile's peak is broad (smooth cells), artefact peaks are sharp."""
    kernel = np.exp(-0.5 * (np.arange(-4, 5) / PROFILE_SIGMA) ** 2)
    return np.convolve(profile, kernel / kernel.sum(), mode="same")


def _notch_block_grid(magnitude: npt.NDArray[np.float64], rows: int, cols: int) -> None:
    """Zero the spectral lines of an 8-pixel JPEG block grid, which would pull the period to 8k."""
    for k in range(1, JPEG_BLOCK // 2 + 1):
        cx = round(k * cols / JPEG_BLOCK)
        magnitude[:, max(0, cx - 1) : cx + 2] = 0.0
        for cy in (round(k * rows / JPEG_BLOCK), rows - round(k * rows / JPEG_BLOCK)):
            magnitude[max(0, cy - 1) : cy + 2, :] = 0.0


def _pick_peaks(profile: npt.NDArray[np.float64], count: int) -> list[float]:
    """Candidate periods from the ``count`` strongest peaks, each read a few ways (as found, as a
    multiple of a fundamental, re-measured at its harmonics); the decoder's checks pick."""
    lo, hi = int(MIN_PERIOD), int(MAX_PERIOD)
    inner = profile[lo:hi]
    is_peak = (inner > profile[lo - 1 : hi - 1]) & (inner >= profile[lo + 1 : hi + 1]) & (inner > 0)
    lags = np.flatnonzero(is_peak) + lo
    strongest = [_refine(profile, int(lag)) for lag in lags[np.argsort(profile[lags])[::-1]][:count]]
    readings = [_harmonic(profile, _fundamental(profile, p)) for p in strongest]
    readings += strongest + [_harmonic(profile, p) for p in strongest]
    chosen: list[float] = []
    for period in readings:
        if all(abs(period - c) > 0.004 * c for c in chosen):
            chosen.append(period)
    return chosen[: 2 * count]


def _fundamental(profile: npt.NDArray[np.float64], period: float) -> float:
    """If period/2 or period/3 also peaks strongly, the true period is the smaller one."""
    for divisor in (3, 2):
        sub = period / divisor
        if sub >= MIN_PERIOD:
            lag = int(round(sub))
            near = profile[lag - 1 : lag + 2]
            if near.size == 3 and near.max() > 0.5 * profile[int(round(period))]:
                return _refine(profile, lag - 1 + int(np.argmax(near)))
    return period


def _harmonic(profile: npt.NDArray[np.float64], period: float) -> float:
    """Re-measure the period at its 2nd (or 3rd) multiple, where a pull of a pixel or two by
    sharp artefacts (JPEG's 8-pixel grid) is divided by the multiple."""
    height = profile[int(round(period))]
    for k in (2, 3):
        centre = k * period
        reach = 2 * k
        lo, hi = int(centre - reach), int(centre + reach) + 1
        if hi >= len(profile) - 1 or profile[lo:hi].max() < 0.25 * height:
            continue
        return _refine(profile, lo + int(np.argmax(profile[lo:hi]))) / k
    return period


def _refine(profile: npt.NDArray[np.float64], lag: int) -> float:
    """Sub-pixel peak position by a parabola through three samples."""
    if lag <= 0 or lag >= len(profile) - 1:
        return float(lag)
    a, b, c = profile[lag - 1], profile[lag], profile[lag + 1]
    denom = a - 2 * b + c
    offset = 0.5 * (a - c) / denom if denom < 0 else 0.0
    return float(lag + np.clip(offset, -1.0, 1.0))


@dataclass(frozen=True)
class Blocks:
    """The residual cut into tile-sized blocks, for folding any rectangle of whole blocks."""

    sums: npt.NDArray[np.float32]  # (block rows, block cols, period, period)
    rows_seen: npt.NDArray[np.float32]  # (block rows, period): 1 where the block has that row
    cols_seen: npt.NDArray[np.float32]  # (block cols, period)

    @property
    def shape(self) -> tuple[int, int]:
        return self.sums.shape[0], self.sums.shape[1]


def cut_blocks(res: npt.NDArray[np.float32], period: int = NOMINAL_PERIOD) -> Blocks:
    """Cut ``res`` into blocks of ``period`` pixels (the last row and column may be partial).

    At another period than the nominal one (a residual on the capture's own pixels, cut at an
    unscaled screenshot's whole-pixel period), ``fold`` resamples each folded tile instead of
    the whole residual being resampled first.
    """
    p = period
    h, w = res.shape
    nby, nbx = -(-h // p), -(-w // p)
    padded = np.zeros((nby * p, nbx * p), dtype=np.float32)
    padded[:h, :w] = res
    sums = np.ascontiguousarray(padded.reshape(nby, p, nbx, p).transpose(0, 2, 1, 3))
    rows = (np.arange(nby * p) < h).astype(np.float32).reshape(nby, p)
    cols = (np.arange(nbx * p) < w).astype(np.float32).reshape(nbx, p)
    return Blocks(sums=sums, rows_seen=rows, cols_seen=cols)


def fold(blocks: Blocks, rows: slice = slice(None), cols: slice = slice(None)) -> npt.NDArray[np.float64]:
    """Mean over every tile period of a rectangle of blocks (cells never seen stay 0)."""
    total = blocks.sums[rows, cols].sum(axis=(0, 1), dtype=np.float64)
    seen = np.outer(blocks.rows_seen[rows].sum(axis=0), blocks.cols_seen[cols].sum(axis=0))
    tile = _detrend(np.where(seen > 0, total / np.maximum(seen, 1.0), 0.0))
    return tile if tile.shape[0] == NOMINAL_PERIOD else _resample_tile(tile, NOMINAL_PERIOD)


def _resample_tile(tile: npt.NDArray[np.float64], side: int) -> npt.NDArray[np.float64]:
    """A periodic tile resampled to ``side`` x ``side`` by cutting (or padding) its spectrum."""
    spectrum = np.fft.fftshift(np.fft.fft2(tile))
    out = np.zeros((side, side), np.complex128)
    n = min(side, tile.shape[0])
    src, dst = (tile.shape[0] - n + 1) // 2, (side - n + 1) // 2
    out[dst : dst + n, dst : dst + n] = spectrum[src : src + n, src : src + n]
    scale = (side / tile.shape[0]) ** 2
    return np.asarray(np.real(np.fft.ifft2(np.fft.ifftshift(out))) * scale, dtype=np.float64)


def _detrend(tile: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Remove row and column means: what is left of content after folding is mostly lines."""
    tile = tile - tile.mean(axis=1, keepdims=True)
    return np.asarray(tile - tile.mean(axis=0, keepdims=True), dtype=np.float64)


@cache
def _pilot_spectrum() -> npt.NDArray[np.complex128]:
    template = pixel_tile(pilot_cells(), NOMINAL_CELL)
    return np.conj(np.fft.fft2(template - template.mean()))


def align(folded: npt.NDArray[np.float64]) -> Alignment:
    """Circular cross-correlation of a folded tile with the pilot: origin and peak z-score."""
    corr = np.real(np.fft.ifft2(np.fft.fft2(folded - folded.mean()) * _pilot_spectrum()))
    dy, dx = np.unravel_index(int(np.argmax(corr)), corr.shape)
    spread = float(corr.std())
    z = float((corr[dy, dx] - corr.mean()) / spread) if spread > 0 else 0.0
    return Alignment(dy=int(dy), dx=int(dx), z=z)


def best_neighbours(folded: npt.NDArray[np.float64], alignment: Alignment, count: int) -> list[npt.NDArray[np.float64]]:
    """Cell values at the ``count`` origins within a pixel of ``alignment`` that match the pilot best."""
    pilot = pilot_cells()
    p = NOMINAL_PERIOD
    candidates = []
    for y, x in [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)]:
        shifted = Alignment((alignment.dy + y) % p, (alignment.dx + x) % p, alignment.z)
        cells = cell_values(folded, shifted)
        candidates.append((float(np.sum(cells * pilot)), cells))
    candidates.sort(key=lambda c: -c[0])
    return [cells for _, cells in candidates[:count]]


def cell_values(folded: npt.NDArray[np.float64], alignment: Alignment) -> npt.NDArray[np.float64]:
    """Soft value of every cell: the aligned tile summed over each cell with a centre weighting."""
    aligned = np.roll(folded, (-alignment.dy, -alignment.dx), axis=(0, 1))
    weights = np.outer(_CELL_WEIGHTS, _CELL_WEIGHTS)
    blocks = aligned.reshape(CELLS, NOMINAL_CELL, CELLS, NOMINAL_CELL)
    return np.asarray(np.einsum("iajb,ab->ij", blocks, weights), dtype=np.float64)


_CELL_WEIGHTS = np.array([0.5, 1.0, 1.0, 0.5])
