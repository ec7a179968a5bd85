"""A screenshot of a screenshot: the leak (mark A) shown smaller in a viewer on a second marked
screen (mark B), captured again. Real overlays, real compositing, real decoding throughout."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from tests.watermark.images import MARK, OTHER_MARK, composite, jpeg, marked, resize, text_page
from watermark import cancellation, lags, pilot
from watermark.decoder import DecodeResult, decode_image, decode_layer
from watermark.nested import add_inner_marks
from watermark.overlay import render_overlay

W, H = 1366, 768
BOTH = {MARK, OTHER_MARK}


def viewer_capture(
    scale: float,
    *,
    dark_viewer: bool = True,
    size: tuple[int, int] = (W, H),
    inner_dark: bool = False,
) -> np.ndarray:
    """Screen 1 (mark A) captured, shown at ``scale`` in a viewer on screen 2 (mark B), captured."""
    width, height = size
    inner = resize(marked(text_page(width, height, seed=11, dark=inner_dark), MARK), scale)
    viewer = np.full((height, width, 3), (40, 40, 44) if dark_viewer else (236, 236, 236), np.uint8)
    viewer[:28] = (230, 230, 230) if dark_viewer else (60, 60, 66)  # title bar
    ih, iw = inner.shape[:2]
    top, left = min(70, height - ih), (width - iw) // 2
    viewer[top : top + ih, left : left + iw] = inner
    return composite(render_overlay(OTHER_MARK, width, height), viewer)


def marks_in(img: np.ndarray) -> set[int]:
    return {d.mark for d in decode_image(img).marks}


def photo(seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    field = cv2.resize(rng.integers(0, 255, (9, 16, 3), dtype=np.uint8), (W, H), interpolation=cv2.INTER_CUBIC)
    return np.clip(field + rng.normal(0, 6, field.shape), 0, 255).astype(np.uint8)


def sheet() -> np.ndarray:
    """A spreadsheet-like grid: periodic content in both axes."""
    img = np.full((H, W, 3), 250, np.uint8)
    img[::21] = (200, 200, 200)
    img[:, ::97] = (200, 200, 200)
    return img


CONTENTS: dict[str, Callable[[], np.ndarray]] = {
    "page": lambda: text_page(W, H, seed=3),
    "dark": lambda: text_page(W, H, seed=4, dark=True),
    "white": lambda: np.full((H, W, 3), 255, np.uint8),
    "photo": photo,
    "sheet": sheet,
}


class CountingDecoder:
    """The real one-layer decoder, counting how often the nested step calls it."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, rgb: np.ndarray) -> DecodeResult:
        self.calls += 1
        return decode_layer(rgb)


# --- the viewer case ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("dark_viewer", [True, False], ids=["dark-viewer", "light-viewer"])
@pytest.mark.parametrize("scale", [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
def test_inner_mark_is_read_under_the_outer_screen_mark(scale: float, dark_viewer: bool) -> None:
    marks = marks_in(viewer_capture(scale, dark_viewer=dark_viewer))
    assert MARK in marks
    assert marks <= BOTH


@pytest.mark.slow
def test_full_hd_viewer_with_a_dark_editor_inside() -> None:
    marks = marks_in(viewer_capture(0.4, size=(1920, 1080), inner_dark=True))
    assert MARK in marks
    assert marks <= BOTH


def test_the_small_picture_is_missed_without_cancelling() -> None:
    """Why this module exists: the one-layer decoder reads only the outer screen's mark."""
    capture = viewer_capture(0.5)
    assert {d.mark for d in decode_layer(capture).marks} == {OTHER_MARK}
    assert MARK in marks_in(capture)


NOT_YET = "known limit (docs/watermark.md): too little of the inner mark survives"


@pytest.mark.slow
@pytest.mark.parametrize(
    "scale",
    [pytest.param(s, marks=pytest.mark.xfail(reason=NOT_YET)) for s in (0.3,)] + [0.5, 0.7, 0.8, 0.9],
)
def test_outer_capture_saved_as_jpeg_75(scale: float) -> None:
    marks = marks_in(jpeg(viewer_capture(scale), 75))
    assert MARK in marks
    assert marks <= BOTH


@pytest.mark.slow
@pytest.mark.parametrize(
    "scale",
    [pytest.param(s, marks=pytest.mark.xfail(reason=NOT_YET)) for s in (0.3,)] + [0.5, 0.7, 0.9],
)
def test_outer_capture_rescaled(scale: float) -> None:
    marks = marks_in(resize(viewer_capture(scale), 0.8))
    assert MARK in marks
    assert marks <= BOTH


@pytest.mark.slow
@pytest.mark.parametrize("scale", [0.3, 0.5, 0.7])
@pytest.mark.parametrize(
    "attack",
    [
        lambda im: jpeg(im, 75),
        lambda im: jpeg(im, 50),
        lambda im: resize(im, 0.8),
        lambda im: resize(im, 0.6, cv2.INTER_LINEAR),
        lambda im: resize(im, 1.3, cv2.INTER_CUBIC),
        lambda im: im[40:-60, 90:-150],
    ],
    ids=["jpeg75", "jpeg50", "x0.8-area", "x0.6-linear", "x1.3-cubic", "crop"],
)
def test_degraded_viewer_captures_never_name_a_third_mark(scale: float, attack: Callable[[np.ndarray], np.ndarray]) -> None:
    assert marks_in(attack(viewer_capture(scale, dark_viewer=scale != 0.5))) <= BOTH


def test_cropped_viewer_capture_still_reads_the_inner_mark() -> None:
    """The outer overlay's phase is found by correlation, not assumed to start at the corner."""
    marks = marks_in(viewer_capture(0.5)[33:-41, 77:-95])
    assert MARK in marks
    assert marks <= BOTH


def test_grey_viewer_capture() -> None:
    grey = cv2.cvtColor(viewer_capture(0.6), cv2.COLOR_RGB2GRAY)
    assert marks_in(grey) <= BOTH


# --- cancellation itself --------------------------------------------------------------------


@pytest.mark.parametrize("offset", [(0, 0), (33, 77)])
def test_cancellation_undoes_an_unscaled_overlay_exactly(offset: tuple[int, int]) -> None:
    bg = text_page(W, H, seed=9)
    top, left = offset
    capture = marked(bg, OTHER_MARK)[top:, left:]
    fit = cancellation.fit_overlay(cancellation.residual(cancellation.brightness(capture)), OTHER_MARK)
    assert fit is not None
    assert fit.scale == 1.0
    assert (fit.dy % fit.period, fit.dx % fit.period) == (top % fit.period, left % fit.period)
    diff = cancellation.cancel_overlay(capture, fit).astype(int) - bg[top:, left:]
    assert np.abs(diff).max() <= 1
    assert np.mean(diff != 0) < 0.005  # ties of the compositor's rounding


def test_fit_finds_the_scale_of_a_rescaled_capture() -> None:
    capture = resize(marked(text_page(W, H, seed=9), OTHER_MARK), 0.7, cv2.INTER_LINEAR)
    fit = cancellation.fit_overlay(cancellation.residual(cancellation.brightness(capture)), OTHER_MARK)
    assert fit is not None
    assert fit.period * fit.scale == pytest.approx(0.7 * 138, rel=0.003)


@pytest.mark.parametrize("content", list(CONTENTS))
def test_no_overlay_is_fitted_where_there_is_none(content: str) -> None:
    res = cancellation.residual(cancellation.brightness(CONTENTS[content]()))
    assert cancellation.fit_overlay(res, OTHER_MARK) is None


@pytest.mark.parametrize("content", list(CONTENTS))
def test_cancelled_screenshot_carries_no_mark(content: str) -> None:
    capture = marked(CONTENTS[content](), OTHER_MARK)
    fit = cancellation.fit_overlay(cancellation.residual(cancellation.brightness(capture)), OTHER_MARK)
    assert fit is not None
    assert not decode_layer(cancellation.cancel_overlay(capture, fit)).found


@pytest.mark.parametrize("content", list(CONTENTS))
def test_cancelling_an_overlay_that_is_not_there_creates_no_mark(content: str) -> None:
    """Subtracting a pattern from clean content leaves its negative: that must not decode."""
    image = CONTENTS[content]()
    for fit in (
        cancellation.OverlayFit(OTHER_MARK, (W, H), 138, 1.0, 0.0, 0.0, 0.0),
        cancellation.OverlayFit(OTHER_MARK, (W, H), 138, 0.8, 0.4, 0.3, 0.0),
    ):
        assert not decode_layer(cancellation.cancel_overlay(image, fit)).found


# --- no false marks, no needless work -------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("content", list(CONTENTS))
@pytest.mark.parametrize(
    "attack",
    [lambda im: im, lambda im: jpeg(im, 75), lambda im: resize(im, 0.7), lambda im: im[100:-50, 200:-300]],
    ids=["png", "jpeg75", "x0.7", "crop"],
)
def test_ordinary_screenshot_reports_its_own_mark_only(content: str, attack: Callable[[np.ndarray], np.ndarray]) -> None:
    assert marks_in(attack(marked(CONTENTS[content](), OTHER_MARK))) == {OTHER_MARK}


@pytest.mark.parametrize("content", list(CONTENTS))
def test_ordinary_screenshot_needs_no_second_decode(content: str) -> None:
    capture = marked(CONTENTS[content](), OTHER_MARK)
    counting = CountingDecoder()
    result = add_inner_marks(capture, decode_layer(capture), counting)
    assert [d.mark for d in result.marks] == [OTHER_MARK]
    assert counting.calls == 0


@pytest.mark.parametrize("content", list(CONTENTS))
def test_unmarked_image_is_left_alone(content: str) -> None:
    image = jpeg(CONTENTS[content](), 80)
    first = decode_layer(image)
    counting = CountingDecoder()
    result = add_inner_marks(image, first, counting)
    assert not result.found
    assert result == first
    assert counting.calls == 0


def test_two_monitors_give_both_marks_and_nothing_else() -> None:
    left = marked(text_page(W, H, seed=1), MARK)
    right = marked(text_page(W, H, seed=2, dark=True), OTHER_MARK)
    assert marks_in(np.concatenate([left, right], axis=1)) == BOTH


def test_odd_shapes_are_handled() -> None:
    capture = viewer_capture(0.5)
    for piece in (capture[:30, :30], capture[:200, :], capture[:, :150], capture[:1, :1]):
        assert marks_in(piece) <= BOTH


# --- the pilot look -------------------------------------------------------------------------


def test_pilot_look_sees_the_inner_tile_and_where_it_is() -> None:
    capture = viewer_capture(0.4)
    fit = cancellation.fit_overlay(cancellation.residual(cancellation.brightness(capture)), OTHER_MARK)
    assert fit is not None
    res = cancellation.residual(cancellation.brightness(cancellation.cancel_overlay(capture, fit)))
    sighting = pilot.find_tile(res, lags.lag_peaks(res, 8), 5.0)
    assert sighting is not None
    assert sighting.lag == pytest.approx(0.4 * 138, rel=0.01)
    box = pilot.locate(res, sighting)
    assert box is not None
    rows, cols = box
    ih, iw = round(0.4 * H), round(0.4 * W)
    left = (W - iw) // 2
    # The box holds the picture's centre and is no bigger than about half the frame.
    assert rows.start <= 70 + ih // 2 < rows.stop
    assert cols.start <= left + iw // 2 < cols.stop
    assert (rows.stop - rows.start) * (cols.stop - cols.start) < 0.6 * H * W
