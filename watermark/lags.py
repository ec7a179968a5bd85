"""Tile periods from a residual's autocorrelation (a self-referencing pattern: its tiles repeat).

Each axis is the sum of the rows' (columns') own autocorrelations, each line's mean removed (an
edge along a whole line is no period), the spectrum whitened (magnitude, not power) and JPEG's
8-pixel block grid notched out. Peaks are read sub-pixel and re-measured at their multiples.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float32]

ACF_WINDOW = 1024
JPEG_BLOCK = 8
MIN_LAG, MAX_LAG = 30, 480
LAG_PEAKS = 4


def lag_peaks(res: Floats, count: int = LAG_PEAKS, *, centre: tuple[int, int] | None = None) -> list[float]:
    """The strongest peaks of the residual's autocorrelation along x and y, sub-pixel, best first.

    The window is central unless ``centre`` (row, column) places it.
    """
    profile = lag_profile(res, centre)
    lo, hi = MIN_LAG, min(MAX_LAG, len(profile) - 2)
    if hi <= lo:
        return []
    inner = profile[lo:hi]
    is_peak = (inner > profile[lo - 1 : hi - 1]) & (inner >= profile[lo + 1 : hi + 1]) & (inner > 0)
    lags = np.flatnonzero(is_peak) + lo
    peaks: list[float] = []
    for lag in lags[np.argsort(profile[lags])[::-1]]:
        # A peak whose half or third also peaks may be a multiple: both readings go on.
        for reading in {_fundamental(profile, int(lag)), int(lag)}:
            refined = _harmonic(profile, reading)
            if all(abs(refined - p) > 0.004 * p for p in peaks):
                peaks.append(refined)
        if len(peaks) >= count:
            break
    return peaks[:count]


def lag_profile(res: Floats, centre: tuple[int, int] | None = None) -> npt.NDArray[np.float64]:
    """Normalised, whitened autocorrelation of a window at lags (0, k) and (k, 0), the lesser.

    Each axis is the sum of the rows' (columns') own autocorrelations: 1-D transforms only.
    """
    h, w = res.shape
    side_y, side_x = min(h, ACF_WINDOW), min(w, ACF_WINDOW)
    cy, cx = centre if centre is not None else (h // 2, w // 2)
    top = int(np.clip(cy - side_y // 2, 0, h - side_y))
    left = int(np.clip(cx - side_x // 2, 0, w - side_x))
    win = res[top : top + side_y, left : left + side_x]
    win = win - win.mean()
    size = min(side_y, side_x) * 2 // 3
    axes = []
    for lines in (win, win.T):
        # Each line's own mean out: an edge along the whole line is not a period.
        padded = np.zeros((lines.shape[0], 2 * lines.shape[1]), dtype=np.float32)
        padded[:, : lines.shape[1]] = lines - lines.mean(axis=1, keepdims=True)
        packed = cv2.dft(padded, flags=cv2.DFT_ROWS)  # per row: Re0, Re1, Im1, Re2, Im2, ..., Re(n/2)
        squares = np.square(packed).sum(axis=0, dtype=np.float64)
        n = len(squares)
        power = np.concatenate([squares[:1], squares[1:-1:2] + squares[2:-1:2], squares[-1:]])
        magnitude = np.sqrt(power)
        for k in range(1, JPEG_BLOCK // 2 + 1):  # JPEG's 8-pixel block grid is not a tile period
            line = round(k * n / JPEG_BLOCK)
            magnitude[line - 1 : line + 2] = 0.0
        acf = np.fft.irfft(magnitude, n)
        axes.append(acf[:size] / (acf[0] + 1e-12))
    # A tile is square: it peaks along both axes. Text lines, columns, a grid's rows peak along one.
    return np.asarray(2.0 * np.minimum(axes[0], axes[1]), dtype=np.float64)


def _fundamental(profile: npt.NDArray[np.float64], lag: int) -> int:
    """A peak at ``lag`` whose half or third also peaks clearly is a multiple of that period."""
    for divisor in (3, 2):
        sub = int(round(lag / divisor))
        if sub - 1 >= MIN_LAG:
            near = sub - 1 + int(np.argmax(profile[sub - 1 : sub + 2]))
            if profile[near] >= 0.5 * profile[lag] and near == _local_max(profile, near):
                return near
    return lag


def _local_max(profile: npt.NDArray[np.float64], lag: int) -> int:
    return lag - 1 + int(np.argmax(profile[lag - 1 : lag + 2]))


def _harmonic(profile: npt.NDArray[np.float64], lag: int) -> float:
    """The period re-measured at its highest clear multiple, where a pixel's error is divided."""
    best = _refine(profile, lag)
    for k in range(2, 6):
        lo, hi = int(k * best) - k, int(k * best) + k + 1
        if hi >= len(profile) - 1:
            break
        top = lo + int(np.argmax(profile[lo:hi]))
        if profile[top] < 0.3 * profile[lag]:
            break
        best = _refine(profile, top) / k
    return best


def _refine(profile: npt.NDArray[np.float64], lag: int) -> float:
    a, b, c = profile[lag - 1], profile[lag], profile[lag + 1]
    denom = a - 2 * b + c
    offset = 0.5 * (a - c) / denom if denom < 0 else 0.0
    return float(lag + np.clip(offset, -1.0, 1.0))
