"""The benchmark's S-CIELAB (bench/watermark_metrics.py) against the published filter convention."""

from __future__ import annotations

import numpy as np
import pytest

from bench.watermark_metrics import FILTERS, opponent_filtered, scielab


def _half_max_width(profile: np.ndarray) -> float:
    """Width in pixels between the half-maximum points of a single-peaked profile (interpolated)."""
    peak = int(np.argmax(profile))
    half = profile[peak] / 2.0

    def crossing(step: int) -> float:
        i = peak
        while profile[i + step] > half:
            i += step
        a, b = profile[i], profile[i + step]
        return i + step * (a - half) / (a - b)

    return crossing(1) - crossing(-1)


@pytest.mark.parametrize("channel", [0, 1, 2])
def test_line_spread_of_the_narrow_gaussian_has_the_published_spread_as_its_full_width_at_half_maximum(channel: int) -> None:
    """A one-pixel line through one opponent channel at 400 px/deg: the response's half-maximum
    width is the narrow Gaussian's spread (0.05, 0.0685, 0.092 deg = 20, 27.4, 36.8 px); the wider
    Gaussians only lift it a little (the second one's peak is 2.5-20 % of the first's)."""
    ppd = 400.0
    opp = np.zeros((8, 2048, 3))
    opp[:, 1024, channel] = 1.0
    profile = opponent_filtered(opp, ppd)[4, :, channel]
    spread = FILTERS[channel][1][0] * ppd
    assert _half_max_width(profile) == pytest.approx(spread, rel=0.15)
    assert _half_max_width(profile) >= spread  # a wider pedestal widens it, never narrows it


def test_equal_images_differ_by_nothing_and_a_uniform_change_by_its_cielab_difference() -> None:
    grey = np.full((64, 64, 3), 128.0)
    assert float(np.max(scielab(grey, grey))) == pytest.approx(0.0, abs=1e-9)
    # The filters pass a uniform field unchanged (each channel's weights sum to 1), so a uniform
    # step of one sRGB level at 128 scores its plain Delta E*ab: about 0.39 in L*.
    step = scielab(grey, grey + 1.0)
    assert float(step.std()) < 1e-6
    assert float(step.mean()) == pytest.approx(0.39, abs=0.02)


def test_a_fine_pattern_scores_less_than_a_coarse_one_of_the_same_energy() -> None:
    """What S-CIELAB is for: two-pixel stripes at 40 px/deg (10 cycles/deg) are blurred by the
    eye's filters, 40-pixel ones are not."""
    x = np.arange(640)
    fine = np.where((x // 2) % 2 == 0, 1.0, -1.0)
    coarse = np.where((x // 40) % 2 == 0, 1.0, -1.0)
    grey = np.full((32, 640, 3), 128.0)
    s_fine = scielab(grey + 2.0 * fine[None, :, None], grey)
    s_coarse = scielab(grey + 2.0 * coarse[None, :, None], grey)
    assert np.percentile(s_fine, 99) < 0.6 * np.percentile(s_coarse, 99)
