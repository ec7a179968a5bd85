"""The encrypted local quarantine: blocked files are moved off the device into it.

Each item is AES-256-GCM encrypted with a key kept in the state directory (mode 0600), in chunks
of 1 MiB so that a file of any size is captured and released in constant memory: each chunk is
sealed with its own nonce (a random prefix and the chunk's number) and, as associated data, the
item id, the chunk's number and whether it is the last, so items cannot be swapped and chunks
cannot be reordered, dropped or cut off at the end unnoticed. Items of the first format (one GCM
message over the whole file) are still released. An admin lists and releases items with
`leakguard agent quarantine list|release`.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pathlib
import secrets
import struct
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agent.state import write_atomic, write_atomic_chunks

#: The chunked format: this magic, an 8-byte nonce prefix and the chunk size, then each chunk's
#: ciphertext and tag.
_MAGIC = b"LGQ2"
CHUNK = 1 << 20
_TAG = 16


class QuarantineError(Exception):
    """An item is missing, damaged, or cannot be restored."""


@dataclass(frozen=True)
class QuarantineItem:
    id: str
    original_path: str
    size: int
    sha256: str
    quarantined_at: float
    event_id: str | None


class Quarantine:
    def __init__(self, directory: pathlib.Path, key_path: pathlib.Path) -> None:
        self.directory = directory
        self.key_path = key_path

    def _key(self) -> bytes:
        if not self.key_path.exists():
            write_atomic(self.key_path, secrets.token_bytes(32), mode=0o600)
        key = self.key_path.read_bytes()
        if len(key) != 32:
            raise QuarantineError(f"{self.key_path} is not a 32-byte key")
        return key

    def capture(self, path: pathlib.Path, *, event_id: str | None = None, item_id: str | None = None) -> QuarantineItem:
        """Encrypt `path` into the quarantine, a chunk at a time, then delete the original."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        item_id = item_id or secrets.token_hex(8)
        digest, counted = hashlib.sha256(), [0]
        with path.open("rb") as handle:
            write_atomic_chunks(self.directory / f"{item_id}.bin",
                                _sealed(handle, AESGCM(self._key()), item_id, digest, counted), mode=0o600)
        item = QuarantineItem(id=item_id, original_path=str(path), size=counted[0], sha256=digest.hexdigest(),
                              quarantined_at=time.time(), event_id=event_id)
        write_atomic(self.directory / f"{item.id}.json", json.dumps(asdict(item)).encode(), mode=0o600)
        path.unlink()
        return item

    def items(self) -> list[QuarantineItem]:
        found = []
        for meta in sorted(self.directory.glob("*.json")):
            try:
                found.append(QuarantineItem(**json.loads(meta.read_text())))
            except (OSError, ValueError, TypeError):
                continue
        return sorted(found, key=lambda item: item.quarantined_at)

    def release(self, item_id: str, *, to: pathlib.Path | None = None) -> pathlib.Path:
        """Decrypt an item back to its original place (or `to`) and drop it from the quarantine."""
        item = self._item(item_id)
        target = to or pathlib.Path(item.original_path)
        if target.is_dir():
            target = target / pathlib.Path(item.original_path).name
        if target.exists():
            raise QuarantineError(f"{target} exists; give another destination with --to")
        aead = AESGCM(self._key())
        with (self.directory / f"{item.id}.bin").open("rb") as handle:
            write_atomic_chunks(target, _opened(handle, aead, item), mode=0o600)
        for suffix in (".bin", ".json"):
            (self.directory / f"{item.id}{suffix}").unlink(missing_ok=True)
        return target

    def _item(self, item_id: str) -> QuarantineItem:
        if not item_id.isalnum():
            raise QuarantineError(f"no quarantine item {item_id!r}")
        try:
            return QuarantineItem(**json.loads((self.directory / f"{item_id}.json").read_text()))
        except FileNotFoundError as exc:
            raise QuarantineError(f"no quarantine item {item_id!r}") from exc
        except (OSError, ValueError, TypeError) as exc:
            raise QuarantineError(f"quarantine item {item_id} metadata is damaged") from exc


def _aad(item_id: str, index: int, last: bool) -> bytes:
    return item_id.encode() + struct.pack(">I?", index, last)


def _sealed(handle: BinaryIO, aead: AESGCM, item_id: str, digest: hashlib._Hash, counted: list[int]) -> Iterator[bytes]:
    """The chunked format of what `handle` reads, one chunk read ahead so that the last is known."""
    prefix = secrets.token_bytes(8)
    yield _MAGIC + prefix + struct.pack(">I", CHUNK)
    chunk, index = handle.read(CHUNK), 0
    while True:
        following = handle.read(CHUNK) if len(chunk) == CHUNK else b""
        digest.update(chunk)
        counted[0] += len(chunk)
        yield aead.encrypt(prefix + struct.pack(">I", index), chunk, _aad(item_id, index, not following))
        if not following:
            return
        chunk, index = following, index + 1


def _opened(handle: BinaryIO, aead: AESGCM, item: QuarantineItem) -> Iterator[bytes]:
    """The plaintext of an item, a chunk at a time, checked against its recorded hash at the end;
    `QuarantineError` for a damaged item or a wrong key (the target is then not written)."""
    damaged = QuarantineError(f"quarantine item {item.id} is damaged or the key is wrong")
    head = handle.read(len(_MAGIC) + 12)
    digest = hashlib.sha256()
    try:
        if head[: len(_MAGIC)] != _MAGIC:  # the first format: one GCM message
            sealed = head + handle.read()
            pieces = iter([aead.decrypt(sealed[:12], sealed[12:], item.id.encode())])
        else:
            prefix, size = head[4:12], struct.unpack(">I", head[12:16])[0]
            pieces = _chunks(handle, aead, item.id, prefix, size)
        for piece in pieces:
            digest.update(piece)
            yield piece
    except Exception as exc:
        raise damaged from exc
    if digest.hexdigest() != item.sha256:
        raise damaged


def _chunks(handle: BinaryIO, aead: AESGCM, item_id: str, prefix: bytes, size: int) -> Iterator[bytes]:
    if not 0 < size <= 1 << 30:
        raise ValueError("bad chunk size")
    sealed, index = handle.read(size + _TAG), 0
    while True:
        following = handle.read(size + _TAG)
        yield aead.decrypt(prefix + struct.pack(">I", index), sealed, _aad(item_id, index, not following))
        if not following:
            return
        sealed, index = following, index + 1


def streamed_sha256(path: pathlib.Path) -> tuple[int, str]:
    """The size and SHA-256 of a file of any size, read a chunk at a time."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def file_sha256(path: pathlib.Path, *, limit: int) -> tuple[bytes, str]:
    """Read at most `limit` bytes of a file and hash them; a file larger than that is refused by
    its size before anything is read (EFBIG), or, grown while it was read, after `limit` + 1 bytes."""
    with path.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size > limit:
            raise OSError(errno.EFBIG, f"{path} is larger than {limit} bytes")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"{path} is larger than {limit} bytes")
    return data, hashlib.sha256(data).hexdigest()
