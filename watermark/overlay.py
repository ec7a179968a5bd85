"""The invisible overlay: a straight-alpha RGBA image the agent draws over the whole screen.

Colour science, in short (the measurements are in docs/watermark.md):

* **One-sided alpha.** A pixel that should be brighter is white with alpha ``PEAK_ALPHA * v``;
  one that should be darker is black with alpha ``PEAK_ALPHA * |v|`` (``v`` in -1..1 is the
  smooth tile pattern). The composite ``a*C + (1-a)*bg`` then moves every background in the
  sign of ``v``: on white only the dark half shows, on black only the bright half, on grey both
  at half size. Against a uniform alpha with a mid-grey colour, this spends no energy on a
  uniform tint, so for the same PSNR (>= 42 dB on white and black) the signal is a third larger.
* **Achromatic.** Blue-yellow modulation would be less visible, but JPEG's 4:2:0 chroma
  subsampling and coarse chroma quantisation, and greyscale copies, remove it; the measured
  trade-off (bench/watermark.py) favoured luminance. Cells are several pixels wide with smooth
  edges (low spatial frequency survives JPEG and, later, cameras).
* **8-bit quantisation.** Alpha itself is 8-bit (0..4), and a compositor rounds; the smooth
  edges make rounding dither between levels, and tests composite in 8 bits to check the
  signal survives on black, grey and white.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from watermark.channel import tile_cells
from watermark.pattern import cell_size_for, pixel_tile

PEAK_ALPHA = 3.7
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
    rgba[:, :, 3] = np.rint(PEAK_ALPHA * np.abs(tile)).astype(np.uint8)
    return rgba


def render_overlay(mark: int, width: int, height: int) -> npt.NDArray[np.uint8]:
    """(height, width, 4) straight-alpha RGBA overlay carrying ``mark``; deterministic.

    Always ``render_tile`` repeated from the top-left corner and cut to size.
    """
    tile = render_tile(mark, width, height)
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]))
    return np.tile(tile, (*reps, 1))[:height, :width]
