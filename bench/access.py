"""Speed of reading Access databases (`rules.extract.access`), beside mdbtools and access_parser
in the same run.

Databases come from the tests' writer (`tests/rules/mdb_pack.py`): a customer table (names,
card numbers, dates, amounts, a memo of prose on one row in four, a few of them chained over
LVAL pages) and an order table of numbers. For each version and option: MB/s and rows/s of our
reader (every table's text), of `extract` on the whole file, of mdbtools' `mdb-export` (native;
one process a table, as a user would run it) and of access_parser (pure Python, like ours).

    .venv/bin/python -m bench.access [--rows 20000]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal

from bench.pst import best_of
from bench.rules_corpus import sentence
from rules.extract import Limits, extract
from rules.extract.access import access_content
from rules.extract.budget import Budget
from tests.rules.mdb_pack import Column, Table, mdb_pack


def tables(rows: int, seed: int) -> list[Table]:
    rng = random.Random(seed)
    people = [Column("Id", "long"), Column("Name", "text", 60), Column("Card number", "text", 20),
              Column("Born", "datetime"), Column("Balance", "currency"), Column("Notes", "memo")]
    start = datetime(1950, 1, 1)
    customers = [[n, sentence(rng, 2)[:60], str(rng.randint(4 * 10**15, 5 * 10**15 - 1)),
                  start + timedelta(days=rng.randint(0, 20_000)), Decimal(rng.randint(0, 10**9)) / 100,
                  sentence(rng, rng.randint(20, 900)) if n % 4 == 0 else None] for n in range(rows)]
    orders = [Column("Order", "long"), Column("Customer", "long"), Column("Amount", "double"),
              Column("Placed", "datetime")]
    order_rows = [[n, rng.randrange(rows), rng.random() * 1000, start + timedelta(days=rng.randint(0, 27_000))]
                  for n in range(rows * 2)]
    return [Table("Customers", people, customers), Table("Orders", orders, order_rows)]


def mdb_export_seconds(path: str, names: list[str]) -> float | None:
    if shutil.which("mdb-export") is None:
        return None

    def run() -> None:
        for name in names:
            subprocess.run(["mdb-export", path, name], check=True, stdout=subprocess.DEVNULL)

    return best_of(3, run)


def access_parser_seconds(path: str, names: list[str]) -> float | None:
    try:
        from access_parser import AccessParser
    except ImportError:
        return None

    def run() -> None:
        database = AccessParser(path)
        for name in names:
            database.parse_table(name)

    return best_of(1, run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    limits = Limits(max_entries=100_000, seconds=600)
    content = tables(args.rows, 7)
    names = [t.name for t in content]
    total_rows = sum(len(t.rows) for t in content)
    print(f"Access databases, {total_rows:,} rows in 2 tables (bench.access, {time.strftime('%Y-%m-%d %H:%M')})\n")
    print("| database | size | ours: tables | ours: extract | mdb-export | access_parser | ours / mdb-export |")
    print("|---|---|---|---|---|---|---|")
    for label, options in (("Jet 4 .mdb", {"version": "jet4"}), ("ACE 14 .accdb", {"version": "ace14"}),
                           ("Access 97 (Jet 3) .mdb", {"version": "jet3"}),
                           ("Jet 4, uncompressed text", {"version": "jet4", "compress_text": False}),
                           ("Jet 4, encoded (RC4 pages)", {"version": "jet4", "encode_key": 0x2468ACE1})):
        data, _ = mdb_pack(content, **options)
        mb = len(data) / 1e6
        read = best_of(3, lambda data=data: access_content(data, Budget(limits, len(data)), "b.mdb"))  # type: ignore[misc]
        whole = best_of(3, lambda data=data: extract(data, "b.mdb", limits=limits))  # type: ignore[misc]
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "b.mdb")
            with open(path, "wb") as handle:
                handle.write(data)
            theirs = mdb_export_seconds(path, names)
            pure = access_parser_seconds(path, names) if "encode_key" not in options else None
        print(f"| {label} | {mb:.1f} MB | {mb / read:.1f} MB/s, {total_rows / read:,.0f} rows/s | "
              f"{mb / whole:.1f} MB/s | {f'{mb / theirs:.1f} MB/s' if theirs else 'not installed'} | "
              f"{f'{mb / pure:.2f} MB/s' if pure else '-'} | {f'{theirs / read:.2f}x' if theirs else '-'} |")


if __name__ == "__main__":
    main()
