"""`leakguard rules ...`: scan files, check and dry-run zone policies, manage fingerprints and EDM."""

from __future__ import annotations

import argparse
import sys

LEVELS = ("low", "medium", "high")


def _scan(args: argparse.Namespace) -> int:
    from leakguard import __version__
    from rules import cli_scan
    from rules.cli_store import scanner_from_args

    try:
        scanner = scanner_from_args(args)
    except (OSError, ValueError) as exc:
        print(f"leakguard rules scan: {exc}", file=sys.stderr)
        return 2
    return cli_scan.run(args, scanner, __version__)


def _check(args: argparse.Namespace) -> int:
    from rules.cli_policy import check

    return check(args.policies)


def _test(args: argparse.Namespace) -> int:
    from rules.cli_policy import dry_run

    return dry_run(args.policy, args.events, args.format)


def _store(args: argparse.Namespace) -> int:
    from rules import cli_store

    handler = getattr(cli_store, f"{args.rules_command}_{args.store_command}".replace("-", "_"))
    result: int = handler(args)
    return result


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= 256:
        raise argparse.ArgumentTypeError("between 0 (one per CPU) and 256")
    return value


def _add_scan(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scan = sub.add_parser("scan", help="scan files and folders for sensitive content",
                          description="Scan files, folders and archives. Exit 0: nothing found, 1: findings, "
                          "2: errors. Matched text is never printed, only redacted previews.")
    scan.add_argument("--format", choices=("text", "jsonl", "sarif"), default="text")
    scan.add_argument("--policy", metavar="POLICY.yaml", help="also use this policy's custom detectors and keywords")
    scan.add_argument("--detectors", metavar="ID,ID", help="only these detectors (default: all built-in)")
    scan.add_argument("--min-level", choices=LEVELS, default="low", help="report only findings at this level or above")
    scan.add_argument("--store", metavar="DIR", help="also match registered fingerprints and EDM indexes in DIR")
    scan.add_argument("--key-file", metavar="FILE", help="key for the findings' digests (default: built-in key)")
    scan.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS", help="time limit per file")
    scan.add_argument("--max-bytes", type=int, default=64 << 20, metavar="N",
                      help="size limit per file (disc and disk images are read through a memory map up to "
                           "--max-image-bytes)")
    scan.add_argument("--max-image-bytes", type=int, default=1 << 30, metavar="N",
                      help="size limit per disc or disk image: ISO, UDF, VHD, VHDX, VMDK, qcow2, raw disks")
    scan.add_argument("--no-ocr", action="store_true",
                      help="do not read images and scanned PDF pages with tesseract (images are then unscannable)")
    scan.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                      help="progress bar on stderr (auto: for 20 files or more)")
    scan.add_argument("--baseline", metavar="FINDINGS.jsonl",
                      help="report only findings not in this earlier `--format jsonl` output (same place, "
                      "detector and keyed hash of the value); exit 1 only for new ones")
    scan.add_argument("--exclude", action="append", metavar="PATTERN",
                      help="skip files and folders whose name or path below PATH matches (shell-style, "
                      "e.g. '.git', '*.log', 'build/*'); may be given more than once")
    scan.add_argument("--jobs", type=_jobs, default=0, metavar="N",
                      help="scan N files at once in worker processes (default 0: one per CPU, up to 8, "
                      "for 20 files or more); the output is in the same order whatever N is")
    scan.add_argument("paths", nargs="+", metavar="PATH")
    scan.set_defaults(handler=_scan)


def _add_store_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    store_help = "folder of the indexes (default: $XDG_DATA_HOME/leakguard or ~/.local/share/leakguard)"
    fingerprint = sub.add_parser("fingerprint", help="register confidential documents to detect copies of them")
    fp_sub = fingerprint.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    add = fp_sub.add_parser("add", help="register documents")
    add.add_argument("files", nargs="+", metavar="FILE")
    add.add_argument("--name", help="display name (default: the file name)")
    fp_sub.add_parser("list", help="list registered documents")
    remove = fp_sub.add_parser("remove", help="unregister documents")
    remove.add_argument("ids", nargs="+", metavar="ID")
    edm = sub.add_parser("edm", help="exact data match: index records from a CSV as salted hashes")
    edm_sub = edm.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    index = edm_sub.add_parser("index", help="index a CSV with a header row")
    index.add_argument("csv", metavar="CSV")
    index.add_argument("--name", help="index name (default: the CSV file name)")
    index.add_argument("--columns", help="comma-separated columns to index (default: all)")
    index.add_argument("--min-fields", type=int, default=2, help="fields of one record that must appear together")
    index.add_argument("--proximity", type=int, default=300, help="characters within which they must appear")
    edm_sub.add_parser("list", help="list EDM indexes")
    for parser in (add, remove, index, *[p for p in fp_sub.choices.values()], *edm_sub.choices.values()):
        if not any(a.dest == "store" for a in parser._actions):
            parser.add_argument("--store", metavar="DIR", help=store_help)
        parser.set_defaults(handler=_store)


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    _add_scan(sub)
    check = sub.add_parser("check", help="validate policy files (errors name file, line and field)")
    check.add_argument("policies", nargs="+", metavar="POLICY.yaml")
    check.set_defaults(handler=_check)
    test = sub.add_parser("test", help="dry run: show the verdict of a policy for each event of a JSONL file")
    test.add_argument("policy", metavar="POLICY.yaml")
    test.add_argument("events", metavar="EVENTS.jsonl")
    test.add_argument("--format", choices=("text", "jsonl"), default="text")
    test.set_defaults(handler=_test)
    _add_store_commands(sub)
