"""The one `leakguard` command line.

Each area of the product owns its subcommand in its own `cli.py`; this module only lists them
in one table and dispatches. Sub-CLIs import heavy libraries inside their handlers, so that
`leakguard --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from leakguard import __version__

#: (subcommand, module with a `register(subparsers)` function, one-line help)
SUBCOMMANDS: tuple[tuple[str, str, str], ...] = (
    ("watermark", "watermark.cli", "render the invisible screen watermark overlay for a mark"),
    ("trace", "leakguard.trace", "recover the watermark mark from leaked screenshots or photos"),
    ("rules", "rules.cli", "scan files with the content detectors; check and test zone policies"),
    ("console", "console.cli", "run the management console server and administer it"),
    ("agent", "agent.cli", "enroll this PC and run the endpoint agent"),
    ("demo", "leakguard.demo", "start a console, an enrolled agent and its overlay to try leakguard"),
)

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leakguard",
        description="Data-leakage prevention: block, detect and trace leaks across low, medium "
        "and high confidentiality zones.",
    )
    parser.add_argument("--version", action="version", version=f"leakguard {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name, help_text in SUBCOMMANDS:
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "--help"])
        return 2
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
