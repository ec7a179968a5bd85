"""Speed of reading Parquet files (`rules.extract.parquet`), beside pyarrow in the same run.

Files are written by pyarrow (Apache Arrow's C++ writer, what pandas and most data tools use): a
customer table of names, card numbers, integers, doubles, dates, timestamps, decimals and a
low-cardinality city column, in row groups of 100,000 rows. For each codec and page version:
MB/s and rows/s of our reader (every cell as text), and of pyarrow reading the same file and
writing it as CSV text (native code end to end), in the same run.

    .venv/bin/python -m bench.parquet [--rows 200000]
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import io
import random
import time
from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa

from bench.pst import best_of
from rules.extract import Limits
from rules.extract.budget import Budget
from rules.extract.parquet import parquet_content


def table(rows: int, seed: int) -> pa.Table:
    rng = random.Random(seed)
    start = datetime.datetime(2020, 1, 1)
    return pa.table({
        "customer": [f"Customer {n}" for n in range(rows)],
        "card_number": [str(4 * 10**15 + rng.randrange(10**15)) for _ in range(rows)],
        "account": pa.array([rng.randrange(10**8, 10**10) if n % 7 else None for n in range(rows)], pa.int64()),
        "score": [rng.random() for _ in range(rows)],
        "born": pa.array([datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(25_000))
                          for _ in range(rows)], pa.date32()),
        "seen": pa.array([start + datetime.timedelta(seconds=rng.randrange(10**8)) for _ in range(rows)],
                         pa.timestamp("us")),
        "balance": pa.array([decimal.Decimal(rng.randrange(-10**9, 10**9)) / 100 for _ in range(rows)],
                            pa.decimal128(12, 2)),
        "city": [rng.choice(["Paris", "London", "Berlin", "Madrid", "Rome", "Oslo"]) for _ in range(rows)],
    })


def compare(doc: str, module: str, label: str, files: Callable[[pa.Table], Iterable[tuple[str, bytes]]],
            ours: Callable[[bytes, Budget], object], theirs: Callable[[io.BytesIO], pa.Table]) -> None:
    """The bench's table: a row per file made from the customer table by `files`, with our reader's
    MB/s and rows/s and pyarrow's reading the same file (`theirs`) and writing it as CSV, best of
    3 each."""
    import pyarrow.csv as pacsv

    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    rows = parser.parse_args().rows
    limits = Limits(seconds=600, max_expanded_bytes=4 << 30)
    title = doc.split()[3]  # "Speed of reading Parquet files ..."
    print(f"{title} files of {rows:,} rows, 8 columns ({module}, {time.strftime('%Y-%m-%d %H:%M')})\n")
    print(f"| {label} | size | ours | pyarrow to CSV | ours / pyarrow |")
    print("|---|---|---|---|---|")
    for name, data in files(table(rows, 7)):
        mb = len(data) / 1e6
        mine = best_of(3, lambda data=data: ours(data, Budget(limits, len(data))))  # type: ignore[misc]
        native = best_of(3, lambda data=data: pacsv.write_csv(theirs(io.BytesIO(data)), io.BytesIO()))  # type: ignore[misc]
        print(f"| {name} | {mb:.1f} MB | {mb / mine:.1f} MB/s, {rows / mine:,.0f} rows/s | "
              f"{mb / native:.1f} MB/s, {rows / native:,.0f} rows/s | {native / mine:.3f}x |")


def main() -> None:
    import pyarrow.parquet as pq

    def files(content: pa.Table) -> Iterator[tuple[str, bytes]]:
        for codec, version in (("snappy", "1.0"), ("snappy", "2.0"), ("zstd", "2.0"), ("gzip", "1.0"), ("none", "1.0")):
            sink = io.BytesIO()
            pq.write_table(content, sink, compression=codec, data_page_version=version, row_group_size=100_000)
            yield f"{codec}, v{version}", sink.getvalue()

    compare(__doc__, "bench.parquet", "codec, pages", files,
            lambda data, budget: parquet_content(data, budget, "b.parquet"), pq.read_table)


if __name__ == "__main__":
    main()
