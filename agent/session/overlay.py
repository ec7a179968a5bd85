"""The overlay process: `python -m agent.session.overlay --state-dir DIR`.

Runs inside the user's graphical session, started (and restarted) by the agent's supervisor.
On Linux/X11 the overlay is server-tiled X11 windows (`overlay_tiled`); elsewhere, or with
`LEAKGUARD_OVERLAY=qt`, the Qt overlay (`overlay_controller`).
Shows on every monitor exactly `watermark.overlay.render_overlay(mark, w, h)` for the current
time slot's mark, plus the zone policy's visible layer, and reports screenshot signals to
`session-events.jsonl`. Exits 0 on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
import signal
import sys
import threading
from collections.abc import Sequence

from agent.platform.overlay_port import select_overlay_platform

log = logging.getLogger("agent.session.overlay")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m agent.session.overlay", description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", required=True, type=pathlib.Path, help="the agent's state directory")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser.parse_args(argv)


def configure_qt_environment() -> None:
    """One image pixel = one device pixel: Qt must not scale the overlay on HiDPI screens."""
    os.environ["QT_ENABLE_HIGHDPI_SCALING"] = "0"
    os.environ["QT_SCALE_FACTOR"] = "1"
    for name in ("QT_SCREEN_SCALE_FACTORS", "QT_AUTO_SCREEN_SCALE_FACTOR", "QT_SCALE_FACTOR_ROUNDING_POLICY"):
        os.environ.pop(name, None)
    if sys.platform.startswith("linux") and os.environ.get("DISPLAY") and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "xcb"  # the overlay needs X11 window flags, not Wayland's


def display_problem() -> str | None:
    if os.environ.get("QT_QPA_PLATFORM", "").startswith("xcb"):
        from agent.platform.overlay_x11 import connection_problem

        return connection_problem(os.environ.get("DISPLAY", ""))
    return None


def tiled_backend_wanted() -> bool:
    """Linux with an X display uses the server-tiled overlay (no Qt, no numpy in this process);
    `LEAKGUARD_OVERLAY=qt` keeps the Qt overlay there too (Windows and macOS always use Qt)."""
    return (sys.platform.startswith("linux") and bool(os.environ.get("DISPLAY"))
            and os.environ.get("LEAKGUARD_OVERLAY", "").lower() != "qt")


def run(state_dir: pathlib.Path, stop: threading.Event) -> int:
    if not state_dir.is_dir():
        log.error("state directory %s does not exist", state_dir)
        return 2
    if tiled_backend_wanted():
        from agent.platform.overlay_x11 import connection_problem
        from agent.session.overlay_tiled import run_tiled

        problem = connection_problem(os.environ["DISPLAY"])
        if problem is not None:
            log.error("%s", problem)
            return 3
        return run_tiled(state_dir, stop)
    return run_qt(state_dir, stop)


def run_qt(state_dir: pathlib.Path, stop: threading.Event) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from agent.session.overlay_controller import OverlayController

    configure_qt_environment()
    problem = display_problem()
    if problem is not None:
        log.error("%s", problem)
        return 3
    app = QApplication([sys.argv[0]])
    app.setQuitOnLastWindowClosed(False)  # all monitors unplugged is not a reason to stop
    controller = OverlayController(state_dir, select_overlay_platform(app.platformName()))
    watch = QTimer()
    watch.timeout.connect(lambda: app.quit() if stop.is_set() else None)  # also lets Python run handlers
    watch.start(100)
    controller.start()
    log.info("overlay running on %d monitor(s), platform %s", len(controller.windows), controller.platform.name)
    try:
        return app.exec()
    finally:
        controller.stop()


def main(argv: Sequence[str] | None = None) -> int:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):  # first thing: a stop during start-up is kept
        signal.signal(signum, lambda *_: stop.set())
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s overlay %(levelname)s %(message)s")
    log.info("starting (pid %d, state %s)", os.getpid(), args.state_dir)
    return run(args.state_dir, stop)


if __name__ == "__main__":
    sys.exit(main())
