"""The invisible overlay: a straight-alpha RGBA image the agent draws over the whole screen.

Colour science, in short (the measurements are in docs/watermark.md):

* **One-sided alpha.** A pixel that should be brighter is white with alpha ``PEAK_ALPHA * v``;
  one that should be darker is black with alpha ``PEAK_ALPHA * |v|`` (``v`` in -1..1 is the
  tile pattern, nearly two-level: watermark.pattern). The composite ``a*C + (1-a)*bg`` then
  moves every background in the sign of ``v``: on white only the dark half shows, on black
  only the bright half, on grey both at half size.
* **Nearly constant alpha.** Because ``|v|`` is close to 1 away from sign changes, the alpha is
  close to ``PEAK_ALPHA`` everywhere and only the colour flips: what shows on white or black is
  a uniform tint (invisible) plus half the pattern. Measured against the earlier smooth
  pattern at peak alpha 3.7: the same signal for the decoder, S-CIELAB p99 about halved, PSNR
  >= 43 dB on white and black.
* **Achromatic.** Blue-yellow modulation would be less visible, but JPEG's 4:2:0 chroma
  subsampling and coarse chroma quantisation, and greyscale copies, remove it; the measured
  trade-off (bench/watermark.py) favoured luminance. Cells are several pixels wide (low
  spatial frequency survives JPEG and, later, cameras).
* **8-bit quantisation.** ``PEAK_ALPHA`` = 2.5 is not a whole 8-bit alpha step: an ordered
  dither mixes 2 and 3 at the finest pixel scale. Tests composite in 8 bits to check the signal
  survives on black, grey and white.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from watermark.channel import tile_cells
from watermark.pattern import cell_size_for, pixel_tile

PEAK_ALPHA = 2.5
MAX_SIDE = 16384


def render_tile(mark: int, width: int, height: int) -> npt.NDArray[np.uint8]:
    """One period of the overlay for a ``width`` x ``height`` screen, as straight-alpha RGBA.

    The overlay is exactly this tile repeated from the screen's top-left corner, so a window
    system can tile it server-side (an X11 background pixmap) and the client keeps one tile.
    """
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ValueError(f"screen size must be 1..{MAX_SIDE} per side, got {width}x{height}")
    tile = pixel_tile(tile_cells(mark), cell_size_for(width, height))
    rgba = np.empty((*tile.shape, 4), dtype=np.uint8)
    rgba[:, :, :3] = np.where(tile > 0, 255, 0).astype(np.uint8)[:, :, None]
    rgba[:, :, 3] = _dithered_alpha(PEAK_ALPHA * np.abs(tile))
    return rgba


# 4 x 4 ordered-dither thresholds (Bayer): the error of rounding alpha to 8 bits goes to the finest
# pixel scale, where neither the eye (S-CIELAB) nor the decoder (which folds it away) sees it.
_BAYER = (np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]]) + 0.5) / 16.0


def _dithered_alpha(alpha: npt.NDArray[np.float64]) -> npt.NDArray[np.uint8]:
    """8-bit alpha whose local mean is ``alpha`` (2.5 becomes a fine mix of 2 and 3).

    The thresholds are indexed by the tile's own pixel coordinates, so the tile stays the period.
    """
    ys, xs = np.indices(alpha.shape)
    return np.asarray(np.floor(alpha + _BAYER[ys % 4, xs % 4]), dtype=np.uint8)


def render_overlay(mark: int, width: int, height: int) -> npt.NDArray[np.uint8]:
    """(height, width, 4) straight-alpha RGBA overlay carrying ``mark``; deterministic.

    Always ``render_tile`` repeated from the top-left corner and cut to size.
    """
    tile = render_tile(mark, width, height)
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]))
    return np.tile(tile, (*reps, 1))[:height, :width]
