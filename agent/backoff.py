"""Exponential back-off with jitter, so a fleet of agents does not hammer a console that comes back."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delay after the n-th consecutive failure: half fixed, half random ("equal jitter")."""

    base_seconds: float = 1.0
    max_seconds: float = 300.0
    factor: float = 2.0

    def delay(self, failures: int, rng: random.Random) -> float:
        if failures <= 0:
            return 0.0
        ceiling = min(self.max_seconds, self.base_seconds * self.factor ** min(failures - 1, 64))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)
