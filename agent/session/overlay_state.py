"""What the overlay shows, read from the agent's state directory.

The agent service writes `marks.json` and `overlay.json` with atomic replace (see
docs/INTERFACES.md); the overlay process only reads them. Parsing is strict and happens once per
file change: a bad file gives an `OverlayStateError` naming the file and the field, and the
overlay keeps showing what it showed before.
"""

from __future__ import annotations

import json
import logging
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MARKS_FILE = "marks.json"
SETTINGS_FILE = "overlay.json"
STATE_FILES = (MARKS_FILE, SETTINGS_FILE)
log = logging.getLogger(__name__)
MAX_VISIBLE_TEXT = 512
MAX_MONITORS = 8
MAX_FILE_BYTES = 4 * 1024 * 1024  # a year of 10-minute marks is ~2.5 MB of JSON


class OverlayStateError(ValueError):
    """A state file is missing, unreadable or does not follow its schema."""


@dataclass(frozen=True)
class MarkSchedule:
    """The (slot -> 64-bit mark) batch the console issued to this agent."""

    slot_seconds: int
    marks: Mapping[int, int] = field(default_factory=dict)  # monitor 0 (the agent's own device)
    others: Mapping[int, Mapping[int, int]] = field(default_factory=dict)  # monitor >= 1 -> slot -> mark
    epoch: int | None = None  # watermark.marks.EPOCH, as the agent service wrote it into marks.json

    def slot_at(self, unix_seconds: float) -> int:
        """The slot as `watermark.marks.slot_for` counts it (the console issues marks by it).

        With the epoch handed over in marks.json this is plain arithmetic, so the X11 overlay
        process need not import `watermark.marks` (and with it the cryptography library, 10 MB).
        """
        if self.epoch is not None:
            return int((unix_seconds - self.epoch) // self.slot_seconds)
        from watermark.marks import slot_for

        return slot_for(unix_seconds, self.slot_seconds)

    def _window(self, slot: int) -> tuple[float, float]:
        if self.epoch is not None:
            start = float(self.epoch + slot * self.slot_seconds)
            return start, start + self.slot_seconds
        from watermark.marks import slot_window

        return slot_window(slot, self.slot_seconds)

    def slot_start(self, unix_seconds: float) -> float:
        try:
            return self._window(self.slot_at(unix_seconds))[0]
        except ValueError:
            return unix_seconds

    def mark_at(self, unix_seconds: float) -> int | None:
        try:
            return self.marks.get(self.slot_at(unix_seconds))
        except ValueError:  # a clock outside the slot range: show no mark rather than crash
            return None

    def mark_for(self, monitor: int, unix_seconds: float) -> tuple[int | None, bool]:
        """The mark screen `monitor` shows, and whether it is monitor 0's mark standing in for it."""
        own = self.others.get(monitor) if monitor else self.marks
        if own is not None:
            try:
                mark = own.get(self.slot_at(unix_seconds))
            except ValueError:
                return None, False
            if mark is not None:
                return mark, False
        return self.mark_at(unix_seconds), monitor != 0

    def next_boundary(self, unix_seconds: float) -> float:
        """Unix time at which the slot after the one containing `unix_seconds` starts."""
        try:
            return self._window(self.slot_at(unix_seconds))[1]
        except ValueError:
            return unix_seconds + self.slot_seconds


@dataclass(frozen=True)
class OverlaySettings:
    """The zone policy's watermark settings, already filled in by the agent service."""

    invisible: bool = True
    visible_text: str | None = None
    visible_opacity: float = 0.0


def parse_marks(text: str, *, source: str = MARKS_FILE) -> MarkSchedule:
    data = _load_object(text, source)
    slot_seconds = data.get("slot_seconds")
    if not isinstance(slot_seconds, int) or isinstance(slot_seconds, bool) or slot_seconds <= 0:
        raise OverlayStateError(f"{source}: `slot_seconds` must be a positive integer")
    epoch = data.get("epoch")
    if epoch is not None and (not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0):
        raise OverlayStateError(f"{source}: `epoch` must be a non-negative integer (unix seconds) or absent")
    entries = data.get("marks")
    if not isinstance(entries, list):
        raise OverlayStateError(f"{source}: `marks` must be a list")
    monitors: dict[int, dict[int, int]] = {}
    for index, entry in enumerate(entries):
        monitor, slot, mark = _parse_mark_entry(entry, index, source)
        monitors.setdefault(monitor, {})[slot] = mark
    return MarkSchedule(slot_seconds=slot_seconds, marks=monitors.pop(0, {}), others=monitors, epoch=epoch)


def _parse_mark_entry(entry: Any, index: int, source: str) -> tuple[int, int, int]:
    where = f"{source}: marks[{index}]"
    if not isinstance(entry, dict):
        raise OverlayStateError(f"{where} must be an object")
    slot, mark = entry.get("slot"), entry.get("mark")
    if not isinstance(slot, int) or isinstance(slot, bool) or slot < 0:
        raise OverlayStateError(f"{where}.slot must be a non-negative integer")
    if not isinstance(mark, str) or len(mark) != 16:
        raise OverlayStateError(f"{where}.mark must be 16 hex digits")
    monitor = entry.get("monitor", 0)
    if not isinstance(monitor, int) or isinstance(monitor, bool) or not 0 <= monitor < MAX_MONITORS:
        raise OverlayStateError(f"{where}.monitor must be an integer from 0 to {MAX_MONITORS - 1}")
    try:
        return monitor, slot, int(mark, 16)
    except ValueError:
        raise OverlayStateError(f"{where}.mark must be 16 hex digits") from None


def parse_settings(text: str, *, source: str = SETTINGS_FILE) -> OverlaySettings:
    data = _load_object(text, source)
    invisible = data.get("invisible", True)
    if not isinstance(invisible, bool):
        raise OverlayStateError(f"{source}: `invisible` must be true or false")
    visible_text = data.get("visible_text")
    if visible_text is not None and not isinstance(visible_text, str):
        raise OverlayStateError(f"{source}: `visible_text` must be a string or null")
    if visible_text is not None and len(visible_text) > MAX_VISIBLE_TEXT:
        raise OverlayStateError(f"{source}: `visible_text` is longer than {MAX_VISIBLE_TEXT} characters")
    opacity = data.get("visible_opacity", 0.0)
    if isinstance(opacity, bool) or not isinstance(opacity, int | float) or not 0.0 <= opacity <= 1.0:
        raise OverlayStateError(f"{source}: `visible_opacity` must be a number from 0 to 1")
    return OverlaySettings(invisible, visible_text or None, float(opacity))


def _load_object(text: str, source: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OverlayStateError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise OverlayStateError(f"{source}: the top level must be a JSON object")
    return data


def read_marks(state_dir: pathlib.Path) -> MarkSchedule:
    return parse_marks(_read_text(state_dir / MARKS_FILE), source=str(state_dir / MARKS_FILE))


def read_settings(state_dir: pathlib.Path) -> OverlaySettings:
    """The settings file is optional: without it the overlay shows the invisible mark only."""
    path = state_dir / SETTINGS_FILE
    if not path.exists():
        return OverlaySettings()
    return parse_settings(_read_text(path), source=str(path))


def _read_text(path: pathlib.Path) -> str:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise OverlayStateError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OverlayStateError(f"{path}: cannot read ({exc})") from None


class StateFiles:
    """The overlay's view of `marks.json` and `overlay.json`, re-read only when either changed.

    On a bad file the previous schedule and settings stay (the last good overlay keeps showing)."""

    def __init__(self, state_dir: pathlib.Path) -> None:
        self.state_dir = state_dir
        self.schedule: MarkSchedule | None = None
        self.settings = OverlaySettings()
        self.stamps: tuple[object, ...] = ()

    def reload(self) -> bool:
        """Re-read the files if their size or mtime changed; True when they did."""
        stamps = tuple(_stamp(self.state_dir / name) for name in STATE_FILES)
        if stamps == self.stamps:
            return False
        self.stamps = stamps
        try:
            self.schedule = read_marks(self.state_dir) if stamps[0] is not None else None
            self.settings = read_settings(self.state_dir)
        except OverlayStateError as exc:
            log.error("keeping the previous overlay: %s", exc)
        return True


def _stamp(path: pathlib.Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_mtime_ns, info.st_size
