"""One monitor's overlay image: the invisible mark, with the visible layer on top.

Pure: arrays in, arrays out. The renderers are passed in, so the overlay window shows exactly
`watermark.overlay.render_overlay(mark, w, h)` and unit tests can use a fake.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

InvisibleRenderer = Callable[[int, int, int], np.ndarray]
VisibleRenderer = Callable[[str, int, int, float], np.ndarray]


@dataclass(frozen=True)
class FrameSpec:
    """Everything a frame depends on; equal specs give equal frames (used as a cache key)."""

    width: int
    height: int
    mark: int | None
    visible_text: str | None
    visible_opacity: float


def compose_frame(
    spec: FrameSpec, *, render_invisible: InvisibleRenderer, render_visible: VisibleRenderer
) -> np.ndarray:
    """(height, width, 4) uint8 straight-alpha RGBA for one monitor."""
    frame = np.zeros((spec.height, spec.width, 4), dtype=np.uint8)
    if spec.mark is not None:
        frame = _checked(render_invisible(spec.mark, spec.width, spec.height), spec, "invisible")
    if spec.visible_text and spec.visible_opacity > 0:
        top = _checked(render_visible(spec.visible_text, spec.width, spec.height, spec.visible_opacity), spec, "visible")
        frame = blend_over(top, frame)
    return frame


def blend_over(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Porter-Duff "over" for straight-alpha RGBA, rounded to 8 bits.

    Only pixels where `top` has any alpha are computed: text layers are mostly empty, and this
    keeps a 4K frame well under a tenth of a second.
    """
    out = bottom.copy()
    covered = top[..., 3] > 0
    if not covered.any():
        return out
    t, b = top[covered].astype(np.float32), bottom[covered].astype(np.float32)
    ta, ba = t[:, 3:4] / 255, b[:, 3:4] / 255
    out_a = ta + ba * (1 - ta)
    premul = t[:, :3] * ta + b[:, :3] * ba * (1 - ta)
    rgb = np.divide(premul, out_a, out=np.zeros_like(premul), where=out_a > 0)
    mixed = np.empty_like(t, dtype=np.uint8)
    mixed[:, :3] = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    mixed[:, 3] = np.clip(np.rint(out_a[:, 0] * 255), 0, 255).astype(np.uint8)
    out[covered] = mixed
    return out


def _checked(image: np.ndarray, spec: FrameSpec, layer: str) -> np.ndarray:
    expected = (spec.height, spec.width, 4)
    if image.shape != expected or image.dtype != np.uint8:
        raise ValueError(f"{layer} layer renderer gave {image.shape} {image.dtype}, expected {expected} uint8")
    return image
