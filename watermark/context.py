"""Context residual: predict each pixel from the pixels whose surroundings look the same.

The decoder's usual residual (``sync.residual``) compares a pixel with the *flat* pixels around
it, so edges, text strokes and anti-aliased rims get no weight. That is right while flat areas
carry the mark, and wrong when they do not: a brightness edit that clips a white page to 255
erases the mark from the page and leaves it only on glyphs and on the grey rims around them
(docs/watermark.md, "Clipped pages"). There, no pixel has a flat neighbour to be compared with.

Text repeats itself, though: the same glyph, at the same sub-pixel offset, shows the same
pixels wherever it is drawn, and each copy sits at a different place under the tile. So a
pixel is predicted by the mean of all pixels whose 3 x 3 surroundings (the ring of eight,
without the pixel itself) fall in the same coarse brightness bins: a non-local mean over
identical contexts (Buades, Coll & Morel 2005, with exact matching instead of weights). The
content's own value cancels; what stays is the mark, because the copies are spread over the
tile. Photos and video rarely repeat a context exactly, and a pixel whose context is unique gets
no residual, so they add little noise.

The ring is binned on its marked values, so a ring near a bin edge is put into one context or
the next by the mark itself, and those contexts then hold the mark in their means; two binnings
half a bin apart, each pixel taking the one that keeps its ring farthest from an edge, keep most
of it (measured in the docs and in ``tests/watermark/test_context.py``). A pixel is never
compared with itself (leave-one-out), and a pixel whose context has no other member, or whose
hash slot another context shares, gets no residual: nothing is ever compared with unrelated
pixels, so an unmarked image's residual is noise, never a pattern.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

# Bin width on the brightness scale (R + G + B, 0..765): about 11 levels per channel. Coarser
# bins put more copies in each context, finer ones keep contexts purer; 32 read best (docs).
CONTEXT_STEP = 32
# Residuals beyond this (R + G + B) are content, not mark (the mark is a few levels per channel).
CONTEXT_CLIP = 30.0
_LEVELS = 1024  # brightness is rounded to whole levels for binning: 0..765 for R + G + B
_BIN_BITS = 5
_TABLE_BITS = 20
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_CHECK_MULTIPLIER = np.uint64(0xD6E8FEB86659FD93)


def context_residual(channel: npt.NDArray[np.float32], step: int = CONTEXT_STEP) -> npt.NDArray[np.float32]:
    """Each pixel minus the mean of the other pixels with the same binned 3 x 3 ring.

    Two binnings, the second shifted by half a bin; each pixel takes the one in which its ring
    is farthest from a bin edge. A ring on a bin edge (a grey grid line after an edit) would be
    put into one context or another by the mark itself, and then each context's mean holds
    the mark and cancels it; in the other binning the same ring is half a bin from any edge.

    Contexts are hashed into a table of 2^20 slots, so the cost is a few ``bincount`` passes,
    linear in the pixels; a slot shared by two contexts gives its pixels no residual. Pixels in
    a patch clipped to the image's darkest or brightest value, and the one-pixel border, which
    has no full ring, get none either.
    """
    if not 1 <= step < _LEVELS // 2:
        raise ValueError(f"step must be 1..{_LEVELS // 2 - 1} levels, got {step}")
    values = np.asarray(channel, dtype=np.float32)
    res = np.zeros(values.shape[:2], np.float32)
    if values.ndim != 2 or min(values.shape) < 3:
        return res
    live = _live_pixels(values)
    if not live.size:
        return res
    levels = np.clip(np.rint(values), 0, _LEVELS - 1).astype(np.intp).ravel()
    centre = values.ravel()[live].astype(np.float64)
    (slots, check, margin), (shifted_slots, shifted_check, shifted_margin) = _context_keys(
        levels, live, values.shape[1], step
    )
    count, others = _context_means(slots, check, centre)
    shifted_count, shifted_others = _context_means(shifted_slots, shifted_check, centre)
    use_shifted = shifted_margin > margin
    count[use_shifted] = shifted_count[use_shifted]
    others[use_shifted] = shifted_others[use_shifted]
    res.ravel()[live] = np.clip(np.where(count > 1, centre - others, 0.0), -CONTEXT_CLIP, CONTEXT_CLIP)
    return res


def _live_pixels(values: npt.NDArray[np.float32]) -> npt.NDArray[np.intp]:
    """Flat indices of the pixels that take part in contexts: not on the border, and not in a
    3 x 3 patch that sits wholly at the image's darkest or brightest value.

    Such patches are what a clipping edit left (or plain white or black paper): they carry no
    mark, and on a clipped page they are most of the pixels and would be most of the work.
    """
    kernel = np.ones((3, 3), np.uint8)
    clipped = (cv2.erode(values, kernel) == values.max()) | (cv2.dilate(values, kernel) == values.min())
    clipped[[0, -1], :] = True
    clipped[:, [0, -1]] = True
    return np.flatnonzero(~clipped)


def _ring_offsets(width: int) -> tuple[int, ...]:
    """Flat-index offsets of the eight neighbours, row above, then the sides, then row below."""
    return (-width - 1, -width, -width + 1, -1, 1, width - 1, width, width + 1)


_RING = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]], np.uint8)


def _context_keys(
    levels: npt.NDArray[np.intp], live: npt.NDArray[np.intp], width: int, step: int
) -> list[tuple[npt.NDArray[np.intp], npt.NDArray[np.float64], npt.NDArray[np.uint8]]]:
    """For each of the two binnings (offset 0 and half a bin), every live pixel's binned ring
    of eight neighbours as a table slot and a check value under 2^24 (two independent hashes of
    the same key), and the ring's smallest distance to a bin edge.

    The whole image is binned once per binning, a byte a pixel; the ring's eight bins are laid
    side by side so that they read as one 64-bit key, by shifted copies of the binned image
    rather than a gather per neighbour, and the ring's margin is an erosion (a third fewer
    instructions for the whole residual than gathering each neighbour of each live pixel).
    """
    size = levels.size
    small = levels.astype(np.uint16)
    out = []
    for offset in (0, step // 2):
        shifted = small + np.uint16(offset)
        bins = np.minimum(shifted // np.uint16(step), np.uint16((1 << _BIN_BITS) - 1)).astype(np.uint8)
        rest = shifted % np.uint16(step)
        edges = np.minimum(rest, np.uint16(step) - rest).astype(np.uint8)
        ring = np.empty((size, 8), np.uint8)  # rows of border pixels stay unset: they are never live
        for k, neighbour in enumerate(_ring_offsets(width)):
            lo, hi = max(0, -neighbour), size - max(0, neighbour)
            ring[lo:hi, k] = bins[lo + neighbour : hi + neighbour]
        key = ring.view(np.uint64).ravel()[live]
        margin = np.asarray(cv2.erode(edges.reshape(-1, width), _RING), dtype=np.uint8).ravel()[live]
        check = (key * _CHECK_MULTIPLIER) >> np.uint64(40)
        key *= _GOLDEN
        key >>= np.uint64(64 - _TABLE_BITS)
        out.append((key.view(np.intp), check.astype(np.float64), margin))
    return out


def _context_means(
    slots: npt.NDArray[np.intp], check: npt.NDArray[np.float64], centre: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Per live pixel (``centre`` holds their values, ``slots`` and ``check`` their contexts'
    two hashes): how many live pixels share its context, and the mean of the others' values.

    A slot that two different contexts hashed to is found by the second hash, which then varies
    within the slot; its pixels count as alone (no residual), so a photo's unique contexts are
    not compared with unrelated pixels that happen to share their slot.
    """
    size = 1 << _TABLE_BITS
    count = np.asarray(np.bincount(slots, minlength=size), dtype=np.int64)
    # Exact: the checks are whole numbers under 2^24, so a slot's mean is exactly each member's
    # check when all agree, and not that of at least one member when two contexts share it.
    mean_check = np.bincount(slots, weights=check, minlength=size) / np.maximum(count, 1)
    count[np.bincount(slots, weights=check != mean_check[slots], minlength=size) > 0] = 0
    members = count[slots]
    others = np.asarray(np.bincount(slots, weights=centre, minlength=size)[slots], dtype=np.float64)
    others -= centre
    others /= np.maximum(members - 1, 1)
    return members, others
