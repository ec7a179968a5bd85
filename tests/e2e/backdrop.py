"""A plain application window showing an image, for the overlay to sit on.

Usage: python -m tests.e2e.backdrop IMAGE.png X Y [TITLE]
Prints "ready" once painted, then "click X Y" for each mouse press and "key N" (a Qt key code)
for each key press it receives.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage, QKeyEvent, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QApplication, QWidget


class Backdrop(QWidget):
    def __init__(self, image: QImage) -> None:
        super().__init__()
        self.image = image
        self.setFixedSize(image.size())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        QPainter(self).drawImage(0, 0, self.image)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        print(f"click {int(event.position().x())} {int(event.position().y())}", flush=True)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        print(f"key {event.key()}", flush=True)


def main() -> None:
    path, x, y = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    title = sys.argv[4] if len(sys.argv) > 4 else "backdrop"
    app = QApplication(sys.argv[:1])
    window = Backdrop(QImage(path))
    window.setWindowTitle(title)
    window.move(x, y)
    window.show()
    window.raise_()
    window.activateWindow()
    QTimer.singleShot(700, lambda: print("ready", flush=True))
    app.exec()


if __name__ == "__main__":
    main()
