"""Sealing at rest under the console's master key: the private keys (`console.signing`) and the
evidence images cases keep (`console.tracing`).

The master key is a file of 32 random bytes (base64), made by `leakguard console master-key` and
given by `LEAKGUARD_MASTER_KEY_FILE` (or `--master-key-file`). A sealed value is a 4-byte tag
that says what it is, a 96-bit random nonce, and AES-256-GCM's ciphertext and tag, with
associated data that binds it to its place (a key's kind, an evidence image's case), so a sealed
value moved to another row does not open. Without a master key nothing is sealed.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import stat
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

MASTER_KEY_ENV = "LEAKGUARD_MASTER_KEY_FILE"
_NONCE, _TAG = 12, 16
SEALED_OVERHEAD = _NONCE + _TAG  # beside the 4-byte tag


class LockedKeys(Exception):
    """What this console cannot open: sealed under a master key it was not given (or under
    another one), or a master key file that is not one."""


def new_master_key(path: str) -> None:
    """Write a new master key (32 random bytes, base64) to `path`, readable by its owner only;
    never over an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(secrets.token_bytes(32)).decode("ascii") + "\n")


@lru_cache(maxsize=4)
def master_key(path: str | None) -> bytes | None:
    """The master key in the file at `path` (32 bytes, raw or base64); None without a path."""
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            raw = handle.read(1024)
            mode = os.fstat(handle.fileno()).st_mode
    except OSError as exc:
        raise LockedKeys(f"master key file {path}: {exc.strerror or exc}") from None
    if len(raw) != 32:
        try:
            raw = base64.b64decode(raw.strip(), validate=True)
        except ValueError:
            raw = b""
    if len(raw) != 32:
        raise LockedKeys(f"master key file {path}: not a master key (32 random bytes, or their base64)")
    if stat.S_IMODE(mode) & 0o077:
        log.warning("master key file %s can be read by others than its owner (chmod 600 it)", path)
    return raw


def current_master() -> bytes | None:
    """The master key this process was given, if any."""
    return master_key(os.environ.get(MASTER_KEY_ENV) or None)


def seal_bytes(tag: bytes, raw: bytes, context: bytes, master: bytes) -> bytes:
    nonce = secrets.token_bytes(_NONCE)
    return tag + nonce + AESGCM(master).encrypt(nonce, raw, context)


def open_bytes(tag: bytes, stored: bytes, context: bytes, what: str) -> bytes:
    """A sealed value opened with the master key given to this process."""
    master = current_master()
    if master is None:
        raise LockedKeys(f"{what} are sealed under a master key: give its file in {MASTER_KEY_ENV} "
                         "(or --master-key-file)")
    body = stored[len(tag):]
    try:
        return AESGCM(master).decrypt(body[:_NONCE], body[_NONCE:], context)
    except InvalidTag:
        raise LockedKeys(f"the master key in {os.environ.get(MASTER_KEY_ENV)} does not open {what} "
                         "(they were sealed under another one)") from None


EVIDENCE = b"LGE1"  # a sealed evidence image or thumbnail (an image never starts so)


def seal_evidence(case_id: int, part: str, raw: bytes, master: bytes | None = None) -> bytes:
    """An evidence image (`part` "data") or its thumbnail sealed under the master key given (or
    `master`); as it is without one."""
    master = master if master is not None else current_master()
    if master is None or not raw:
        return raw
    return seal_bytes(EVIDENCE, raw, f"leakguard evidence {case_id} {part}".encode(), master)


def open_evidence(case_id: int, part: str, stored: bytes) -> bytes:
    if not stored.startswith(EVIDENCE):
        return stored
    return open_bytes(EVIDENCE, stored, f"leakguard evidence {case_id} {part}".encode(), "evidence images")
