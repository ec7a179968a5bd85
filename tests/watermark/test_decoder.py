"""Blind decoding of every attack class on small images, and no false accusations."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.watermark.images import MARK, OTHER_MARK, composite, jpeg, marked, resize, spreadsheet, text_page
from watermark import sync
from watermark.decoder import decode_image
from watermark.overlay import render_overlay

W, H = 1366, 768


def page() -> np.ndarray:
    return text_page(W, H, seed=11)


def photo(seed: int = 5) -> np.ndarray:
    """Smooth random 'photo' with texture: a blurred colour field plus fine noise."""
    rng = np.random.default_rng(seed)
    field = cv2.resize(rng.integers(0, 255, (9, 16, 3), dtype=np.uint8), (W, H), interpolation=cv2.INTER_CUBIC)
    return np.clip(field + rng.normal(0, 6, field.shape), 0, 255).astype(np.uint8)


def found_only(img: np.ndarray, mark: int = MARK) -> bool:
    result = decode_image(img)
    return result.found and [d.mark for d in result.marks] == [mark]


def gamma(img: np.ndarray, g: float) -> np.ndarray:
    return np.clip(np.rint(255.0 * (img / 255.0) ** g), 0, 255).astype(np.uint8)


ATTACKS = {
    "none": lambda im: im,
    "crop_tenth": lambda im: im[131 : 131 + 243, 517 : 517 + 432],
    "scale_0.4_area": lambda im: resize(im, 0.4),
    "scale_0.6_linear": lambda im: resize(im, 0.6, cv2.INTER_LINEAR),
    "scale_2.0_cubic": lambda im: resize(im, 2.0, cv2.INTER_CUBIC),
    "scale_1.3_nearest": lambda im: resize(im, 1.3, cv2.INTER_NEAREST),
    "jpeg_40": lambda im: jpeg(im, 40),
    "chat_chain": lambda im: jpeg(resize(im, 0.75), 75),
    "brightness_contrast": lambda im: np.clip(im * 0.8 + 35, 0, 255).astype(np.uint8),
    "gamma_0.7": lambda im: gamma(im, 0.7),
    "saturation_0": lambda im: np.repeat(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2),
    "greyscale": lambda im: cv2.cvtColor(im, cv2.COLOR_RGB2GRAY),
}


@pytest.mark.slow
@pytest.mark.parametrize("attack", list(ATTACKS))
@pytest.mark.parametrize("content", ["page", "dark", "white", "photo"])
def test_attack_class_decodes(attack: str, content: str) -> None:
    bg = {
        "page": page(),
        "dark": text_page(W, H, dark=True, seed=2),
        "white": np.full((H, W, 3), 255, np.uint8),
        "photo": photo(),
    }[content]
    assert found_only(ATTACKS[attack](marked(bg)))


def test_screenshot_of_a_screenshot_in_a_viewer() -> None:
    """The leak is shown at 80 % in a viewer on another marked screen, and screenshotted again:
    the outer screen's mark is cancelled and the inner one read (watermark.nested; smaller inner
    pictures and degraded outer captures are in test_nested.py)."""
    inner = resize(marked(page()), 0.8)
    viewer = np.full((H, W, 3), (40, 40, 44), dtype=np.uint8)
    viewer[:28] = (230, 230, 230)  # title bar
    y, x = 70, 130
    viewer[y : y + inner.shape[0], x : x + inner.shape[1]] = inner
    outer = composite(render_overlay(OTHER_MARK, W, H), viewer)
    result = decode_image(outer)
    assert MARK in {d.mark for d in result.marks}
    assert {d.mark for d in result.marks} <= {MARK, OTHER_MARK}


def test_two_monitors_report_both_marks() -> None:
    left = marked(text_page(W, H, seed=1), MARK)
    right = marked(text_page(W, H, seed=2, dark=True), OTHER_MARK)
    result = decode_image(np.concatenate([left, right], axis=1))
    assert {d.mark for d in result.marks} == {MARK, OTHER_MARK}


@pytest.mark.slow
@pytest.mark.parametrize("quality", [None, 75])
def test_tenth_of_a_dense_table_decodes(quality: int | None) -> None:
    """A tenth of a wall-to-wall table, at five offsets: the white gaps between its strokes are a
    pixel or two wide, so the flat weights must come from the capture's own pixels."""
    sheet = marked(spreadsheet(W, H))
    for y, x in [(0, 0), (131, 517), (400, 900), (525, 100), (300, 300)]:
        crop = np.ascontiguousarray(sheet[y : y + 243, x : x + 432])
        assert found_only(crop if quality is None else jpeg(crop, quality)), (y, x)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_unmarked_leaks_are_never_accused(seed: int) -> None:
    content = [page(), photo(seed), text_page(W, H, dark=True, seed=seed), np.full((H, W, 3), 255, np.uint8)][seed % 4]
    for variant in (content, jpeg(content, 60), resize(content, 0.5)):
        assert not decode_image(variant).found


def test_noise_and_tiny_images_are_handled() -> None:
    rng = np.random.default_rng(0)
    for shape in [(0, 5, 3), (7, 0), (1, 1, 3), (3, 3), (40, 4000, 3), (300, 300, 3)]:
        assert not decode_image(rng.integers(0, 256, shape, dtype=np.uint8)).found


def test_decode_is_deterministic() -> None:
    img = jpeg(marked(page()), 60)
    a, b = decode_image(img), decode_image(img)
    assert a.marks == b.marks and a.confidence == b.confidence


@pytest.mark.slow
def test_brightness_edit_that_clips_the_centre_still_decodes_from_the_sides() -> None:
    """Gain 1.2, offset -30 clips the white middle of the page; grey side panels keep the mark.

    The period screen looks at a central window only, which is all white after the edit; the
    whole-image fallback finds the pilot over the sides (without it: nothing found).
    """
    bg = page()
    bg[:, :300] = (190, 190, 196)
    bg[:, 1066:] = (190, 190, 196)
    leak = np.clip(np.rint(marked(bg) * 1.2 - 30), 0, 255).astype(np.uint8)
    assert (leak == 255).all(axis=2)[:, 400:966].mean() > 0.8
    assert found_only(leak)


@pytest.mark.slow
def test_clipped_centre_shrunk_to_half_is_found_by_the_whole_image_gate() -> None:
    """The same page shrunk to half: its period (69 px) is under the nominal one, so the
    whole-image fallback screens it on the capture's own pixels first (`_Capture.gate_z`); the
    central screen finds nothing readable, the gate lets the period through, the fold reads it."""
    from watermark import channel, decoder

    bg = page()
    bg[:, :300] = (190, 190, 196)
    bg[:, 1066:] = (190, 190, 196)
    leak = resize(np.clip(np.rint(marked(bg) * 1.2 - 30), 0, 255).astype(np.uint8), 0.5)
    projected = decoder.project(leak)
    capture = decoder._Capture(projected, sync.flat_weights(projected, sync.NATIVE_FLAT_MIN_RANGE))
    assert capture.gate_z(0.5 * 6 * channel.CELLS) >= decoder.GATE_Z
    assert found_only(leak)


def test_clipped_pixels_do_not_set_the_residual_floor() -> None:
    """A brightness edit that clips most of a page to pure white leaves those pixels with no
    residual at all; the energy weighting's floor must come from the rest, so the part that kept
    its mark is weighted as if the clipped part were not there."""
    rng = np.random.default_rng(3)
    cells = np.kron(rng.choice([-7.5, 7.5], (48, 24)), np.ones((4, 4)))
    marked_part = (690.0 + cells).astype(np.float32)
    clipped = np.full((192, 480), 765.0, np.float32)
    clipped[:, 384:] = marked_part[:, :96]
    alone = sync.residual(marked_part[:, :96])
    with_clipped = sync.residual(clipped)[:, 384:]
    inner = (slice(8, -8), slice(8, -8))
    ratio = float(np.sqrt(np.mean(with_clipped[inner] ** 2) / np.mean(alone[inner] ** 2)))
    assert 0.5 < ratio < 2.0
