"""Consistent online backups: SQLite's backup API, or pg_dump for PostgreSQL."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess


class BackupError(RuntimeError):
    pass


def backup_database(url: str, out: str) -> None:
    if url.startswith("sqlite:///"):
        _backup_sqlite(url[len("sqlite:///"):], out)
    elif url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        _backup_postgres(url.replace("postgresql+psycopg://", "postgresql://"), out)
    else:
        raise BackupError(f"cannot back up {url!r}: use sqlite:///PATH or postgresql://...")


def _backup_sqlite(path: str, out: str) -> None:
    if not os.path.exists(path):
        raise BackupError(f"no SQLite database at {path}")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = sqlite3.connect(out)
    try:
        with target:
            source.backup(target)
    finally:
        source.close()
        target.close()


def _backup_postgres(url: str, out: str) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump not found (Debian package postgresql-client)")
    result = subprocess.run([pg_dump, "--format=custom", f"--file={out}", url], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[:500]}")
