"""X11 backend of the overlay port, through python-xlib. Tested on Xvfb + xcompmgr.

- Screenshot key: the RECORD extension copies every KeyPress to us without taking it from the
  focused client (unlike XGrabKey, which would steal PrintScreen from the user's capture tool).
- Stacking: SubstructureNotify on the root window tells us when any top-level window is mapped or
  restacked, so the overlay raises itself again at once rather than at the next periodic raise.
- Each watcher thread has its own connection: python-xlib connections are not thread-safe.
"""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable
from typing import Any

from agent.platform.overlay_port import Stop

log = logging.getLogger(__name__)
OVERLAY_TITLE = "leakguard-overlay"
WINDOW_STATES = ("_NET_WM_STATE_SKIP_TASKBAR", "_NET_WM_STATE_SKIP_PAGER", "_NET_WM_STATE_ABOVE",
                 "_NET_WM_STATE_STICKY")


class X11OverlayPlatform:
    name = "x11"

    def __init__(self, display_name: str) -> None:
        self.display_name = display_name
        self._conn: Any = None

    def _connect(self) -> Any:
        from Xlib import display

        return display.Display(self.display_name)

    def prepare_window(self, window_id: int) -> None:
        """Ask a window manager, if any, to keep the window off taskbar and pager, above, sticky.

        Qt rewrites _NET_WM_STATE when it shows or raises a window, so the states are merged in,
        and the controller calls this again now and then (one round trip when nothing changed).
        """
        from Xlib import X, Xatom, error

        conn = self._gui_connection()
        try:
            window = conn.create_resource_object("window", window_id)
            prop = conn.intern_atom("_NET_WM_STATE")
            current = window.get_full_property(prop, X.AnyPropertyType)
            have = set(current.value) if current is not None else set()
            wanted = have | {conn.intern_atom(name) for name in WINDOW_STATES}
            if wanted != have:
                window.change_property(prop, Xatom.ATOM, 32, sorted(wanted))
                conn.flush()
        except error.XError as exc:  # the window is gone (monitor unplugged meanwhile)
            log.debug("cannot set window states on %#x: %s", window_id, exc)

    def _gui_connection(self) -> Any:
        """The GUI thread's own connection (the watcher threads open theirs)."""
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def active_window_title(self) -> str | None:
        conn = self._connect()
        try:
            return _window_title(conn, _active_window(conn))
        except Exception as exc:  # noqa: BLE001 - a vanished window must not lose the event
            log.debug("active window title unavailable: %s", exc)
            return None
        finally:
            conn.close()

    def watch_stacking(self, own_windows: Callable[[], set[int]], on_covered: Callable[[], None]) -> Stop:
        watch = _Watch()
        return watch.start("overlay-stacking", self._stacking_loop, own_windows, on_covered, watch.stopped)

    def _stacking_loop(self, own_windows: Callable[[], set[int]], on_covered: Callable[[], None],
                       stopped: threading.Event) -> None:
        from Xlib import X

        conn = self._connect()  # connected here, not in the caller: the first paint does not wait
        conn.screen().root.change_attributes(event_mask=X.SubstructureNotifyMask)
        conn.flush()

        def covered_by(event: Any) -> bool:
            if event.type not in (X.MapNotify, X.ConfigureNotify) or event.window.id in own_windows():
                return False
            try:
                return _window_title(conn, event.window) != OVERLAY_TITLE
            except Exception:  # noqa: BLE001 - gone already; raising once more is harmless
                return True

        while not stopped.is_set():
            select.select([conn.fileno()], [], [], 0.25)
            try:
                covered = any([covered_by(conn.next_event()) for _ in range(conn.pending_events())])
            except Exception as exc:  # noqa: BLE001 - the periodic raise still runs
                log.warning("stacking watch stopped: %s", exc)
                break
            if covered and not stopped.is_set():
                on_covered()
        conn.close()

    def watch_print_key(self, on_press: Callable[[], None]) -> Stop:
        watch = _Watch()
        return watch.start("overlay-print-key", self._record_keys, on_press, watch)

    def _record_keys(self, on_press: Callable[[], None], watch: _Watch) -> None:
        from Xlib import XK, X
        from Xlib.ext import record
        from Xlib.protocol import rq

        record_conn, control_conn = self._connect(), self._connect()
        if not record_conn.has_extension("RECORD"):
            log.warning("X server has no RECORD extension: the screenshot key is not observed")
            return
        keycodes = {record_conn.keysym_to_keycode(XK.string_to_keysym("Print"))} - {0}
        context = record_conn.record_create_context(0, [record.AllClients], [_KEY_PRESS_RANGE(X.KeyPress)])
        enabled = watch.on_stop(lambda: (control_conn.record_disable_context(context), control_conn.flush()))

        def on_reply(reply: Any) -> None:
            if reply.category != record.FromServer or reply.client_swapped:
                return
            data = reply.data
            while data:
                event, data = rq.EventField(None).parse_binary_value(data, record_conn.display, None, None)
                if event.type == X.KeyPress and event.detail in keycodes:
                    on_press()

        try:
            if enabled:
                record_conn.record_enable_context(context, on_reply)  # returns once stop() disables it
            record_conn.record_free_context(context)
            record_conn.close()
            control_conn.close()
        except Exception as exc:  # noqa: BLE001 - the X server went away; the main loop reports it
            log.debug("key watch ended: %s", exc)


class _Watch:
    """A watcher thread that is stopped for good: after `stop()` returns it calls back no more
    (so nothing reaches Qt while the application is being torn down)."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._on_stop: list[Callable[[], object]] = []
        self._thread: threading.Thread | None = None

    def start(self, name: str, target: Callable[..., None], *args: Any) -> Stop:
        self._thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._thread.start()
        return self.stop

    def on_stop(self, wake: Callable[[], object]) -> bool:
        """Register how to wake the thread from a blocking call; False when already stopped."""
        with self._lock:
            if self.stopped.is_set():
                return False
            self._on_stop.append(wake)
            return True

    def stop(self) -> None:
        with self._lock:
            self.stopped.set()
            wakes, self._on_stop = self._on_stop, []
        for wake in wakes:
            try:
                wake()
            except Exception as exc:  # noqa: BLE001 - the X server may be gone already
                log.debug("waking a watcher failed: %s", exc)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)


def connection_problem(display_name: str) -> str | None:
    """Why the X display cannot be opened, or None when it can (Qt would abort instead)."""
    from Xlib import display, error

    try:
        display.Display(display_name).close()
    except (error.DisplayError, error.ConnectionClosedError, OSError) as exc:
        return f"cannot open X display {display_name!r}: {exc}"
    return None


def _KEY_PRESS_RANGE(key_press: int) -> dict[str, Any]:  # noqa: N802 - reads as a constant
    return {
        "core_requests": (0, 0), "core_replies": (0, 0), "ext_requests": (0, 0, 0, 0),
        "ext_replies": (0, 0, 0, 0), "delivered_events": (0, 0), "device_events": (key_press, key_press),
        "errors": (0, 0), "client_started": False, "client_died": False,
    }


def _active_window(conn: Any) -> Any:
    """The EWMH active window, or (without a window manager) the window with the input focus."""
    from Xlib import X

    root = conn.screen().root
    prop = root.get_full_property(conn.intern_atom("_NET_ACTIVE_WINDOW"), X.AnyPropertyType)
    if prop is not None and len(prop.value) and prop.value[0]:
        return conn.create_resource_object("window", int(prop.value[0]))
    focus = conn.get_input_focus().focus
    return None if isinstance(focus, int) else focus


def _window_title(conn: Any, window: Any) -> str | None:
    """The title of `window` or of its nearest named ancestor (Qt and Chromium name the frame)."""
    root_id = conn.screen().root.id
    utf8 = conn.intern_atom("UTF8_STRING")
    net_name = conn.intern_atom("_NET_WM_NAME")
    while window is not None and window.id != root_id:
        prop = window.get_full_property(net_name, utf8)
        if prop is not None and prop.value:
            value = prop.value
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        name = window.get_wm_name()
        if name:
            return str(name)
        window = window.query_tree().parent
    return None
