"""From tile cells to a smooth, periodic pixel pattern.

Cells are squares of ``cell_px`` pixels; a circular Gaussian blur (sigma ``SMOOTHING`` cells)
rounds their edges so the pattern has no single-pixel detail (it must survive rescaling, JPEG,
and later, phone cameras). The blur is circular so that the tile stays exactly periodic.

The blurred cells are then pushed back towards two levels (times ``SATURATION``, clipped to
+-1): every pixel away from a sign change sits at full amplitude. The overlay is one-sided
(watermark.overlay), so what a viewer sees is ``max(v, 0)`` or ``max(-v, 0)``; with a smooth,
mostly sub-peak ``v`` that rectified pattern has as much visible low-frequency structure as
signal (blobs where neighbouring cells share a sign). With ``|v|`` nearly 1 everywhere the
rectified pattern is a uniform tint plus ``v / 2``, so for the same PSNR the signal is as large
and the S-CIELAB error about half (docs/watermark.md, "Pattern experiments"). Sign changes stay
a couple of pixels wide (blur, then clip), so there is still no single-pixel detail.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

SMOOTHING = 0.3
SATURATION = 5.0
MIN_CELL = 6

Floats = npt.NDArray[np.float64]


def cell_size_for(width: int, height: int) -> int:
    """Cell size in pixels: 1/180 of the short side, at least MIN_CELL px (so HiDPI screens grow it)."""
    return max(MIN_CELL, round(min(width, height) / 180))


def pixel_tile(cells: Floats, cell_px: int) -> Floats:
    """The periodic pixel tile for ``cells``: blurred, scaled to peak 1, pushed towards +-1."""
    if cell_px < 1:
        raise ValueError(f"cell_px must be positive, got {cell_px}")
    big = np.kron(cells, np.ones((cell_px, cell_px))).astype(np.float64)
    blurred = _circular_blur(big, SMOOTHING * cell_px)
    peak = float(np.max(np.abs(blurred)))
    if peak == 0:
        return blurred
    return np.clip(blurred * (SATURATION / peak), -1.0, 1.0)


def _circular_blur(values: Floats, sigma: float) -> Floats:
    fy = np.fft.fftfreq(values.shape[0])[:, None]
    fx = np.fft.rfftfreq(values.shape[1])[None, :]
    gain = np.exp(-2.0 * (np.pi * sigma) ** 2 * (fx**2 + fy**2))
    return np.fft.irfft2(np.fft.rfft2(values) * gain, s=values.shape)
