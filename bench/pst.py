"""Speed of reading Outlook data files (`rules.extract.pst`), beside libpst's `readpst` in the
same run.

Mailboxes come from the tests' writer (`tests/rules/pst_pack.py`): messages of prose with a few
attachments, in the three scramblings, and as Outlook 2013's offline cache of 4 KiB pages (plain
and with zlib-compressed blocks, which readpst does not inflate: its column says so). For each: MB/s and messages/s of our reader (every
message's text and attachments, not extracted further), of `extract` on the whole file (the
attachments read too: CSV and text here), and of `readpst -e` writing every message as an .eml
(process start included) in a temporary folder.

    .venv/bin/python -m bench.pst [--messages 2000]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.rules_corpus import sentence
from rules.extract import Limits, extract
from rules.extract.budget import Budget
from rules.extract.pst import pst_messages
from tests.rules.pst_pack import Attachment, Folder, Message, pst_bytes


def mailbox(messages: int, seed: int) -> list[Folder]:
    """Folders of messages: prose bodies of 1-8 KB, one in four with a CSV attachment."""
    rng = random.Random(seed)
    folders = [Folder(name) for name in ("Inbox", "Sent Items", "Projects", "Archive 2025")]
    for n in range(messages):
        body = "\n".join(sentence(rng, rng.randint(8, 30)) for _ in range(rng.randint(8, 60)))
        files = [Attachment(f"export-{n}.csv", data="".join(f"{r},{rng.randint(10**8, 10**9)},{sentence(rng, 4)}\n"
                                                            for r in range(rng.randint(50, 400))).encode())
                 ] if n % 4 == 0 else []
        rng.choice(folders).messages.append(Message(f"Re: {sentence(rng, 5)}", body=body, attachments=files,
                                                    sender_name="Ana", sender_address="ana@corp.example",
                                                    recipients=[("Bo", "bo@corp.example")]))
    return folders


def best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def readpst_seconds(pst: bytes) -> float | None:
    readpst = shutil.which("readpst")
    if readpst is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "a.pst"
        source.write_bytes(pst)

        def run() -> None:
            out = Path(folder) / f"out{time.perf_counter_ns()}"
            out.mkdir()
            subprocess.run([readpst, "-q", "-e", "-D", "-b", "-j", "0", "-o", str(out), str(source)], check=True)

        return best_of(3, run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    limits = Limits(max_entries=100_000)
    print(f"Outlook data files of {args.messages} messages (bench.pst, {time.strftime('%Y-%m-%d %H:%M')})\n")
    print("| file | size | ours: messages | ours: extract | readpst -e | ours / readpst |")
    print("|---|---|---|---|---|---|")
    folders = mailbox(args.messages, 7)
    variants: list[tuple[str, dict[str, object]]] = [
        ("Unicode, compressible", {"crypt": 1}), ("Unicode, high", {"crypt": 2}), ("Unicode, none", {"crypt": 0}),
        ("ANSI, compressible", {"unicode": False, "crypt": 1}), (".ost 4 KiB pages, compressible", {"crypt": 1, "four_k": True}),
        (".ost 4 KiB pages, zlib blocks", {"crypt": 0, "four_k": True, "compress": True})]
    for name, options in variants:
        pst = pst_bytes(folders, **options)  # type: ignore[arg-type]
        mb = len(pst) / 1e6
        read = best_of(3, lambda pst=pst: list(pst_messages(pst, Budget(limits, len(pst)), "b.pst")))  # type: ignore[misc]
        whole = best_of(3, lambda pst=pst: extract(pst, "b.pst", limits=limits))  # type: ignore[misc]
        theirs = None if options.get("compress") else readpst_seconds(pst)
        ratio = f"{theirs / read:.2f}x" if theirs else "-"
        print(f"| {name} | {mb:.1f} MB | {mb / read:.1f} MB/s, {args.messages / read:,.0f} msg/s | "
              f"{mb / whole:.1f} MB/s | {_theirs(mb, theirs, options)} | {ratio} |")


def _theirs(mb: float, seconds: float | None, options: dict[str, object]) -> str:
    if options.get("compress"):
        return "does not inflate such blocks"
    return f"{mb / seconds:.1f} MB/s" if seconds else "not installed"


if __name__ == "__main__":
    main()
