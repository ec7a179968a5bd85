"""The context residual, and pages whose brightness edit clipped the mark off everything but text."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.watermark.images import MARK, marked, spreadsheet, text_page
from watermark.context import CONTEXT_CLIP, context_residual
from watermark.decoder import decode_image

W, H = 1366, 768


def edit(img: np.ndarray, gain: float, offset: float) -> np.ndarray:
    return np.clip(np.rint(img * gain + offset), 0, 255).astype(np.uint8)


# Context bins are 32 levels wide, a second binning is shifted by 16. Glyph levels that sit, like
# the page's white (765), in the middle of the shifted bins (on the edges of the first binning,
# where the mark alone would move a ring from one context to the next); and levels on the
# shifted edges, so that a ring of glyph and page is near an edge in both binnings.
SHIFTED_MIDDLE = (96.0, 160.0, 224.0, 416.0)
BOTH_EDGES = (48.0, 112.0, 176.0, 400.0)


def stamped(pattern: np.ndarray | None, levels: tuple[float, ...] = SHIFTED_MIDDLE, seed: int = 0) -> np.ndarray:
    """A white page with one 7 x 5 'glyph' stamped at about 400 places (apart, each at a random
    offset in its own 12 x 12 box, so under the pattern each copy sits elsewhere), plus a pattern."""
    rng = np.random.default_rng(seed)
    glyph = rng.choice(levels, (7, 5))
    page = np.full((240, 320), 765.0, np.float32)
    for top in range(2, 228, 12):
        for left in range(2, 308, 12):
            y, x = top + int(rng.integers(0, 4)), left + int(rng.integers(0, 6))
            page[y : y + 7, x : x + 5] = glyph
    return page if pattern is None else page + pattern


def cells(seed: int = 1) -> np.ndarray:
    """A +-6 pattern of 6-pixel cells, like the overlay's on the brightness scale."""
    rng = np.random.default_rng(seed)
    return np.kron(rng.choice([-6.0, 6.0], (40, 54)), np.ones((6, 6)))[:240, :320].astype(np.float32)


def test_repeated_content_cancels_exactly() -> None:
    """Every copy of the glyph has the same surroundings: without a mark nothing is left."""
    res = context_residual(stamped(None))
    assert np.abs(res).max() < 1e-6


@pytest.mark.parametrize(("levels", "least"), [(SHIFTED_MIDDLE, 0.99), (BOTH_EDGES, 0.6)])
def test_what_is_left_on_repeated_content_is_the_mark(levels: tuple[float, ...], least: float) -> None:
    """All of it when one binning keeps every ring whole; most of it when each binning cuts some
    rings (their contexts then hold the mark and cancel it)."""
    pattern = cells()
    page = stamped(pattern, levels)
    res = context_residual(page)
    glyph = np.abs(page - 765.0) > 20  # where the stamped glyphs are
    corr = np.corrcoef(res[glyph], pattern[glyph])[0, 1]
    assert corr > least, corr


def test_unique_contexts_get_no_residual() -> None:
    """Noise repeats no context: leave-one-out gives those pixels nothing, not a copy of themselves."""
    noise = np.random.default_rng(2).uniform(0, 765, (200, 300)).astype(np.float32)
    res = context_residual(noise)
    assert np.count_nonzero(res) < 0.01 * res.size


def test_residual_is_bounded_and_keeps_the_shape() -> None:
    page = stamped(cells())
    res = context_residual(page)
    assert res.shape == page.shape and res.dtype == np.float32
    assert np.abs(res).max() <= CONTEXT_CLIP
    assert not res[0].any() and not res[-1].any() and not res[:, 0].any() and not res[:, -1].any()
    for tiny in (np.zeros((0, 5), np.float32), np.ones((2, 9), np.float32), np.ones(7, np.float32)):
        assert not context_residual(tiny).any()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("content", "gain", "offset"),
    [("page", 1.15, 5), ("page", 1.0, 12), ("page", 1.3, 0), ("sheet", 1.15, 5), ("sheet", 1.3, 0), ("dark", 1.0, -40)],
)
def test_page_clipped_to_white_or_black_decodes_from_its_text(content: str, gain: float, offset: float) -> None:
    """The edit maps both halves of the mark on the page to 255 (or 0): only glyphs, grid lines
    and anti-aliased rims still differ from the same edit of the unmarked page."""
    bg = {"page": text_page(W, H, seed=11), "sheet": spreadsheet(W, H, seed=2), "dark": text_page(W, H, dark=True, seed=2)}[content]
    leak, twin = edit(marked(bg), gain, offset), edit(bg, gain, offset)
    assert ((leak == 255).all(axis=2) | (leak == 0).all(axis=2)).mean() > 0.75
    assert np.any(leak != twin, axis=2).mean() < 0.2
    result = decode_image(leak)
    assert [d.mark for d in result.marks] == [MARK]
    assert not decode_image(twin).found


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "gain", "offset"), [(2, 1.2, 20), (3, 1.15, 5)])
def test_clipped_sheet_shrunk_afterwards_decodes(seed: int, gain: float, offset: float) -> None:
    """Clipped, then shrunk to 0.8 (area): the period is no native one, and the capture's own
    autocorrelation shows its rows; the context residual's shows the tile. (The synthetic text
    page is not read this way, nor anything shrunk to 0.6: docs/watermark.md.)"""
    bg = spreadsheet(W, H, seed=seed)
    size = (round(W * 0.8), round(H * 0.8))
    leak = cv2.resize(edit(marked(bg), gain, offset), size, interpolation=cv2.INTER_AREA)
    twin = cv2.resize(edit(bg, gain, offset), size, interpolation=cv2.INTER_AREA)
    assert [d.mark for d in decode_image(leak).marks] == [MARK]
    assert not decode_image(twin).found


@pytest.mark.slow
def test_clipped_unmarked_pages_are_never_accused() -> None:
    for img in (edit(text_page(W, H, seed=4), 1.2, 10), edit(spreadsheet(W, H, seed=5), 1.3, 0),
                edit(text_page(W, H, dark=True, seed=6), 0.9, -35), np.full((H, W, 3), 255, np.uint8)):
        assert not decode_image(img).found


def test_a_step_outside_the_levels_is_refused() -> None:
    for step in (0, -3, 512):
        with pytest.raises(ValueError, match="step"):
            context_residual(stamped(None), step)
