"""Authenticated 64-bit marks: who showed the screen, and when.

A mark is what the overlay carries on screen. It stands for (device, time slot) and is built so
that the pattern on screen reveals nothing and cannot be forged.

Construction
------------
``mark = E_k(plaintext)`` where ``E`` is a 64-bit pseudo-random permutation: a balanced Feistel
network with 10 rounds over two 32-bit halves whose round function is AES-256 (from
``cryptography``) keyed by the console's 32-byte mark secret ``k``. The 64-bit plaintext is::

    | check: 24 bits (zero) | device: 18 bits | slot: 22 bits |

* ``device`` 1 .. 262,143 (``MAX_DEVICE``), allocated by the console (0 is never issued);
* ``slot`` 0 .. 4,194,303: ``SLOT_SECONDS``-long windows counted from ``EPOCH`` (2020-01-01 UTC);
  with the default 10-minute slots that reaches the year 2099;
* ``check`` 24 zero bits of redundancy, verified after decryption.

Resolution is one decryption per (key id, secret): O(1) per key, independent of the number of
devices and slots, microseconds per mark.

Threat model
------------
* **Outsider decoding the pattern** (anyone holding a leaked image and the public decoder) learns
  the 64-bit mark, which is a PRP output: without ``k`` it is indistinguishable from random, so it
  reveals neither device nor time, and two marks of one device are unlinkable.
* **Insider dissecting their own agent.** Agents never hold ``k``. The console issues each agent a
  batch of (slot, mark) pairs ahead of time (``GET /api/v1/agents/marks``). A user who extracts the
  batch learns only their own marks; forging a mark that resolves to another device means guessing
  a valid ciphertext: each guess succeeds with probability at most
  ``|valid plaintexts| / 2^64 = 2^40 / 2^64 = 2^-24`` per secret, and the console sees each try
  as a trace request (it can also rate-limit resolve calls).
  A user can, of course, replay their *own* marks (show an old slot) or hide the overlay; that
  frames nobody else.
* **Corrupted or random decodes.** The on-screen channel carries its own CRC-32 and correlation
  threshold (``watermark.channel``), so a wrong 64-bit value reaches this module with probability
  about ``2^-32`` per decode attempt; it then resolves with probability ``2^-24`` per secret, i.e.
  about ``2^-56`` in total per secret and attempt.
* **Compromise of the console secret** breaks unlinkability and forgery resistance for the marks
  under that key id. Secrets are rotated by adding a new (key id, secret); old ones stay for
  resolving old leaks (``resolve_mark`` tries each). The console keeps them sealed under a master
  key file when it is given one (``console.signing``), so a copy of its database alone does not
  give them away.

Trade-off: more device or slot bits mean fewer check bits. 18 + 22 leaves 24 check bits, which
keeps forgery at ``2^-24`` per guess while allowing 262k devices for 79 years of 10-minute slots.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SLOT_SECONDS = 600
EPOCH = 1_577_836_800  # 2020-01-01T00:00:00Z
DEVICE_BITS = 18
SLOT_BITS = 22
CHECK_BITS = 64 - DEVICE_BITS - SLOT_BITS
MAX_DEVICE = (1 << DEVICE_BITS) - 1
MAX_SLOT = (1 << SLOT_BITS) - 1
SECRET_BYTES = 32
ROUNDS = 10
_MASK32 = 0xFFFFFFFF


@dataclass(frozen=True)
class MarkResolution:
    """A mark traced back: which console key, which device, which slot."""

    key_id: int
    device: int
    slot: int


def slot_for(unix_seconds: float, slot_seconds: int = SLOT_SECONDS) -> int:
    """The slot that contains ``unix_seconds``."""
    _check_slot_seconds(slot_seconds)
    slot = int((unix_seconds - EPOCH) // slot_seconds)
    if not 0 <= slot <= MAX_SLOT:
        raise ValueError(f"time {unix_seconds} is outside the mark slot range")
    return slot


def slot_window(slot: int, slot_seconds: int = SLOT_SECONDS) -> tuple[float, float]:
    """Unix start and end of ``slot``."""
    _check_slot_seconds(slot_seconds)
    start = float(EPOCH + slot * slot_seconds)
    return start, start + slot_seconds


def new_mark_secret() -> bytes:
    """A fresh console mark secret (the only function here that reads the OS RNG)."""
    return os.urandom(SECRET_BYTES)


def issue_mark(secret: bytes, device: int, slot: int) -> int:
    """The 64-bit mark for ``device`` in ``slot`` under ``secret`` (console side only)."""
    if not 1 <= device <= MAX_DEVICE:
        raise ValueError(f"device must be 1..{MAX_DEVICE}, got {device}")
    if not 0 <= slot <= MAX_SLOT:
        raise ValueError(f"slot must be 0..{MAX_SLOT}, got {slot}")
    plaintext = (device << SLOT_BITS) | slot
    return _feistel(_round_keys(secret), plaintext, decrypt=False)


def resolve_mark(secrets: Iterable[tuple[int, bytes]], mark: int) -> MarkResolution | None:
    """Which (key id, device, slot) issued ``mark``; None when no secret explains it."""
    if not 0 <= mark < 1 << 64:
        return None
    for key_id, secret in secrets:
        plaintext = _feistel(_round_keys(secret), mark, decrypt=True)
        if plaintext >> (DEVICE_BITS + SLOT_BITS):
            continue
        device = plaintext >> SLOT_BITS
        if device == 0:
            continue
        return MarkResolution(key_id=key_id, device=device, slot=plaintext & MAX_SLOT)
    return None


def _check_slot_seconds(slot_seconds: int) -> None:
    if slot_seconds <= 0:
        raise ValueError(f"slot_seconds must be positive, got {slot_seconds}")


def _round_keys(secret: bytes) -> Cipher[modes.ECB]:
    if len(secret) != SECRET_BYTES:
        raise ValueError(f"a mark secret is {SECRET_BYTES} bytes, got {len(secret)}")
    return Cipher(algorithms.AES(secret), modes.ECB())


def _feistel(cipher: Cipher[modes.ECB], block: int, *, decrypt: bool) -> int:
    """Balanced Feistel network, AES as the round function, domain-separated by round index."""
    left, right = block >> 32, block & _MASK32
    encryptor = cipher.encryptor()
    order = range(ROUNDS - 1, -1, -1) if decrypt else range(ROUNDS)
    if decrypt:
        left, right = right, left
    for index in order:
        message = b"lgmark\x01" + bytes([index]) + right.to_bytes(8, "big")
        f = int.from_bytes(encryptor.update(message)[:4], "big")
        left, right = right, left ^ f
    if decrypt:
        left, right = right, left
    return (left << 32) | right
