"""A small single-threaded event loop for the X11 overlay: file descriptors plus timers.

The overlay sleeps in one `select` until the X connection, the state directory (inotify), the
renderer's pipe or the wake pipe has something, or the next timer is due, so an idle overlay
costs next to nothing. Signals and the RECORD watcher thread write to the wake pipe.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import selectors
import signal
import time
from collections.abc import Callable

log = logging.getLogger(__name__)
PRINT_KEY = b"P"  # written by the key watcher thread; signal numbers are below 65


class Timer:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class EventLoop:
    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._timers: list[tuple[float, int, Timer, Callable[[], None]]] = []
        self._order = itertools.count()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.on_wake: Callable[[bytes], None] = lambda _data: None
        self.add_reader(self._wake_r, self._drain_wake)

    def add_reader(self, fd: int, callback: Callable[[], None]) -> None:
        self._selector.register(fd, selectors.EVENT_READ, callback)

    def remove_reader(self, fd: int) -> None:
        self._selector.unregister(fd)

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Timer:
        timer = Timer()
        heapq.heappush(self._timers, (time.monotonic() + max(0.0, seconds), next(self._order), timer, callback))
        return timer

    def every(self, seconds: float, callback: Callable[[], None]) -> None:
        def again() -> None:
            self.call_later(seconds, again)
            callback()

        self.call_later(seconds, again)

    def wake(self, data: bytes) -> None:
        """Safe from any thread: `on_wake(data)` runs on the loop's thread."""
        with contextlib.suppress(BlockingIOError):  # full: the loop has plenty to wake up for already
            os.write(self._wake_w, data)

    def catch_signals(self) -> None:
        """Signals interrupt the select at once (their Python handlers run before the next round)."""
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)

    def run(self, stopped: Callable[[], bool], before_wait: Callable[[], None]) -> None:
        while not stopped():
            before_wait()
            if stopped():
                break
            for key, _mask in self._selector.select(self._timeout()):
                key.data()
            self._run_due_timers()

    def close(self) -> None:
        signal.set_wakeup_fd(-1)
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _timeout(self) -> float | None:
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        return max(0.0, self._timers[0][0] - time.monotonic()) if self._timers else None

    def _run_due_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _when, _n, timer, callback = heapq.heappop(self._timers)
            if not timer.cancelled:
                callback()

    def _drain_wake(self) -> None:
        data = b""
        while True:
            try:
                chunk = os.read(self._wake_r, 4096)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        if data:
            self.on_wake(data)
