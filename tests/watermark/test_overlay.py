"""Overlay rendering: shape, determinism, tint and amplitude budget, real 8-bit compositing."""

from __future__ import annotations

import numpy as np
import pytest

from watermark.overlay import render_overlay

MARK = 0x0123456789ABCDEF


def composite(rgba: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """8-bit straight-alpha 'over', rounded like a compositor."""
    a = rgba[..., 3:4].astype(np.float64) / 255.0
    out = rgba[..., :3] * a + bg.astype(np.float64) * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("w", "h"), [(1366, 768), (1920, 1080), (3840, 2160), (801, 599), (1, 1)])
def test_shape_and_alpha(w: int, h: int) -> None:
    rgba = render_overlay(MARK, w, h)
    assert rgba.shape == (h, w, 4) and rgba.dtype == np.uint8
    assert rgba[..., 3].max() <= 4
    assert set(np.unique(rgba[..., :3])) <= {0, 255}


def test_render_is_deterministic_and_mark_dependent() -> None:
    a = render_overlay(MARK, 640, 480)
    assert np.array_equal(a, render_overlay(MARK, 640, 480))
    assert not np.array_equal(a, render_overlay(MARK ^ 1, 640, 480))


def test_tile_origin_is_the_screen_origin() -> None:
    big, small = render_overlay(MARK, 1000, 700), render_overlay(MARK, 500, 350)
    assert np.array_equal(big[:350, :500], small)


@pytest.mark.parametrize("level", [0, 128, 255])
def test_composite_stays_within_budget_and_keeps_signal(level: int) -> None:
    rgba = render_overlay(MARK, 400, 300)
    bg = np.full((300, 400, 3), level, dtype=np.uint8)
    diff = composite(rgba, bg).astype(np.float64) - level
    psnr = 10 * np.log10(255**2 / np.mean(diff**2))
    assert psnr >= 42.0
    assert np.abs(diff).max() <= 4
    assert diff[..., 0].std() > 0.5  # rounding did not erase the pattern


@pytest.mark.parametrize(("w", "h"), [(0, 10), (10, -1), (20000, 10)])
def test_bad_sizes_are_rejected(w: int, h: int) -> None:
    with pytest.raises(ValueError):
        render_overlay(MARK, w, h)


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080), (3840, 2160), (500, 7000)])
def test_overlay_is_its_tile_repeated_from_the_top_left(size: tuple[int, int]) -> None:
    from watermark.overlay import render_tile

    width, height = size
    tile = render_tile(0x0123456789ABCDEF, width, height)
    full = render_overlay(0x0123456789ABCDEF, width, height)
    th, tw = tile.shape[:2]
    assert tile.shape[2] == 4 and th <= height and tw <= width
    ys, xs = np.mgrid[0:height, 0:width]
    assert np.array_equal(full, tile[ys % th, xs % tw])


def test_pattern_is_nearly_two_level_with_a_dithered_alpha() -> None:
    """Alpha is close to constant (only the colour flips) and its local mean is PEAK_ALPHA * |v|."""
    from watermark.channel import tile_cells
    from watermark.overlay import PEAK_ALPHA, render_tile
    from watermark.pattern import cell_size_for, pixel_tile

    alpha = render_tile(MARK, 1920, 1080)[..., 3].astype(np.float64)
    v = pixel_tile(tile_cells(MARK), cell_size_for(1920, 1080))
    assert np.isin(alpha, (2, 3)).mean() > 0.8
    assert abs(alpha.mean() - PEAK_ALPHA * np.abs(v).mean()) < 0.05
    assert 0.4 < (alpha == 3).sum() / np.isin(alpha, (2, 3)).sum() < 0.6
