"""Keeps one overlay window on every monitor showing the right frame.

- Monitors: follows Qt's screenAdded/screenRemoved and each screen's geometry and DPI signals.
- Time slots: the next slot's frames are rendered ahead; at the boundary they are swapped in with
  one paint per window, so the screen never shows a blank or half-drawn overlay.
- State: `marks.json` / `overlay.json` are re-read when they change; a bad file is logged and the
  last good state stays on screen.
- Stacking: raised again when the platform says another window was mapped or restacked, and
  every second in any case.
- Status: `overlay-status.json` in the state dir says which mark each monitor shows right now.
"""

from __future__ import annotations

import datetime as dt
import logging
import pathlib
import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QScreen

from agent.platform.overlay_port import OverlayPlatform, Stop
from agent.session.overlay_frame import FrameSpec, compose_frame
from agent.session.overlay_signals import ScreenshotSignals
from agent.session.overlay_state import MarkSchedule, OverlaySettings, StateFiles
from agent.session.overlay_status import local_ip, write_status
from agent.session.overlay_window import OverlayWindow, device_size
from agent.session.visible import fill_placeholders, render_visible

log = logging.getLogger(__name__)
PRERENDER_SECONDS = 3.0
TICK_MS, RAISE_MS, CAPTURE_POLL_MS, DELIVER_MS = 250, 1000, 1000, 5000
Frame = np.ndarray


def default_invisible_renderer() -> Callable[[int, int, int], Frame]:
    from watermark.overlay import render_overlay

    return render_overlay


class OverlayController(QObject):
    covered = Signal()  # emitted from watcher threads; delivered on the GUI thread
    print_key = Signal()

    def __init__(self, state_dir: pathlib.Path, platform: OverlayPlatform,
                 render_invisible: Callable[[int, int, int], Frame] | None = None) -> None:
        super().__init__()
        self.state_dir, self.platform = state_dir, platform
        self.render_invisible = render_invisible or default_invisible_renderer()
        self.state = StateFiles(state_dir)
        self.windows: dict[QScreen, OverlayWindow] = {}
        self.frames: dict[FrameSpec, Frame] = {}
        self.shown: dict[QScreen, FrameSpec] = {}
        self._stops: list[Stop] = []
        self.signals = ScreenshotSignals(state_dir, self.platform)
        self._armed_boundary = 0.0
        self._own_ids: frozenset[int] = frozenset()
        self._ip = local_ip()
        self._borrowed: set[int] = set()  # monitors showing monitor 0's mark (logged once each)
        self.covered.connect(self.raise_all)
        self.print_key.connect(lambda: self.signals.report_capture("print_key"))

    @property
    def schedule(self) -> MarkSchedule | None:
        return self.state.schedule

    @property
    def settings(self) -> OverlaySettings:
        return self.state.settings

    def start(self) -> None:
        app = QGuiApplication.instance()
        if not isinstance(app, QGuiApplication):
            raise RuntimeError("create the QApplication before starting the overlay")
        self._stops.append(self.platform.watch_print_key(self.print_key.emit))
        app.screenAdded.connect(self.add_screen)
        app.screenRemoved.connect(self.remove_screen)
        self.reload_state()
        for screen in app.screens():
            self.add_screen(screen)
        self._every(TICK_MS, self.tick)
        self._every(RAISE_MS, self.reassert)
        self._every(CAPTURE_POLL_MS, self.signals.poll_capture_tools)
        self._every(DELIVER_MS, self.signals.deliver_if_pending)
        self._stops.append(self.platform.watch_stacking(self.own_window_ids, self.covered.emit))

    def stop(self) -> None:
        for stop in self._stops:
            stop()
        self._own_ids = frozenset()
        for window in self.windows.values():
            window.close()

    def _every(self, ms: int, slot: Callable[[], None]) -> None:
        timer = QTimer(self)
        timer.timeout.connect(slot)
        timer.start(ms)

    # -- monitors -------------------------------------------------------------------------
    def add_screen(self, screen: QScreen) -> None:
        window = OverlayWindow(screen)
        self.windows[screen] = window
        for signal in (screen.geometryChanged, screen.physicalDotsPerInchChanged,
                       screen.logicalDotsPerInchChanged):
            signal.connect(lambda *_, s=screen: self.screen_changed(s))
        self.refresh()
        window.show()
        self.platform.prepare_window(int(window.winId()))
        self._remember_window_ids()
        window.raise_()
        self.write_status()

    def remove_screen(self, screen: QScreen) -> None:
        window = self.windows.pop(screen, None)
        self.shown.pop(screen, None)
        self._remember_window_ids()
        if window is not None:
            window.close()
            window.deleteLater()
        self.write_status()

    def screen_changed(self, screen: QScreen) -> None:
        window = self.windows.get(screen)
        if window is not None:
            window.place()
            self.refresh()

    def own_window_ids(self) -> set[int]:
        """Safe to call from watcher threads: a snapshot taken on the GUI thread."""
        return set(self._own_ids)

    def _remember_window_ids(self) -> None:
        self._own_ids = frozenset(int(window.winId()) for window in self.windows.values())

    def raise_all(self) -> None:
        for window in self.windows.values():
            window.raise_()

    def reassert(self) -> None:
        """The periodic check: on top, and the native hints still in place."""
        for window in self.windows.values():
            window.raise_()
            self.platform.prepare_window(int(window.winId()))

    # -- frames ---------------------------------------------------------------------------
    def spec_for(self, screen: QScreen, unix_seconds: float) -> FrameSpec:
        width, height = device_size(screen)
        mark = None
        if self.schedule is not None and self.settings.invisible:
            monitor = self.monitor_of(screen)
            mark, borrowed = self.schedule.mark_for(monitor, unix_seconds)
            if borrowed and monitor not in self._borrowed:
                log.warning("no mark issued for monitor %d yet; it shows monitor 0's mark", monitor)
            self._borrowed = (self._borrowed | {monitor}) if borrowed else (self._borrowed - {monitor})
        text = self.settings.visible_text
        if text:
            text = fill_placeholders(text, self._slot_start(unix_seconds), self._ip)
        return FrameSpec(width, height, mark, text, self.settings.visible_opacity)

    def monitor_of(self, screen: QScreen) -> int:
        """The screen's monitor number: primary first, then by the (x, y) of its geometry."""
        app = QGuiApplication.instance()
        primary = app.primaryScreen() if isinstance(app, QGuiApplication) else None
        order = sorted(self.windows, key=lambda s: (s is not primary, s.geometry().x(), s.geometry().y()))
        return order.index(screen) if screen in order else 0

    def _slot_start(self, unix_seconds: float) -> dt.datetime:
        start = unix_seconds if self.schedule is None else self.schedule.slot_start(unix_seconds)
        return dt.datetime.fromtimestamp(start).astimezone()

    def frame(self, spec: FrameSpec) -> Frame:
        cached = self.frames.get(spec)
        if cached is None:
            cached = compose_frame(spec, render_invisible=self.render_invisible,
                                   render_visible=lambda t, w, h, o: render_visible(t, w, h, opacity=o))
            self.frames[spec] = cached
        return cached

    def refresh(self, unix_seconds: float | None = None) -> None:
        now = time.time() if unix_seconds is None else unix_seconds
        changed = False
        for screen, window in self.windows.items():
            spec = self.spec_for(screen, now)
            if self.shown.get(screen) != spec:
                try:
                    window.show_frame(self.frame(spec))
                except ValueError as exc:  # e.g. a monitor larger than the renderer allows
                    log.error("cannot draw the overlay on %s: %s", screen.name(), exc)
                self.shown[screen] = spec
                changed = True
        if changed:
            self._forget_unused_frames(now)
            self.write_status()
            self._warn_if_unmarked(now)

    def _warn_if_unmarked(self, now: float) -> None:
        if self.settings.invisible and any(spec.mark is None for spec in self.shown.values()):
            known = sorted(self.schedule.marks) if self.schedule else []
            span = f"slots {known[0]}..{known[-1]}" if known else "no marks"
            log.warning("no watermark mark for the current time slot (marks.json has %s)", span)

    def prerender(self, now: float) -> None:
        if self.schedule is None or self.schedule.next_boundary(now) - now > PRERENDER_SECONDS:
            return
        boundary = self.schedule.next_boundary(now)
        for screen in list(self.windows):
            self.frame(self.spec_for(screen, boundary + 0.001))
        if boundary != self._armed_boundary:  # swap exactly at the boundary, not at the next tick
            self._armed_boundary = boundary
            QTimer.singleShot(max(0, round((boundary - time.time()) * 1000) + 1), self.refresh)

    def _forget_unused_frames(self, now: float) -> None:
        keep = set(self.shown.values())
        if self.schedule is not None:
            upcoming = self.schedule.next_boundary(now) + 0.001
            keep |= {self.spec_for(screen, upcoming) for screen in self.windows}
        self.frames = {spec: frame for spec, frame in self.frames.items() if spec in keep}

    def tick(self) -> None:
        self.reload_state()
        now = time.time()
        self.refresh(now)
        self.prerender(now)

    # -- state files ----------------------------------------------------------------------
    def reload_state(self) -> None:
        self.state.reload()

    def write_status(self) -> None:
        screens = [
            {"name": screen.name(), "monitor": self.monitor_of(screen), "x": screen.geometry().x(), "y": screen.geometry().y(),
             "width": spec.width, "height": spec.height, "device_pixel_ratio": screen.devicePixelRatio(),
             "mark": None if spec.mark is None else f"{spec.mark:016x}", "visible_text": spec.visible_text}
            for screen, spec in self.shown.items() if screen in self.windows
        ]
        write_status(self.state_dir, self.platform.name, screens)

