"""The X11 clipboard: XFixes tells us when the owner changes (no polling); xclip reads and writes.

XFixes selection-owner notifications arrive on the X connection's socket, so waiting costs
nothing. The owner's process id comes from the X-Resource extension (libXRes) when present.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import select
import shutil
import subprocess
import time
import urllib.parse

from agent.platform.processes import PsutilProcessTable
from agent.ports import RunningProcess

SET_SELECTION_OWNER_NOTIFY_MASK = 1
XRES_CLIENT_ID_PID_MASK = 2
READ_TIMEOUT_SECONDS = 2.0


class X11Error(Exception):
    """The X display or a needed extension or tool is missing."""


class _SelectionNotify(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("subtype", ctypes.c_int),
        ("owner", ctypes.c_ulong), ("selection", ctypes.c_ulong), ("timestamp", ctypes.c_ulong),
        ("selection_timestamp", ctypes.c_ulong),
    ]


class _XSelectionEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p), ("requestor", ctypes.c_ulong), ("selection", ctypes.c_ulong),
        ("target", ctypes.c_ulong), ("property", ctypes.c_ulong), ("time", ctypes.c_ulong),
    ]


class _XEvent(ctypes.Union):
    _fields_ = [("type", ctypes.c_int), ("fixes", _SelectionNotify), ("selection", _XSelectionEvent),
                ("pad", ctypes.c_long * 24)]


SELECTION_NOTIFY = 31
MAX_INLINE_BYTES = 4 * 1024 * 1024
#: How file managers put copied files on the clipboard: GNOME's (also Caja, Nemo, Thunar, PCManFM),
#: then the freedesktop URI list (KDE's Dolphin, browsers, xclip -t text/uri-list).
FILE_TARGETS = ("x-special/gnome-copied-files", "text/uri-list")
IMAGE_TARGET = "image/png"  # what screenshot tools and browsers offer for a copied image


class _ClientIdSpec(ctypes.Structure):
    _fields_ = [("client", ctypes.c_ulong), ("mask", ctypes.c_uint)]


class _ClientIdValue(ctypes.Structure):
    _fields_ = [("spec", _ClientIdSpec), ("length", ctypes.c_long), ("value", ctypes.c_void_p)]


_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(lambda _d, _e: 0)


def _load(name: str) -> ctypes.CDLL | None:
    path = ctypes.util.find_library(name)
    return ctypes.CDLL(path) if path else None


class X11Clipboard:
    """The CLIPBOARD selection of one X display."""

    def __init__(self, x11: ctypes.CDLL, display: int, event_base: int, xres: ctypes.CDLL | None, xclip: str) -> None:
        self._x11, self._display, self._event_base, self._xres, self._xclip = x11, display, event_base, xres, xclip
        self._owner_window = 0
        self._processes = PsutilProcessTable()
        self._changed = False
        self._offered: set[int] | None = None  # the targets of the current copy, once asked
        dpy = ctypes.c_void_p(display)
        self._root = x11.XDefaultRootWindow(dpy)
        self._window = x11.XCreateSimpleWindow(dpy, ctypes.c_ulong(self._root), 0, 0, 1, 1, 0, 0, 0)
        self._atoms = {name: x11.XInternAtom(dpy, name.encode(), 0)
                       for name in ("CLIPBOARD", "UTF8_STRING", "LEAKGUARD_CLIP", "INCR", "TARGETS", IMAGE_TARGET,
                                    *FILE_TARGETS)}

    @classmethod
    def open(cls, display_name: str) -> X11Clipboard:
        x11, fixes = _load("X11"), _load("Xfixes")
        xclip = shutil.which("xclip")
        if x11 is None or fixes is None or xclip is None:
            raise X11Error("the clipboard needs libX11, libXfixes and xclip")
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XSetErrorHandler(_ERROR_HANDLER)
        display = x11.XOpenDisplay(display_name.encode())
        if not display:
            raise X11Error(f"cannot open X display {display_name}")
        cls._declare(x11)
        event_base, error_base = ctypes.c_int(), ctypes.c_int()
        if not fixes.XFixesQueryExtension(ctypes.c_void_p(display), ctypes.byref(event_base), ctypes.byref(error_base)):
            x11.XCloseDisplay(ctypes.c_void_p(display))
            raise X11Error("the X server lacks the XFIXES extension")
        root = x11.XDefaultRootWindow(ctypes.c_void_p(display))
        clipboard = x11.XInternAtom(ctypes.c_void_p(display), b"CLIPBOARD", 0)
        fixes.XFixesSelectSelectionInput(
            ctypes.c_void_p(display), ctypes.c_ulong(root), ctypes.c_ulong(clipboard),
            ctypes.c_ulong(SET_SELECTION_OWNER_NOTIFY_MASK),
        )
        x11.XFlush(ctypes.c_void_p(display))
        return cls(x11, display, event_base.value, _load("XRes"), xclip)

    @staticmethod
    def _declare(x11: ctypes.CDLL) -> None:
        x11.XDefaultRootWindow.restype = ctypes.c_ulong
        x11.XInternAtom.restype = ctypes.c_ulong
        x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        x11.XConnectionNumber.argtypes = [ctypes.c_void_p]
        x11.XPending.argtypes = [ctypes.c_void_p]
        x11.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        x11.XCreateSimpleWindow.restype = ctypes.c_ulong
        x11.XCreateSimpleWindow.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_uint,
                                            ctypes.c_uint, ctypes.c_uint, ctypes.c_ulong, ctypes.c_ulong]
        x11.XConvertSelection.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                                          ctypes.c_ulong, ctypes.c_ulong]
        x11.XGetWindowProperty.argtypes = [
            ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_long, ctypes.c_long, ctypes.c_int,
            ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_int),
            ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_void_p)]
        x11.XFree.argtypes = [ctypes.c_void_p]
        x11.XFlush.argtypes = [ctypes.c_void_p]

    def wait_for_change(self, timeout: float) -> bool:
        """True once the clipboard has a new owner (someone copied), False after `timeout`."""
        if not self._changed and not self._x11.XPending(self._display):
            ready, _, _ = select.select([self._x11.XConnectionNumber(self._display)], [], [], timeout)
            if not ready:
                return False
        self._next_events()
        changed, self._changed = self._changed, False
        if changed:
            self._offered = None
        return changed

    def _next_events(self) -> _XEvent | None:
        """Handle queued events; returns the SelectionNotify for our window if one came."""
        answer = None
        while self._x11.XPending(self._display):
            event = _XEvent()
            self._x11.XNextEvent(self._display, ctypes.byref(event))
            if event.type == self._event_base:
                self._owner_window = event.fixes.owner
                self._changed = self._changed or event.fixes.owner != 0
            elif event.type == SELECTION_NOTIFY and event.selection.requestor == self._window:
                answer = event
        return answer

    def read_text(self) -> str | None:
        """The clipboard text, asked from its owner on our own X connection (xclip for big transfers)."""
        return self._read("UTF8_STRING")

    def read_files(self) -> list[str] | None:
        """Local paths of files copied in a file manager; None when the clipboard holds no files.
        Only targets the owner lists in TARGETS are asked for (an owner that ignores a request
        for a target it lacks would otherwise hold every copy up for the read timeout)."""
        offered = self._targets()
        for target in FILE_TARGETS:
            listing = self._read(target) if self._atoms[target] in offered else None
            if listing:
                return copied_paths(listing) or None
        return None

    def read_image(self) -> bytes | None:
        """The copied image as PNG, when the owner offers one (read by xclip: images come in pieces)."""
        if self._atoms[IMAGE_TARGET] not in self._targets():
            return None
        try:
            result = subprocess.run([self._xclip, "-o", "-selection", "clipboard", "-t", IMAGE_TARGET],
                                    capture_output=True, timeout=READ_TIMEOUT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return result.stdout if result.returncode == 0 and result.stdout else None

    def _targets(self) -> set[int]:
        """The atoms of the targets the clipboard's owner offers (asked once per copy)."""
        if self._offered is None:
            self._offered = self._ask_targets()
        return self._offered

    def _ask_targets(self) -> set[int]:
        if not self._ask("TARGETS"):
            return set()
        kind, fmt, count, after = ctypes.c_ulong(), ctypes.c_int(), ctypes.c_ulong(), ctypes.c_ulong()
        data = ctypes.c_void_p()
        status = self._x11.XGetWindowProperty(
            ctypes.c_void_p(self._display), self._window, self._atoms["LEAKGUARD_CLIP"], 0, 1024, 1,
            0, ctypes.byref(kind), ctypes.byref(fmt), ctypes.byref(count), ctypes.byref(after), ctypes.byref(data))
        try:
            if status != 0 or fmt.value != 32 or not data:
                return set()
            return set(ctypes.cast(data, ctypes.POINTER(ctypes.c_ulong))[:count.value])  # Xlib hands format 32 as longs
        finally:
            if data:
                self._x11.XFree(data)

    def _read(self, target: str) -> str | None:
        return self._take_property(target) if self._ask(target) else None

    def _ask(self, target: str) -> bool:
        """Ask the owner to convert the clipboard to `target` into our property; whether it did."""
        dpy, atoms = ctypes.c_void_p(self._display), self._atoms
        self._x11.XConvertSelection(dpy, atoms["CLIPBOARD"], atoms[target], atoms["LEAKGUARD_CLIP"],
                                    self._window, 0)
        self._x11.XFlush(dpy)
        deadline = time.monotonic() + READ_TIMEOUT_SECONDS
        while (remaining := deadline - time.monotonic()) > 0:
            answer = self._next_events()
            if answer is not None:
                return bool(answer.selection.property)
            select.select([self._x11.XConnectionNumber(self._display)], [], [], remaining)
        return False

    def _take_property(self, target: str) -> str | None:
        kind, fmt, count, after = ctypes.c_ulong(), ctypes.c_int(), ctypes.c_ulong(), ctypes.c_ulong()
        data = ctypes.c_void_p()
        status = self._x11.XGetWindowProperty(
            ctypes.c_void_p(self._display), self._window, self._atoms["LEAKGUARD_CLIP"], 0, MAX_INLINE_BYTES // 4, 1,
            0, ctypes.byref(kind), ctypes.byref(fmt), ctypes.byref(count), ctypes.byref(after), ctypes.byref(data))
        if status != 0:
            return None
        try:
            if kind.value == self._atoms["INCR"] or after.value or fmt.value != 8:
                return self._read_with_xclip(target)  # a large transfer in pieces: let xclip do INCR
            return ctypes.string_at(data, count.value).decode("utf-8", errors="replace") if data else ""
        finally:
            if data:
                self._x11.XFree(data)

    def _read_with_xclip(self, target: str) -> str | None:
        try:
            result = subprocess.run(
                [self._xclip, "-o", "-selection", "clipboard", "-t", target],
                capture_output=True, timeout=READ_TIMEOUT_SECONDS, check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return result.stdout.decode("utf-8", errors="replace") if result.returncode == 0 else None

    def write_text(self, text: str | bytes, target: str | None = None) -> None:
        """Own the clipboard with `text` (as `target`, e.g. a URI list or an image, else as text)."""
        data = text if isinstance(text, bytes) else text.encode()
        subprocess.run(
            [self._xclip, "-i", "-selection", "clipboard", *(("-t", target) if target else ())], input=data,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=READ_TIMEOUT_SECONDS, check=False,
        )

    def owner(self) -> RunningProcess | None:
        pid = self._owner_pid()
        return self._processes.describe(pid) if pid else None

    def _owner_pid(self) -> int | None:
        if self._xres is None or not self._owner_window:
            return None
        spec = _ClientIdSpec(self._owner_window, XRES_CLIENT_ID_PID_MASK)
        count, values = ctypes.c_long(), ctypes.POINTER(_ClientIdValue)()
        status = self._xres.XResQueryClientIds(
            ctypes.c_void_p(self._display), ctypes.c_long(1), ctypes.byref(spec), ctypes.byref(count), ctypes.byref(values)
        )
        if status != 0 or count.value < 1:
            return None
        self._xres.XResGetClientPid.argtypes = [ctypes.POINTER(_ClientIdValue)]
        pid = int(self._xres.XResGetClientPid(values))
        self._xres.XResClientIdsDestroy(count, values)
        return pid if pid > 0 else None

    def close(self) -> None:
        if self._display:
            self._x11.XCloseDisplay(ctypes.c_void_p(self._display))
            self._display = 0


def copied_paths(listing: str) -> list[str]:
    """Local paths in a clipboard file list: GNOME's ("copy" or "cut", then one URI a line) or a
    URI list (RFC 2483: CRLF-separated, "#" comments). Only file: URIs of this host count."""
    paths = []
    for line in listing.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line in ("copy", "cut"):
            continue
        parts = urllib.parse.urlsplit(line)
        if parts.scheme == "file" and parts.netloc in ("", "localhost"):
            path = urllib.parse.unquote(parts.path)
            if path.startswith("/") and "\0" not in path:
                paths.append(path)
    return paths
