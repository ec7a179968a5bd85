"""Domain errors of the watermark library."""

from __future__ import annotations


class DecodeError(ValueError):
    """An input cannot be decoded as an image (corrupt, truncated, too large, not an image)."""
