"""The agent's state directory: one place for every file of one agent.

Files the overlay process reads are replaced atomically (write a temporary file, fsync, rename),
so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SYSTEM_STATE_DIR = pathlib.Path("/var/lib/leakguard")


def default_state_dir() -> pathlib.Path:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return SYSTEM_STATE_DIR
    base = os.environ.get("XDG_STATE_HOME") or str(pathlib.Path.home() / ".local" / "state")
    return pathlib.Path(base) / "leakguard"


@dataclass(frozen=True)
class StateDir:
    """Names of the files kept in one agent's state directory."""

    root: pathlib.Path

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None) -> StateDir:
        root = pathlib.Path(path).expanduser() if path else default_state_dir()
        root.mkdir(parents=True, exist_ok=True, mode=0o711)  # users reach the socket, not the files
        return cls(root.resolve())

    @property
    def credentials(self) -> pathlib.Path:
        return self.root / "credentials.json"

    @property
    def policy(self) -> pathlib.Path:
        return self.root / "policy.json"

    @property
    def spool(self) -> pathlib.Path:
        return self.root / "spool.sqlite"

    @property
    def quarantine(self) -> pathlib.Path:
        return self.root / "quarantine"

    @property
    def quarantine_key(self) -> pathlib.Path:
        return self.root / "quarantine.key"

    @property
    def digest_key(self) -> pathlib.Path:
        """Keys the hashes of matched values, so a hash names a value on this PC only."""
        return self.root / "digest.key"

    @property
    def marks(self) -> pathlib.Path:
        return self.root / "marks.json"

    @property
    def overlay(self) -> pathlib.Path:
        return self.root / "overlay.json"

    @property
    def socket(self) -> pathlib.Path:
        return self.root / "agent.sock"

    @property
    def pid_file(self) -> pathlib.Path:
        return self.root / "agent.pid"

    @property
    def run_marker(self) -> pathlib.Path:
        """Present while the service runs; left behind by a crash or `kill -9`."""
        return self.root / "running"

    @property
    def status(self) -> pathlib.Path:
        return self.root / "status.json"

    @property
    def log(self) -> pathlib.Path:
        return self.root / "agent.log"


def write_atomic(path: pathlib.Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace `path` with `data` so that readers see the old or the new file, never a mix."""
    write_atomic_chunks(path, (data,), mode=mode)


def write_atomic_chunks(path: pathlib.Path, chunks: Iterable[bytes], *, mode: int = 0o644) -> None:
    """`write_atomic` of what `chunks` yields, one chunk in memory at a time; if the iterable
    raises, `path` is left as it was."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: pathlib.Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json(path: pathlib.Path, value: Any, *, mode: int = 0o644) -> None:
    write_atomic(path, json.dumps(value, indent=1, sort_keys=True).encode(), mode=mode)


def read_json(path: pathlib.Path) -> Any | None:
    """The JSON in `path`, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def load_or_create_key(path: pathlib.Path, size: int = 32) -> bytes:
    """A random key kept in `path` (mode 0600), created on first use."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = os.urandom(size)
        write_atomic(path, key, mode=0o600)
    return key
