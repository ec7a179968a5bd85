"""The files the overlay process reads: marks.json (marks issued ahead) and overlay.json."""

from __future__ import annotations

import logging
from typing import Any

from agent.client import ConsoleClient
from agent.state import StateDir, read_json, write_json

log = logging.getLogger(__name__)
MARKS_AHEAD = 48
DEFAULT_SLOT_SECONDS = 600  # watermark.marks.SLOT_SECONDS; the console's answer wins
MAX_MONITORS = 8  # the console issues marks for at most this many monitors
OVERLAY_STATUS = "overlay-status.json"


def current_slot(now: float, slot_seconds: int) -> int:
    # Slots count from watermark.marks.EPOCH (2020-01-01), as the console issues and the overlay reads them.
    from watermark.marks import slot_for

    return slot_for(now, slot_seconds)


def refresh_marks(client: ConsoleClient, state: StateDir, now: float) -> None:
    """Fetch the next batch of marks when fewer than half are left, or the overlay reports more screens."""
    saved = read_json(state.marks) or {}
    slot_seconds = int(saved.get("slot_seconds") or DEFAULT_SLOT_SECONDS)
    slot = current_slot(now, slot_seconds)
    monitors = overlay_monitors(state)
    ahead = [m for m in saved.get("marks", []) if isinstance(m, dict) and m.get("slot", -1) >= slot]
    covered = {m.get("monitor", 0) for m in ahead}
    if len(ahead) >= MARKS_AHEAD // 2 * len(covered) and covered >= set(range(monitors)):
        return
    answer = client.fetch_marks(slot, MARKS_AHEAD, monitors)
    if int(answer.get("slot_seconds", slot_seconds)) != slot_seconds:
        slot_seconds = int(answer["slot_seconds"])
        answer = client.fetch_marks(current_slot(now, slot_seconds), MARKS_AHEAD, monitors)
    marks = [{**m, "monitor": int(m.get("monitor", 0))} for m in answer.get("marks", []) if isinstance(m, dict)]
    write_json(state.marks, {"slot_seconds": slot_seconds, "epoch": slot_epoch(), "marks": marks})


def slot_epoch() -> int:
    """Where slot 0 starts, handed to the overlay so it can count slots without the watermark package."""
    from watermark.marks import EPOCH

    return EPOCH


def overlay_monitors(state: StateDir) -> int:
    """How many screens the overlay says it draws on (overlay-status.json), 1 to MAX_MONITORS."""
    status = read_json(state.root / OVERLAY_STATUS)
    screens = status.get("screens") if isinstance(status, dict) else None
    count = len(screens) if isinstance(screens, list) else 1
    return max(1, min(MAX_MONITORS, count))


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def overlay_settings(watermark: Any, *, user: str | None, host: str, zone: str | None = None,
                     device: int | None = None) -> dict[str, Any]:
    """overlay.json from the zone policy's watermark settings.

    `{user}`, `{host}`, `{zone}` and `{device}` are filled here; `{time}`, `{date}` and `{ip}` are
    left for the overlay, which refreshes them every time slot (docs/INTERFACES.md).
    """
    template = getattr(watermark, "visible_template", None)
    values = _Blank(user=user or "unknown", host=host, hostname=host, zone=zone or "",
                    device="" if device is None else str(device))
    return {
        "invisible": bool(getattr(watermark, "invisible", True)),
        "visible_text": _fill(template, values),
        "visible_opacity": float(getattr(watermark, "visible_opacity", 0.0)),
    }


def _fill(template: str | None, values: _Blank) -> str | None:
    if not template:
        return None
    try:
        return template.format_map(values)
    except (ValueError, IndexError):
        return template


def write_overlay_settings(state: StateDir, settings: dict[str, Any]) -> None:
    if read_json(state.overlay) != settings:
        write_json(state.overlay, settings)
