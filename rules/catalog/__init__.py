"""The table of built-in detectors: every type leakguard knows, in one place."""

from __future__ import annotations

from rules.catalog import finance, network, personal, secrets
from rules.detector import Detector

BUILTIN_DETECTORS: tuple[Detector, ...] = (
    *personal.DETECTORS,
    *finance.DETECTORS,
    *secrets.DETECTORS,
    *network.DETECTORS,
)

BUILTIN_IDS: frozenset[str] = frozenset(d.id for d in BUILTIN_DETECTORS)


def detector_by_id(detector_id: str) -> Detector | None:
    return next((d for d in BUILTIN_DETECTORS if d.id == detector_id), None)
