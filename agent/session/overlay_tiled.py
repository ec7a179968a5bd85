"""The X11 overlay without a toolkit: one server-tiled window per monitor, an idle event loop.

- Invisible layer: a window per monitor at the monitor's origin whose background pixmap is
  `render_tile(mark, w, h)`; the X server tiles it, which is `render_overlay(mark, w, h)`.
- Visible layer (zones with visible text): a second window above it, its background the text
  layer for the whole monitor; the compositor blends both "over" the screen.
- Re-key: the next slot's pixmaps are made ahead; at the boundary each window's background is
  swapped in one request, so no frame shows neither mark.
- Monitors: RandR 1.5 monitors, re-read on RandR and root ConfigureNotify events.
- Stacking: SubstructureNotify on the root raises the overlay when another window maps or
  restacks; a slow periodic raise covers anything missed. When the window right below the
  overlay is destroyed, the overlay steps below the topmost other window and back on top: a
  compositor that never saw that window (xcompmgr, when it was created and destroyed before
  xcompmgr looked at it) has put the overlay at the bottom of its own stacking list and would
  draw every other window over it, although the X server keeps it on top.
- State files: inotify on the state directory; screenshot signals as in the Qt overlay.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import pathlib
import threading
import time
from dataclasses import dataclass
from typing import Any

from agent.platform.x11_layers import Layer, Monitor, list_monitors
from agent.session.overlay_loop import PRINT_KEY, EventLoop, Timer
from agent.session.overlay_pixmaps import LayerSpec, PixmapCache
from agent.session.overlay_signals import ScreenshotSignals
from agent.session.overlay_state import STATE_FILES, MarkSchedule, OverlaySettings, StateFiles
from agent.session.overlay_status import local_ip, write_status
from agent.session.visible import fill_placeholders

log = logging.getLogger(__name__)
TITLE, TEXT_TITLE = "leakguard-overlay", "leakguard-overlay-text"
PRERENDER_SECONDS, RAISE_SECONDS, CAPTURE_POLL_SECONDS, DELIVER_SECONDS = 15.0, 5.0, 1.0, 5.0
RAISES_PER_SECOND = 20


@dataclass
class View:
    """What one monitor's windows show now."""

    monitor: Monitor
    invisible: Layer
    visible: Layer | None = None
    shown: tuple[Monitor, LayerSpec | None, LayerSpec | None] | None = None
    mark: int | None = None
    text: str | None = None


class TiledOverlay:
    def __init__(self, state_dir: pathlib.Path, conn: Any, platform: Any, loop: EventLoop) -> None:
        self.state_dir, self.conn, self.platform, self.loop = state_dir, conn, platform, loop
        self.cache = PixmapCache(conn, loop, self.refresh)
        self.views: dict[str, View] = {}
        self.state = StateFiles(state_dir)
        self._boundary: list[Timer] = []
        self.signals = ScreenshotSignals(state_dir, platform)
        self._ip = local_ip()
        self._warned: object = None
        self._borrowed: set[int] = set()  # monitors showing monitor 0's mark (logged once each)
        self._raises: list[float] = []
        self._raise_fight_logged = False
        self._below: dict[int, int] = {}  # own window -> the window right below it, when not ours

    # -- start and stop -------------------------------------------------------------------
    @property
    def schedule(self) -> MarkSchedule | None:
        return self.state.schedule

    @property
    def settings(self) -> OverlaySettings:
        return self.state.settings

    def start(self) -> None:
        from Xlib import X
        from Xlib.ext import randr

        root = self.conn.screen().root
        root.change_attributes(event_mask=X.StructureNotifyMask | X.SubstructureNotifyMask)
        if self.conn.has_extension("RANDR"):
            root.xrandr_select_input(randr.RRScreenChangeNotifyMask | randr.RROutputChangeNotifyMask
                                     | randr.RRCrtcChangeNotifyMask)
        self.loop.add_reader(self.conn.fileno(), self.on_x_events)
        self._watch_state_dir()
        self.loop.on_wake = self.on_wake
        self.reload_state()
        self.sync_monitors()
        self.loop.every(RAISE_SECONDS, self.raise_all)
        self.loop.every(CAPTURE_POLL_SECONDS, self.signals.poll_capture_tools)
        self.loop.every(DELIVER_SECONDS, self.signals.deliver_if_pending)

    def _watch_state_dir(self) -> None:
        try:
            from agent.platform.linux_inotify import DirectoryWatch

            watch = DirectoryWatch(self.state_dir)
        except (OSError, AttributeError) as exc:  # no inotify: look at the files every second
            log.warning("state files polled every second (%s)", exc)
            self.loop.every(1.0, self.on_state_files)
            return
        self.loop.add_reader(watch.fileno(), lambda: self.on_state_files(watch.changed()))

    def stop(self) -> None:
        self.cache.close()
        for view in self.views.values():
            for layer in (view.invisible, view.visible):
                if layer is not None:
                    layer.destroy()
        self.views = {}
        self.conn.flush()

    # -- inputs ---------------------------------------------------------------------------
    def on_x_events(self) -> None:
        from Xlib import X
        from Xlib.ext import randr

        root_id, own = self.conn.screen().root.id, self.own_window_ids()
        monitors_changed = covered = reseat = False
        for _ in range(self.conn.pending_events()):
            event = self.conn.next_event()
            if isinstance(event, randr.ScreenChangeNotify | randr.CrtcChangeNotify | randr.OutputChangeNotify) or event.type == X.ConfigureNotify and event.window.id == root_id:
                monitors_changed = True
            elif event.type == X.ConfigureNotify and event.window.id in own:
                below = getattr(event.above_sibling, "id", event.above_sibling) or 0
                self._below[event.window.id] = 0 if below in own else below
            elif event.type in (X.MapNotify, X.ConfigureNotify) and event.window.id not in own:
                covered = covered or self._foreign(event.window)
            elif event.type == X.DestroyNotify and event.window.id in self._below.values():
                reseat = True
        if monitors_changed:
            self.sync_monitors()
        if reseat and self._may_raise_now():
            self.reseat()
        elif covered and self._may_raise_now():
            self.raise_all()

    def _may_raise_now(self) -> bool:
        """At most RAISES_PER_SECOND raises on events: another always-on-top program that raises
        itself whenever we do would otherwise make both spin; the slow periodic raise goes on."""
        now = time.monotonic()
        self._raises = [t for t in self._raises if now - t < 1.0]
        if len(self._raises) >= RAISES_PER_SECOND:
            if not self._raise_fight_logged:
                log.warning("another window keeps covering the overlay; raising every %.0f s only", RAISE_SECONDS)
                self._raise_fight_logged = True
            return False
        self._raises.append(now)
        return True

    def _foreign(self, window: Any) -> bool:
        """Not another overlay instance (two overlays raising each other would never stop)."""
        try:
            name = window.get_wm_name()
        except Exception:  # noqa: BLE001 - gone already; one more raise is harmless
            return True
        return name not in (TITLE, TEXT_TITLE)

    def on_state_files(self, names: set[str] | None = None) -> None:
        if (names is None or any(name in STATE_FILES for name in names)) and self.reload_state():
            self.refresh()

    def on_wake(self, data: bytes) -> None:
        if PRINT_KEY in data:
            self.signals.report_capture("print_key")

    # -- monitors and stacking ------------------------------------------------------------
    def sync_monitors(self) -> None:
        monitors = {m.name: m for m in list_monitors(self.conn)}
        for name in [n for n in self.views if n not in monitors]:
            view = self.views.pop(name)
            for layer in (view.invisible, view.visible):
                if layer is not None:
                    layer.destroy()
        for name, monitor in monitors.items():
            if name in self.views:
                self.views[name].monitor = monitor
            else:
                self.views[name] = View(monitor, Layer(self.conn, monitor, TITLE))
        self.views = {name: self.views[name] for name in monitors}  # RandR's order: primary, then x, y
        self.refresh()

    def own_window_ids(self) -> set[int]:
        return {layer.window.id for view in self.views.values() for layer in (view.invisible, view.visible)
                if layer is not None}

    def reseat(self) -> None:
        """Step below the topmost other window and back on top, in one flush: the compositor sees
        the overlay restacked above a window it knows (see the module docstring)."""
        from Xlib import X, error

        own = self.own_window_ids()
        try:
            others = [w for w in self.conn.screen().root.query_tree().children if w.id not in own]
        except error.XError:
            others = []
        if others:
            for view in self.views.values():
                for layer in (view.invisible, view.visible):
                    if layer is not None and layer.mapped:
                        layer.window.configure(sibling=others[-1], stack_mode=X.Below)
        self.raise_all()

    def raise_all(self) -> None:
        for view in self.views.values():
            view.invisible.raise_()
            if view.visible is not None:
                view.visible.raise_()
        self.conn.flush()

    # -- what to show ---------------------------------------------------------------------
    def wanted(self, index: int, monitor: Monitor, now: float) -> tuple[LayerSpec | None, LayerSpec | None, int | None, str | None]:
        mark = None
        if self.schedule is not None and self.settings.invisible:
            mark, borrowed = self.schedule.mark_for(index, now)
            if borrowed and index not in self._borrowed:
                log.warning("no mark issued for monitor %d yet; it shows monitor 0's mark", index)
            self._borrowed = (self._borrowed | {index}) if borrowed else (self._borrowed - {index})
        text = self.settings.visible_text if self.settings.visible_opacity > 0 else None
        if text:
            start = now if self.schedule is None else self.schedule.slot_start(now)
            text = fill_placeholders(text, dt.datetime.fromtimestamp(start).astimezone(), self._ip)
        size = (monitor.width, monitor.height)
        tile = None if mark is None else LayerSpec("tile", *size, mark=mark)
        visible = None if not text else LayerSpec("visible", *size, text=text, opacity=self.settings.visible_opacity)
        return tile, visible, mark, text

    def refresh(self) -> None:
        now = time.time()
        wants = [self.wanted(i, view.monitor, now) for i, view in enumerate(self.views.values())]
        self.cache.request(spec for want in wants for spec in want[:2])
        changed = False
        for view, (tile, visible, mark, text) in zip(self.views.values(), wants, strict=True):
            shown = (view.monitor, tile, visible)
            if view.shown != shown and self.cache.ready(tile) and self.cache.ready(visible):
                self._show(view, tile, visible)
                view.shown, view.mark, view.text = shown, mark, text
                changed = True
        if changed:
            self.raise_all()
            self._after_change(now)
        self._arm_boundary(now)

    def _show(self, view: View, tile: LayerSpec | None, visible: LayerSpec | None) -> None:
        pixmap = self.cache.get(tile)
        if pixmap is None:
            view.invisible.hide()
        else:
            view.invisible.show(pixmap, view.monitor)
        text_pixmap = self.cache.get(visible)
        if text_pixmap is None:
            if view.visible is not None:
                view.visible.hide()
            return
        if view.visible is None:
            view.visible = Layer(self.conn, view.monitor, TEXT_TITLE)
        view.visible.show(text_pixmap, view.monitor)

    def _after_change(self, now: float) -> None:
        keep = {spec for view in self.views.values() if view.shown for spec in view.shown[1:] if spec}
        keep |= set(self._upcoming(now))
        self.cache.keep_only(keep)
        self.conn.sync()  # the server has the new backgrounds before the status says so
        write_status(self.state_dir, "x11", [
            {"name": v.monitor.name, "monitor": i, "x": v.monitor.x, "y": v.monitor.y, "width": v.monitor.width,
             "height": v.monitor.height, "device_pixel_ratio": 1.0,
             "mark": None if v.mark is None else f"{v.mark:016x}", "visible_text": v.text}
            for i, v in enumerate(self.views.values()) if v.shown is not None])
        unmarked = self.settings.invisible and any(v.shown and v.mark is None for v in self.views.values())
        if unmarked and self._warned != self.state.stamps:
            self._warned = self.state.stamps
            known = sorted(self.schedule.marks) if self.schedule else []
            span = f"slots {known[0]}..{known[-1]}" if known else "no marks"
            log.warning("no watermark mark for the current time slot (marks.json has %s)", span)

    def _upcoming(self, now: float) -> list[LayerSpec]:
        if self.schedule is None:
            return []
        later = self.schedule.next_boundary(now) + 0.001
        return [s for i, v in enumerate(self.views.values()) for s in self.wanted(i, v.monitor, later)[:2] if s]

    def _arm_boundary(self, now: float) -> None:
        """Render the next slot's pixmaps ahead, swap them in at the boundary."""
        for timer in self._boundary:
            timer.cancel()
        if self.schedule is None:
            self._boundary = []
            return
        boundary = self.schedule.next_boundary(now)
        self._boundary = [
            self.loop.call_later(boundary - PRERENDER_SECONDS - now, lambda: self.cache.request(self._upcoming(time.time()))),
            self.loop.call_later(boundary - now + 0.001, self.refresh),
        ]

    # -- state files ----------------------------------------------------------------------
    def reload_state(self) -> bool:
        return self.state.reload()

def run_tiled(state_dir: pathlib.Path, stop: threading.Event) -> int:
    """The overlay on X11 until `stop` is set (by SIGTERM or SIGINT); exit status as in main()."""
    from Xlib import display, error

    from agent.platform.overlay_x11 import X11OverlayPlatform
    from agent.platform.x11_layers import X11LayerError

    loop = EventLoop()
    loop.catch_signals()
    conn = display.Display(os.environ["DISPLAY"])
    conn.set_error_handler(lambda error, request: log.debug("X error (ignored): %s", error))
    platform = X11OverlayPlatform(os.environ["DISPLAY"])
    overlay = TiledOverlay(state_dir, conn, platform, loop)
    stop_keys = platform.watch_print_key(lambda: loop.wake(PRINT_KEY))
    code = 0
    try:
        overlay.start()
        log.info("overlay running on %d monitor(s), platform x11 (server-tiled)", len(overlay.views))
        loop.run(stop.is_set, overlay.on_x_events)
    except X11LayerError as exc:
        log.error("%s", exc)
        code = 3
    except (error.ConnectionClosedError, OSError) as exc:  # the X server went away: the supervisor restarts us
        log.error("lost the X display: %s", exc)
        code = 3
    finally:
        stop_keys()
        with contextlib.suppress(error.ConnectionClosedError, OSError):
            overlay.stop()
            conn.close()
        loop.close()
    return code

