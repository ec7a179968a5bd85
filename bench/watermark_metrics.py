"""Invisibility metrics: PSNR, CIEDE2000 and S-CIELAB (Zhang & Wandell 1996).

S-CIELAB filters an image in an opponent colour space with the eye's spatial sensitivity
(a sum of Gaussians per channel, spreads in degrees of visual angle) before measuring the colour
difference in CIELAB, so a fine pattern the eye integrates away scores low while a coarse one
of the same energy scores high. Parameters from X. Zhang and B. A. Wandell, "A spatial extension
of CIELAB for digital color image reproduction", SID Digest 1996, and their scielab code's
published tables; difference measured as Delta E*ab (CIE 1976), as in the paper.

The spreads of the distributed tables (0.05, 0.225, 7.0 degrees for luminance...) are each
Gaussian's *full width at half maximum*: the distributed code builds a kernel
``exp(-4 ln 2 x^2 / halfwidth^2)`` from ``halfwidth = spread * samples per degree``. Its standard
deviation is the spread divided by 2 sqrt(2 ln 2) = 2.355, which agrees with the paper's own form
``exp(-(x^2 + y^2) / s^2)`` and its smaller spreads (0.0283, 0.133, 4.336: s / sqrt 2 gives the
same deviations within 6 %). Until 2026-12-06 this module used the spread as the deviation, a
blur 2.355 times too wide, which under-reported fine patterns (5-8 % on the overlay's).
"""

from __future__ import annotations

import numpy as np

PIXELS_PER_DEGREE = 40.0

# XYZ (D65, Y of white = 1) -> opponent channels (luminance, red-green, blue-yellow)
XYZ_TO_OPP = np.array([[0.279, 0.72, -0.107], [-0.449, 0.29, -0.077], [0.086, -0.59, 0.501]])
OPP_TO_XYZ = np.linalg.inv(XYZ_TO_OPP)
# (weights, spreads in degrees: full width at half maximum) per opponent channel
FILTERS = (
    ((1.00327, 0.114416, -0.117686), (0.05, 0.225, 7.0)),
    ((0.616725, 0.383275), (0.0685, 0.826)),
    ((0.567885, 0.432115), (0.0920, 0.6451)),
)
SRGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
WHITE = SRGB_TO_XYZ.sum(axis=1)
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def ciede2000(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel CIEDE2000 between two sRGB images (uint8 or float 0..255)."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    return np.asarray(deltaE_ciede2000(rgb2lab(np.asarray(a) / 255.0), rgb2lab(np.asarray(b) / 255.0)))


def scielab(a: np.ndarray, b: np.ndarray, ppd: float = PIXELS_PER_DEGREE) -> np.ndarray:
    """Per-pixel S-CIELAB Delta E*ab between two sRGB images (float 0..255 allowed)."""
    fa, fb = (_filtered_xyz(np.asarray(x, dtype=np.float64), ppd) for x in (a, b))
    return np.linalg.norm(_lab(fa) - _lab(fb), axis=2)


def _linear(rgb: np.ndarray) -> np.ndarray:
    c = np.clip(rgb / 255.0, 0.0, 1.0)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _filtered_xyz(rgb: np.ndarray, ppd: float) -> np.ndarray:
    return opponent_filtered(_linear(rgb) @ SRGB_TO_XYZ.T @ XYZ_TO_OPP.T, ppd) @ OPP_TO_XYZ.T


def opponent_filtered(opp: np.ndarray, ppd: float) -> np.ndarray:
    """The three opponent channels (h, w, 3) blurred by the eye's filters, circularly (FFT)."""
    h, w = opp.shape[:2]
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f2 = fx**2 + fy**2
    out = np.empty_like(opp)
    for ch, (weights, spreads) in enumerate(FILTERS):
        gain = sum(wt * np.exp(-2.0 * (np.pi * _sigma(s, ppd)) ** 2 * f2) for wt, s in zip(weights, spreads, strict=True))
        out[..., ch] = np.fft.irfft2(np.fft.rfft2(opp[..., ch]) * gain, s=(h, w))
    return out


def _sigma(spread: float, ppd: float) -> float:
    """Standard deviation in pixels of a Gaussian whose full width at half maximum is ``spread``
    degrees."""
    return float(spread * ppd / FWHM_PER_SIGMA)


def _lab(xyz: np.ndarray) -> np.ndarray:
    t = xyz / WHITE
    f = np.where(t > (6 / 29) ** 3, np.cbrt(np.maximum(t, 0)), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=2)
