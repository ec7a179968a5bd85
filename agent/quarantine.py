"""The encrypted local quarantine: blocked files are moved off the device into it.

Each item is AES-256-GCM encrypted with a key kept in the state directory (mode 0600); the item id
is the associated data, so items cannot be swapped. An admin lists and releases items with
`leakguard agent quarantine list|release`.
"""

from __future__ import annotations

import errno
import hashlib
import json
import pathlib
import secrets
import time
from dataclasses import asdict, dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agent.state import write_atomic


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
        """Encrypt `path` into the quarantine, then delete the original."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = path.read_bytes()
        item = QuarantineItem(
            id=item_id or secrets.token_hex(8), original_path=str(path), size=len(data),
            sha256=hashlib.sha256(data).hexdigest(), quarantined_at=time.time(), event_id=event_id,
        )
        nonce = secrets.token_bytes(12)
        sealed = nonce + AESGCM(self._key()).encrypt(nonce, data, item.id.encode())
        write_atomic(self.directory / f"{item.id}.bin", sealed, mode=0o600)
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
        sealed = (self.directory / f"{item.id}.bin").read_bytes()
        try:
            data = AESGCM(self._key()).decrypt(sealed[:12], sealed[12:], item.id.encode())
        except Exception as exc:
            raise QuarantineError(f"quarantine item {item_id} is damaged or the key is wrong") from exc
        target = to or pathlib.Path(item.original_path)
        if target.is_dir():
            target = target / pathlib.Path(item.original_path).name
        if target.exists():
            raise QuarantineError(f"{target} exists; give another destination with --to")
        write_atomic(target, data, mode=0o600)
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


def file_sha256(path: pathlib.Path, *, limit: int) -> tuple[bytes, str]:
    """Read at most `limit` bytes of a file and hash them."""
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"{path} is larger than {limit} bytes")
    return data, hashlib.sha256(data).hexdigest()
