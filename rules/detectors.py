"""`scan_text`: the entry point the agent, the console and the CLI call."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from rules.catalog import BUILTIN_DETECTORS, detector_by_id
from rules.detector import Detector
from rules.finding import DEFAULT_DIGEST_KEY, Finding
from rules.keywords import KeywordList
from rules.model import Policy
from rules.scanner import Scanner

__all__ = ["Detector", "Finding", "KeywordList", "Scanner", "scan_text", "scanner_for", "scanner_for_policy", "UnknownDetectorError"]


class UnknownDetectorError(KeyError):
    """A detector id that is neither built in nor defined by the caller."""


def _builtin(detector_id: str) -> Detector:
    detector = detector_by_id(detector_id)
    if detector is None:
        raise UnknownDetectorError(detector_id)
    return detector


@lru_cache(maxsize=32)
def _compiled(detectors: tuple[Detector, ...], keywords: tuple[KeywordList, ...]) -> Scanner:
    return Scanner(detectors, keywords)


def scanner_for(detectors: Iterable[str | Detector] | None = None,
                keywords: Iterable[KeywordList] = ()) -> Scanner:
    """A compiled scanner for these detectors (ids or objects) and keyword lists.

    Compiling costs tens of milliseconds, so the last few selections are kept (detectors and
    keyword lists are immutable, so equal selections share one scanner).
    """
    chosen = BUILTIN_DETECTORS if detectors is None else detectors
    resolved = tuple(dict.fromkeys(d if isinstance(d, Detector) else _builtin(d) for d in chosen))
    return _compiled(resolved, tuple(keywords))


def scanner_for_policy(policy: Policy) -> Scanner:
    """Only the detectors and keyword lists the policy's rules name: less work per scan."""
    wanted = set(policy.detector_ids())
    builtin = [d for d in BUILTIN_DETECTORS if d.id in wanted]
    custom = [d for d in policy.detectors if d.id in wanted]
    return scanner_for([*builtin, *custom], [k for k in policy.keywords if k.id in wanted])


def scan_text(
    text: str,
    *,
    detectors: Iterable[str | Detector] | None = None,
    keywords: Iterable[KeywordList] = (),
    key: bytes = DEFAULT_DIGEST_KEY,
) -> list[Finding]:
    """Find sensitive data in `text` with the given detectors (all built-ins by default).

    `key` keys the `Finding.digest` HMAC: the agent passes its device key. Raises
    `UnknownDetectorError` for an id that does not exist.
    """
    return scanner_for(detectors, keywords).scan(text, key=key)
