"""One overlay window on one monitor: frameless, translucent, click-through, always on top.

The window paints its RGBA frame with `CompositionMode_Source`, one image pixel per device pixel,
so with a compositor the screen shows exactly `alpha * colour + (1 - alpha) * background`.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter, QPaintEvent, QScreen
from PySide6.QtWidgets import QWidget

WINDOW_TITLE = "leakguard-overlay"
WINDOW_FLAGS = (
    Qt.WindowType.FramelessWindowHint
    | Qt.WindowType.WindowStaysOnTopHint
    | Qt.WindowType.Tool  # kept out of the taskbar and the window switcher
    | Qt.WindowType.X11BypassWindowManagerHint  # no WM decoration, focus or stacking games
    | Qt.WindowType.WindowTransparentForInput  # clicks go to the window below
    | Qt.WindowType.WindowDoesNotAcceptFocus
)


def to_qimage(rgba: np.ndarray, device_pixel_ratio: float) -> QImage:
    """A QImage that owns a copy of straight-alpha RGBA pixels, tagged with the screen's DPR."""
    height, width = rgba.shape[:2]
    data = np.ascontiguousarray(rgba)
    image = QImage(data.data, width, height, width * 4, QImage.Format.Format_RGBA8888).copy()
    image.setDevicePixelRatio(device_pixel_ratio)
    return image


def device_size(screen: QScreen) -> tuple[int, int]:
    """The monitor's size in device pixels, the size the watermark is rendered for."""
    ratio = screen.devicePixelRatio()
    geometry = screen.geometry()
    return round(geometry.width() * ratio), round(geometry.height() * ratio)


class OverlayWindow(QWidget):
    def __init__(self, screen: QScreen) -> None:
        super().__init__(None, WINDOW_FLAGS)
        self.setWindowTitle(WINDOW_TITLE)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.monitor = screen
        self._image: QImage | None = None
        self.place()

    def place(self) -> None:
        """Cover the monitor exactly (after a move, resize or DPI change too)."""
        self.setScreen(self.monitor)
        self.setGeometry(QRect(self.monitor.geometry()))

    def show_frame(self, rgba: np.ndarray) -> None:
        """Swap in a new frame; the next paint shows it whole, so there is never a blank frame."""
        self._image = to_qimage(rgba, self.monitor.devicePixelRatio())
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        if self._image is None:
            painter.fillRect(self.rect(), Qt.GlobalColor.transparent)
        else:
            painter.drawImage(0, 0, self._image)
        painter.end()


def screens() -> list[QScreen]:
    return list(QGuiApplication.screens())
