"""Download a package's source distribution from PyPI into a folder, for the sample checks
(`check_rar_samples.py`, `check_tnef_samples.py`): their test files are read, never kept."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path


def unpacked_sdist(package: str, version: str, scratch: str) -> Path:
    """The unpacked source tree of `package==version` under `scratch`."""
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                    "-d", scratch, f"{package}=={version}"], check=True)
    with tarfile.open(next(Path(scratch).glob(f"{package}-*.tar.gz"))) as sdist:
        sdist.extractall(scratch, filter="data")
    return next(p for p in Path(scratch).glob(f"{package}-*") if p.is_dir())
