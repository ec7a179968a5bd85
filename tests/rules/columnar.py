"""What the suites of the columnar readers (Parquet, ORC) share: test card numbers, the cells both
write alike, a wide table, and the peak memory of a read."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import pyarrow as pa

CARDS = ["4111111111111111", "5500000000000004", "340000000000009", "6011000000000004"]


def plain_cell(value: Any, kind: pa.DataType) -> str | None:
    """The cells every columnar reader writes alike (null, true/false, floating point: a whole
    number below 1e17 without a fraction, else to its type's precision); None for other kinds."""
    if value is None:
        return ""
    if pa.types.is_boolean(kind):
        return "true" if value else "false"
    if pa.types.is_floating(kind):
        spec = ".7g" if kind == pa.float32() else ".15g"
        return str(int(value)) if value.is_integer() and abs(value) < 1e17 else format(value, spec)
    return None


def wide(names: Callable[[int], str]) -> tuple[pa.Table, dict[str, list[str]]]:
    """200 integer columns of 3 rows, and the cells each must read as."""
    columns = {names(i): pa.array([r * 1000 + i for r in range(3)], pa.int64()) for i in range(200)}
    return pa.table(columns), {name: [str(r * 1000 + i) for r in range(3)] for i, name in enumerate(columns)}


def peak_while(read: Callable[[], Any]) -> tuple[Any, int]:
    """What `read` returns, and the peak of Python's traced memory while it ran."""
    tracemalloc.start()
    try:
        return read(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
