"""Check `rules/extract/rar.py` against archives that WinRAR and RARLAB's `rar` wrote.

No program on this machine writes RAR, so the tests build their archives from the format
documents. This script checks the reader against real ones instead: the test files of the
`rarfile` package's source distribution (downloaded from PyPI into a temporary folder, not kept),
whose `.exp` files say what each archive holds. For every archive it compares the file names (in
order), which files are password-protected, and which are stored without compression; an
archive whose headers are encrypted must give "names hidden". Every archive that is neither
encrypted nor split must then be read whole: each compressed file decoded and matching the CRC-32
its header gives, except what the reader names as not read (RAR 1.5-2.0 compression; RAR 2.9's
PPMd blocks are read since 2026-12-07 (39)).

    .venv/bin/python scripts/check_rar_samples.py [--version 4.5]

Exit status 0 when every archive agrees.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

from sdist_samples import unpacked_sdist

from rules.extract.budget import Budget, EncryptedContent, Limits, Unscannable
from rules.extract.rar import RAR5, _Entry, _rar4_entries, _rar5_entries, rar_members


def expected(exp: str) -> list[tuple[str, bool, bool]]:
    """(name, encrypted, stored) of each file with content of its own that an `.exp` file lists."""
    files = []
    for block in re.split(r"\n(?=(?:R5_)?FILE:)", exp)[1:]:
        if not re.search(r"is=F", block) or "\n  redir:" in block:
            continue  # folders, links, hard links and copies of another file: no content of their own
        name = re.search(r"\n  name=(.*)", block)
        method = re.search(r"\b(?:cmp_)?meth=(\d+)", block)
        encrypted = "PASSWORD" in block or "\n  algo=" in block
        if name and method:
            files.append((name.group(1), encrypted, method.group(1) in ("0", "48")))
    return files


def ours(data: bytes) -> list[tuple[str, bool, bool]] | str:
    budget = Budget(Limits(), len(data))
    try:
        entries: list[_Entry] = (_rar5_entries if data.startswith(RAR5) else _rar4_entries)(data, budget, "a")
    except EncryptedContent:
        return "names hidden"
    except Unscannable as exc:
        return f"unscannable: {exc}"
    return [(e.name, e.encrypted, e.stored) for e in entries]


#: What the reader names instead of reading: RAR 1.5-2.0 compression.
KNOWN_LIMITS = re.compile(r"(RAR 1\.5-2\.0 compression is not read"
                          r"|follows a file that could not be read)")


def unpacked(data: bytes) -> str:
    """'' when every file of an archive is read (compressed ones checked by their CRC-32), or
    what was not read is one of `KNOWN_LIMITS`."""
    try:
        files = list(rar_members(data, Budget(Limits(), len(data)), "a"))
    except (EncryptedContent, Unscannable) as exc:
        reasons = re.split(r"; |: \d+ file\(s\) not read: ", str(exc))
        return "" if all(KNOWN_LIMITS.search(r) for r in reasons[1:]) else str(exc)
    return "" if files else "no file read"


def _unique(files: list[tuple[str, bool, bool]]) -> list[tuple[str, bool, bool]]:
    return list(dict.fromkeys(files))


def data_read(path: Path) -> bool:
    """Whether an archive should be read whole: not encrypted, not a volume, not empty."""
    skip = ("psw", "vols", "times2", "rar3-old")  # times2 holds one empty file; rar3-old is a volume
    return not any(word in path.name for word in skip)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", default="4.5", help="rarfile's version on PyPI")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = unpacked_sdist("rarfile", args.version, scratch) / "test" / "files"
        bad = 0
        archives = sorted(p for p in folder.glob("*.rar") if p.with_name(p.name + ".exp").exists())
        for path in archives:
            want = expected(path.with_name(path.name + ".exp").read_text(errors="replace"))
            got = ours(path.read_bytes())
            if "hpsw" in path.name:
                ok = got == "names hidden"
            elif "vols" in path.name or "old" in path.name:  # rarfile lists a volume set as a whole
                ok = isinstance(got, list) and {n for n, _, _ in got} <= {n.replace("\\", "/") for n, _, _ in want} | {
                    n for n, _, _ in got if n.startswith("vols/")}
            else:  # every version of a file is read; rarfile lists the last
                ok = isinstance(got, list) and _unique([(n.replace("\\", "/"), e, s) for n, e, s in want]) == _unique(
                    [(re.sub(r";\d+$", "", n), e, s) for n, e, s in got])
            if ok and data_read(path):
                problem = unpacked(path.read_bytes())
                ok = not problem
                got = problem or got
            bad += not ok
            print(f"{'ok ' if ok else 'BAD'} {path.name}: {len(want)} file(s)"
                  + ("" if ok else f"\n    expected {want}\n    read     {got}"))
        print(f"{len(archives) - bad} of {len(archives)} archives agree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
