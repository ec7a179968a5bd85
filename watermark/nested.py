"""A screenshot of a screenshot: the leak shown in a viewer on another marked screen.

The outer screen's overlay covers the whole capture at its native scale; the inner picture carries
its own mark at a smaller scale. ``add_inner_marks`` is where the decoder looks under each mark it
found for such an inner picture.

Not built yet: the cancellation of a found outer mark. Until then the decoder's own period search
is all there is (it finds the inner mark when the inner picture fills most of the frame).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from watermark.decoder import DecodeResult


def add_inner_marks(
    rgb: npt.NDArray[np.uint8],
    result: DecodeResult,
    decode_layer: Callable[[npt.NDArray[np.uint8]], DecodeResult],
) -> DecodeResult:
    """``result`` plus the marks of pictures found under its marks (none yet, see the docstring)."""
    del rgb, decode_layer
    return result
