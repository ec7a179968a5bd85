"""Speed of reading ORC files (`rules.extract.orc`), beside pyarrow in the same run.

The table is `bench.parquet`'s (names, card numbers, integers, doubles, dates, timestamps,
decimals, a city), written by pyarrow's ORC writer (Apache ORC's C++ library) with each codec
and both file versions (0.11: integer RLE version 1; 0.12: version 2). For each: MB/s and rows/s
of our reader (every cell as text), and of pyarrow reading the same file and writing it as CSV
text (native code end to end), in the same run.

    .venv/bin/python -m bench.orc [--rows 200000]
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pyarrow as pa

from bench.parquet import compare
from rules.extract.orc import orc_content


def main() -> None:
    import pyarrow.orc as orc

    def files(content: pa.Table) -> Iterator[tuple[str, bytes]]:
        for codec, version in (("ZLIB", "0.12"), ("SNAPPY", "0.12"), ("ZSTD", "0.12"), ("LZ4", "0.12"),
                               ("UNCOMPRESSED", "0.12"), ("ZLIB", "0.11")):
            sink = io.BytesIO()
            orc.write_table(content, sink, compression=codec, file_version=version)
            yield f"{codec.lower()}, {version}", sink.getvalue()

    compare(__doc__, "bench.orc", "codec, version", files, lambda data, budget: orc_content(data, budget, "b.orc"),
            orc.read_table)


if __name__ == "__main__":
    main()
