"""Check `rules/extract/tnef.py` against TNEF streams Outlook and Exchange wrote.

Nothing on this machine writes `winmail.dat`, so the tests build their streams from [MS-OXTNEF].
This script checks the reader against real ones: the example files of the `tnefparse` package's
source distribution (downloaded from PyPI into a temporary folder, not kept), whose test module
lists each file's attachments and the kind of body it carries. For every file it compares the
attachments' names, in order, and that a body was read where one is listed.

    .venv/bin/python scripts/check_tnef_samples.py [--version 1.4.0]

Exit status 0 when every file agrees.
"""

from __future__ import annotations

import argparse
import ast
import sys
import tempfile

from sdist_samples import unpacked_sdist

from rules.extract.budget import Budget, Limits
from rules.extract.tnef import tnef_content


def expectations(test_module: str) -> list[tuple[str, list[str], str | None]]:
    """(file, attachment names, body kind) from the SPECS table of tnefparse's test_decoding.py."""
    tree = ast.parse(test_module)
    specs = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                 and any(isinstance(t, ast.Name) and t.id == "SPECS" for t in node.targets))
    return [(row[0], list(row[2]), row[3]) for row in ast.literal_eval(specs)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", default="1.4.0", help="tnefparse's version on PyPI")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = unpacked_sdist("tnefparse", args.version, scratch)
        specs = expectations((root / "tests" / "test_decoding.py").read_text())
        bad = 0
        for name, attachments, body in specs:
            data = (root / "tests" / "examples" / name).read_bytes()
            text, files, problems = tnef_content(data, Budget(Limits(), len(data)), name)
            got = [n for n, _ in files]
            read_body = bool(text.partition("\n\n")[2].strip() if text.startswith("Subject: ") else text.strip())
            ok = got == attachments and (body is None or read_body)
            bad += not ok
            print(f"{'ok ' if ok else 'BAD'} {name}: {len(got)} attachment(s), body {body or '-'}"
                  + (f", {len(text)} characters" if body else "") + (f"; {problems[0]}" if problems else "")
                  + ("" if ok else f"\n    expected {attachments}\n    read     {got}"))
        print(f"{len(specs) - bad} of {len(specs)} files agree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
