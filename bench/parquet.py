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

from bench.pst import best_of
from rules.extract import Limits
from rules.extract.budget import Budget
from rules.extract.parquet import parquet_content


def table(rows: int, seed: int):  # type: ignore[no-untyped-def]
    import pyarrow as pa

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


def pyarrow_seconds(data: bytes) -> float:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    def run() -> None:
        pacsv.write_csv(pq.read_table(io.BytesIO(data)), io.BytesIO())

    return best_of(3, run)


def main() -> None:
    import pyarrow.parquet as pq

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    limits = Limits(seconds=600, max_expanded_bytes=4 << 30)
    content = table(args.rows, 7)
    print(f"Parquet files of {args.rows:,} rows, 8 columns (bench.parquet, {time.strftime('%Y-%m-%d %H:%M')})\n")
    print("| codec, pages | size | ours | pyarrow to CSV | ours / pyarrow |")
    print("|---|---|---|---|---|")
    for codec, version in (("snappy", "1.0"), ("snappy", "2.0"), ("zstd", "2.0"), ("gzip", "1.0"), ("none", "1.0")):
        sink = io.BytesIO()
        pq.write_table(content, sink, compression=codec, data_page_version=version, row_group_size=100_000)
        data = sink.getvalue()
        mb = len(data) / 1e6
        ours = best_of(3, lambda data=data: parquet_content(data, Budget(limits, len(data)), "b.parquet"))  # type: ignore[misc]
        theirs = pyarrow_seconds(data)
        print(f"| {codec}, v{version} | {mb:.1f} MB | {mb / ours:.1f} MB/s, {args.rows / ours:,.0f} rows/s | "
              f"{mb / theirs:.1f} MB/s, {args.rows / theirs:,.0f} rows/s | {theirs / ours:.3f}x |")


if __name__ == "__main__":
    main()
