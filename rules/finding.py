"""What a scan reports: where, which detector, how sure; never the matched text itself."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

#: Key for `Finding.digest` when the caller has none (CLI scans). Agents pass their device key,
#: so digests from different devices cannot be joined without the console's help.
DEFAULT_DIGEST_KEY = b"leakguard-default-digest-key-v1"

LEVELS = ("low", "medium", "high")
_HIGH = 0.85
_MEDIUM = 0.6


@dataclass(frozen=True, slots=True)
class Finding:
    """One hit. `start`/`end` are character offsets in the scanned text."""

    detector: str
    start: int
    end: int
    confidence: float
    level: str
    preview: str
    digest: str
    #: What made it a finding at this level (`rules.context.Judgement`): "check digit", "context word"...
    basis: tuple[str, ...] = ()


def level_for(confidence: float) -> str:
    """Map a 0..1 confidence to low / medium / high."""
    if confidence >= _HIGH:
        return "high"
    if confidence >= _MEDIUM:
        return "medium"
    return "low"


def level_rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else -1


_MASK = str.maketrans({c: "*" for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"})
_KEEP_SEPARATORS = " -.@:/_()"


def redact(value: str) -> str:
    """Keep only a few characters at each end so a reader can tell hits apart; hide the rest.

    Separators (spaces, dashes, dots, @) are kept so the shape stays readable:
    ``4111 1111 1111 1111`` becomes ``4111 **** **** 1111``. Values shorter than 8 characters
    are masked entirely.
    """
    clipped = value[:200]
    keep = 0 if len(clipped) < 8 else 2 if len(clipped) < 12 else 4
    middle = clipped[keep : len(clipped) - keep].translate(_MASK)
    if not middle.isascii() or any(not ch.isalnum() and ch not in _KEEP_SEPARATORS and ch != "*" for ch in middle):
        middle = "".join(ch if ch in _KEEP_SEPARATORS else "*" for ch in middle)
    return clipped[:keep] + middle + clipped[len(clipped) - keep :] + ("…" if len(value) > 200 else "")


def digest_value(value: str, key: bytes = DEFAULT_DIGEST_KEY) -> str:
    """Keyed hash (BLAKE2b MAC, 256 bits) of the value without separators, upper-cased.

    Equal values correlate across events of one key; without the key the digest reveals nothing.
    """
    normal = value.translate(_SEPARATORS).upper()
    mac = hashlib.blake2b(normal.encode("utf-8", "surrogatepass"), digest_size=32, key=key[:64])
    return mac.hexdigest()


_SEPARATORS = str.maketrans("", "", " -.()/\t")
