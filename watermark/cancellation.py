"""Fit a known overlay to a capture, then take it out again.

Once a decode has found a mark, the overlay that carried it is known exactly
(``watermark.overlay.render_tile``); what is not known is where its tiles sit in the capture:
which cell size (it depends on the screen's size), which scale (the capture may have been
rescaled) and which phase (it may have been cropped). ``fit_overlay`` finds them by folding
the capture's residual at the tile period and correlating the fold with the mark's own signed
tile; ``cancel_overlay`` then undoes the compositing ``O = a*C + (1-a)*bg`` per pixel. On an
unscaled capture that inversion is exact up to 8-bit rounding; on a rescaled or JPEG'd one the
resampled overlay is an approximation, so its gain is fitted to the capture.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from watermark import sync
from watermark.lags import lag_peaks
from watermark.overlay import render_tile
from watermark.pattern import cell_size_for

Floats = npt.NDArray[np.float32]

RESIDUAL_SIGMA = 3.0
ENERGY_WINDOW = 7
FIT_WINDOW = 1024
# Screen short sides considered when listing the cell sizes an overlay can have.
SHORT_SIDES = range(200, 4401)
SMALLEST_SCREEN = (SHORT_SIDES[0], SHORT_SIDES[0])
MIN_SCALE, MAX_SCALE = 0.3, 3.0
MIN_FIT_Z = 10.0
SCALE_STEPS = (-0.001, 0.001)
SCALED_MODELS = 2
MAX_GAIN = 1.5
SHRUNK = 0.95
AREA_SIGMA = 0.29  # standard deviation of a one-pixel box


@dataclass(frozen=True)
class OverlayFit:
    """Where a mark's overlay sits in a capture.

    Capture pixel ``(y, x)`` shows tile pixel ``((y / scale + dy) % period, (x / scale + dx) % period)``
    of ``render_tile(mark, *screen)``; ``z`` is the correlation peak's z-score.
    """

    mark: int
    screen: tuple[int, int]
    period: int
    scale: float
    dy: float
    dx: float
    z: float


def residual(grey: Floats) -> Floats:
    """The decoder's residual (``watermark.sync.residual``): edge-aware, weighted down where
    content (text edges, texture) is busy. Its energy floor counts every pixel: after
    cancellation the viewer's flat chrome has no residual left, the floor falls to about zero,
    and the weighting divides by the local energy, which whitens the inner picture; its tile's
    lag then stands out (with the floor from live pixels only, an inner picture at 0.5 of the
    frame under an outer JPEG 75 was no longer sighted: z 4.1 against 7.4)."""
    return sync.residual(grey, live_floor=False)


def high_pass(grey: Floats) -> Floats:
    """The brightness minus its Gaussian blur (``RESIDUAL_SIGMA``): edges, texture, overlays."""
    return np.asarray(grey - cv2.GaussianBlur(grey, (0, 0), RESIDUAL_SIGMA), dtype=np.float32)


def _weights(high: Floats) -> Floats:
    """``floor / (local energy + floor)``: flat areas, where an overlay is all there is, count most."""
    energy = cv2.boxFilter(high * high, -1, (ENERGY_WINDOW, ENERGY_WINDOW))
    sample = energy[::4, ::4].ravel()
    floor = float(np.partition(sample, sample.size // 10)[sample.size // 10]) + 1e-3
    return np.asarray(floor / (energy + floor), dtype=np.float32)


brightness = sync.brightness  # R + G + B (the overlay is achromatic); a grey image as it is


def fit_in_image(image: npt.NDArray[np.uint8], mark: int) -> OverlayFit | None:
    """``fit_overlay`` on a central window of ``image`` (the overlay covers it all), placed in
    the whole image's coordinates."""
    h, w = image.shape[:2]
    top, left = max(0, (h - FIT_WINDOW) // 2), max(0, (w - FIT_WINDOW) // 2)
    window = image[top : top + FIT_WINDOW, left : left + FIT_WINDOW]
    fit = fit_overlay(residual(brightness(window)), mark)
    if fit is None:
        return None
    p = fit.period
    return replace(fit, dy=(fit.dy - top / fit.scale) % p, dx=(fit.dx - left / fit.scale) % p)


def fit_overlay(res: Floats, mark: int) -> OverlayFit | None:
    """The best placement of ``mark``'s overlay in the residual ``res``, or None when none fits.

    The residual's autocorrelation gives the tile period in the capture. A period equal to a
    native one is tried unscaled first (integer phase, exact); otherwise the scale maps the
    nearest native periods onto it (the cell pattern is the same at every cell size, only
    resampled, so a neighbouring cell size is a close model too; the best correlation wins).
    """
    lags = lag_peaks(res)
    best: OverlayFit | None = None
    for lag in lags:
        for screen in _screens(res.shape):
            if abs(_period(mark, screen) - lag) < 1.0:
                fit = _fit_native(res, mark, screen)
                if fit is not None and fit.z >= MIN_FIT_Z:
                    return fit
    for lag in lags:
        fit = _fit_scaled(res, mark, lag)
        if fit is not None and (best is None or fit.z > best.z):
            best = fit
    return best if best is not None and best.z >= MIN_FIT_Z else None


def cancel_overlay(image: npt.NDArray[np.uint8], fit: OverlayFit) -> npt.NDArray[np.uint8]:
    """``image`` (H x W x 3 RGB or H x W grey) with the fitted overlay undone.

    ``bg = (O - a*C) / (1 - a)`` per pixel. On an unscaled capture this is exact: each channel
    rounds back to its 8-bit value, which undoes the compositor's rounding too. On a rescaled
    one the resampled overlay is an approximation, its gain is fitted, and the brightness is
    kept to a third of a level (``_brightness_as_rgb``).
    """
    alpha, white = _tile_maps(fit)
    shape = (image.shape[0], image.shape[1])
    a, ac = _place(alpha, fit, shape), 255.0 * _place(alpha * white, fit, shape)
    if _exact(fit):
        planes = [image[..., c] for c in range(3)] if image.ndim == 3 else [image]
        inverse = 1.0 / (1.0 - a)
        offset = ac * inverse
        exact = [np.clip(np.rint(plane * inverse - offset), 0, 255).astype(np.uint8) for plane in planes]
        return np.stack(exact, axis=2) if image.ndim == 3 else exact[0]
    channels = 3 if image.ndim == 3 else 1
    grey = np.asarray(brightness(image) / channels, dtype=np.float32)
    gain = _gain(grey, np.asarray((ac - a * grey) / (1.0 - a), dtype=np.float32))
    return _brightness_as_rgb(3.0 * (grey - gain * ac) / np.maximum(1.0 - gain * a, 0.5))


def _brightness_as_rgb(total: Floats) -> npt.NDArray[np.uint8]:
    """An RGB image whose R + G + B is ``total`` rounded (a third of a grey level).

    Rounding a cancelled image to whole grey levels would turn what is left of the pattern (a
    fraction of a level) into a full level wherever the content sits near a half level; the
    decoder reads R + G + B, so three channels carry the finer value.
    """
    units = np.clip(np.rint(total), 0, 765).astype(np.int32)
    base = units // 3
    rest = units - 3 * base
    rgb = np.stack([base + (rest >= 1), base + (rest >= 2), base], axis=2)
    return np.asarray(rgb, dtype=np.uint8)


def _screens(shape: tuple[int, int]) -> list[tuple[int, int]]:
    """One screen size per distinct cell size, the capture's own size first (a full screenshot)."""
    h, w = shape
    if w <= 0 or h <= 0:
        return list(_cell_screens().values())
    own = cell_size_for(w, h)
    return [(w, h), *(screen for cell, screen in _cell_screens().items() if cell != own)]


@lru_cache(maxsize=1)
def _cell_screens() -> dict[int, tuple[int, int]]:
    screens: dict[int, tuple[int, int]] = {}
    for short in SHORT_SIDES:
        screens.setdefault(cell_size_for(short, short), (short, short))
    return screens


@lru_cache(maxsize=64)
def signed_tile(mark: int, screen: tuple[int, int]) -> npt.NDArray[np.float64]:
    tile = render_tile(mark, *screen)
    sign = np.where(tile[..., 0] > 127, 1.0, -1.0)
    return np.asarray(sign * tile[..., 3], dtype=np.float64)


def _tile_maps(fit: OverlayFit) -> tuple[Floats, Floats]:
    """The tile's alpha (0..1) and its 'white' indicator, blurred when the capture was shrunk."""
    tile = render_tile(fit.mark, *fit.screen)
    alpha = tile[..., 3].astype(np.float32) / 255.0
    white = (tile[..., 0] > 127).astype(np.float32)
    if fit.scale < SHRUNK:
        # A shrunk capture averaged about 1/scale native pixels into each of its own.
        sigma = AREA_SIGMA / fit.scale
        blurred = _wrap_blur(alpha, sigma)
        return blurred, np.asarray(_wrap_blur(alpha * white, sigma) / np.maximum(blurred, 1e-6), dtype=np.float32)
    return alpha, white


def _wrap_blur(values: Floats, sigma: float) -> Floats:
    pad = int(3 * sigma) + 1
    padded = np.pad(values, pad, mode="wrap")
    blurred = cv2.GaussianBlur(padded, (0, 0), sigma)
    return np.asarray(blurred[pad:-pad, pad:-pad], dtype=np.float32)


def _place(tile: Floats, fit: OverlayFit, shape: tuple[int, int]) -> Floats:
    """The tile repeated over a capture of ``shape`` at the fit's scale and phase."""
    h, w = shape
    p = fit.period
    if _exact(fit):
        rolled = np.roll(tile, (-int(fit.dy), -int(fit.dx)), axis=(0, 1))
        return np.tile(rolled, (-(-h // p), -(-w // p)))[:h, :w]
    ys = np.mod(np.arange(h, dtype=np.float64) / fit.scale + fit.dy, p).astype(np.float32)
    xs = np.mod(np.arange(w, dtype=np.float64) / fit.scale + fit.dx, p).astype(np.float32)
    map_x, map_y = np.broadcast_to(xs[None, :], (h, w)), np.broadcast_to(ys[:, None], (h, w))
    placed = cv2.remap(tile, np.ascontiguousarray(map_x), np.ascontiguousarray(map_y),
                       cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    return np.asarray(placed, dtype=np.float32)


def _exact(fit: OverlayFit) -> bool:
    """An unscaled capture at an integer phase: the overlay can be undone pixel for pixel."""
    return fit.scale == 1.0 and fit.dy == int(fit.dy) and fit.dx == int(fit.dx)


def _gain(grey: Floats, push: Floats) -> float:
    """Least-squares gain of the predicted overlay against the capture, both high-passed and
    weighted alike (the capture's weights), so content does not bias it."""
    high = high_pass(grey)
    weights = _weights(high)
    model = high_pass(push.astype(np.float32)) * weights
    denom = float(np.vdot(model, model))
    if denom <= 0:
        return 0.0
    return float(np.clip(np.vdot(model, high * weights) / denom, 0.0, MAX_GAIN))


def _fit_native(res: Floats, mark: int, screen: tuple[int, int]) -> OverlayFit | None:
    sig = signed_tile(mark, screen)
    p = sig.shape[0]
    if min(res.shape) < p:
        return None
    dy, dx, z = phase(fold(res, p), sig, subpixel=False)
    return OverlayFit(mark, screen, p, 1.0, dy, dx, z)


def _fit_scaled(res: Floats, mark: int, lag: float) -> OverlayFit | None:
    """The overlay scaled so that one of the nearest native periods lands on ``lag``."""
    screens = sorted(_screens(res.shape), key=lambda s: abs(np.log(lag / _period(mark, s))))
    fits = [_fit_at(res, mark, screen, lag / _period(mark, screen)) for screen in screens[:SCALED_MODELS]]
    best = max((f for f in fits if f is not None), key=lambda f: f.z, default=None)
    if best is None:
        return None
    refined = [_fit_at(res, mark, best.screen, best.scale * (1.0 + step)) for step in SCALE_STEPS]
    return max([best, *(f for f in refined if f is not None)], key=lambda f: f.z)


def _fit_at(res: Floats, mark: int, screen: tuple[int, int], scale: float) -> OverlayFit | None:
    sig = signed_tile(mark, screen)
    p = sig.shape[0]
    if not MIN_SCALE <= scale <= MAX_SCALE:
        return None
    native = to_native(res, scale)
    if min(native.shape) < p:
        return None
    dy, dx, z = phase(fold(native, p), sig, subpixel=True)
    return OverlayFit(mark, screen, p, scale, dy, dx, z)


def _period(mark: int, screen: tuple[int, int]) -> int:
    return int(signed_tile(mark, screen).shape[0])


def to_native(res: Floats, scale: float) -> Floats:
    """Resample so that native pixel ``u`` reads capture pixel ``scale * u``."""
    h, w = res.shape
    size = (int(w / scale), int(h / scale))
    matrix = np.array([[scale, 0.0, 0.0], [0.0, scale, 0.0]])
    return np.asarray(cv2.warpAffine(res, matrix, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP), dtype=np.float32)


def fold(res: Floats, p: int) -> npt.NDArray[np.float64]:
    """Mean of ``res`` over every tile period (partial tiles at the edges count where seen)."""
    h, w = res.shape
    ny, nx = -(-h // p), -(-w // p)
    padded = np.zeros((ny * p, nx * p), dtype=np.float32)
    padded[:h, :w] = res
    total = padded.reshape(ny, p, nx, p).sum(axis=(0, 2), dtype=np.float64)
    seen = np.outer(np.bincount(np.arange(h) % p, minlength=p), np.bincount(np.arange(w) % p, minlength=p))
    return np.asarray(total / np.maximum(seen, 1), dtype=np.float64)


def phase(folded: npt.NDArray[np.float64], sig: npt.NDArray[np.float64], *, subpixel: bool) -> tuple[float, float, float]:
    """The circular shift of ``sig`` that best matches ``folded``, and its z-score."""
    corr = np.fft.irfft2(np.conj(np.fft.rfft2(folded)) * np.fft.rfft2(sig), s=folded.shape)
    iy, ix = np.unravel_index(int(np.argmax(corr)), corr.shape)
    z = float((corr[iy, ix] - corr.mean()) / (corr.std() + 1e-12))
    if not subpixel:
        return float(iy), float(ix), z
    p = corr.shape[0]
    dy = iy + _vertex(corr[(iy - 1) % p, ix], corr[iy, ix], corr[(iy + 1) % p, ix])
    dx = ix + _vertex(corr[iy, (ix - 1) % p], corr[iy, ix], corr[iy, (ix + 1) % p])
    return float(dy), float(dx), z


def _vertex(a: float, b: float, c: float) -> float:
    denom = a - 2 * b + c
    return float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5)) if denom < 0 else 0.0
