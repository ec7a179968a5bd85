"""The visible watermark layer: user, host and time as faint, rotated, tiled text.

The zone policy gives the template and opacity; the agent service fills in user and host and
writes the text to `overlay.json`. `{time}`, `{date}` and `{ip}` left in the text are filled here;
time and date at every time slot, so the visible clock on screen never goes stale.

Text is drawn with Qt (fontconfig finds a font for any script), so a QGuiApplication must exist
before `render_visible` is called. On X11 that happens in the short-lived renderer
(`agent.session.overlay_render`); the overlay process imports this module for `fill_placeholders`
only, so numpy and Qt are imported inside the functions that draw.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from PySide6.QtGui import QImage

TEXT_GREY = 128  # mid grey stays readable on both white and black pages
ANGLE_DEGREES = -30.0
MIN_FONT_PX = 14


def fill_placeholders(text: str, when: dt.datetime, ip: str) -> str:
    """Fill the `{time}`, `{date}` and `{ip}` placeholders the agent service left for the overlay."""
    values = {"{time}": when.strftime("%Y-%m-%d %H:%M"), "{date}": when.strftime("%Y-%m-%d"), "{ip}": ip}
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def font_pixels(height: int) -> int:
    return max(MIN_FONT_PX, round(height / 48))


def render_visible(text: str, width: int, height: int, *, opacity: float) -> np.ndarray:
    """(height, width, 4) uint8 straight-alpha RGBA: `text` tiled over the whole screen.

    Every pixel is grey; the alpha channel carries the glyphs scaled by `opacity` (0..1).
    """
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter

    if width <= 0 or height <= 0:
        raise ValueError(f"screen size must be positive, got {width}x{height}")
    image = QImage(width, height, QImage.Format.Format_Grayscale8)
    image.fill(0)
    font = QFont()
    font.setPixelSize(font_pixels(height))
    box = QFontMetricsF(font).boundingRect(QRectF(0, 0, 4 * width, height), Qt.AlignmentFlag.AlignCenter, text)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    painter.setFont(font)
    painter.setPen(QColor(255, 255, 255))
    painter.translate(QPointF(width / 2, height / 2))
    painter.rotate(ANGLE_DEGREES)
    for x, y in _tile_origins(width, height, box.width(), box.height()):
        painter.drawText(QRectF(x, y, box.width(), box.height()), Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    coverage = _grey_array(image)
    return _tint(coverage, opacity)


def _tile_origins(width: int, height: int, text_w: float, text_h: float) -> list[tuple[float, float]]:
    """Top-left corners of text boxes in the rotated frame, covering the whole screen."""
    reach = (width**2 + height**2) ** 0.5 / 2
    step_x, step_y = text_w * 1.6 + 40, text_h * 4 + 40
    origins = []
    row = 0
    y = -reach
    while y < reach:
        shift = (step_x / 2) * (row % 2)
        x = -reach - shift
        while x < reach:
            origins.append((x, y))
            x += step_x
        y += step_y
        row += 1
    return origins


def _grey_array(image: QImage) -> np.ndarray:
    import numpy as np

    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * height)
    return raw.reshape(height, stride)[:, :width].copy()


def _tint(coverage: np.ndarray, opacity: float) -> np.ndarray:
    import numpy as np

    rgba = np.empty((*coverage.shape, 4), dtype=np.uint8)
    rgba[..., :3] = TEXT_GREY
    scale = np.rint(np.arange(256) * float(np.clip(opacity, 0.0, 1.0))).astype(np.uint8)
    rgba[..., 3] = scale[coverage]  # a lookup table: much faster than float maths on a 4K screen
    return rgba
