"""Cells of typed table data as a person reads them, shared by the readers of columnar and row
files (Parquet, ORC, Avro): a list of values formatted at once per column type, None for a value
that cannot be shown (the reader writes an empty cell).

- integers in decimal; true/false;
- a floating-point value with no fraction without one (an account number kept as a double),
  others to the type's precision (".7g" for 32 bits, ".15g" for 64);
- decimals exact at any precision, from their digits with the point put in;
- timestamps as `YYYY-MM-DD HH:MM:SS`, with `.ffffff` only where there are microseconds;
  dates as `YYYY-MM-DD`; outside years 1-9999, the number as stored;
- bytes as UTF-8 text, or nothing when they are not;
- a cell is kept on one line: tabs and line breaks inside become spaces.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import cast

import numpy as np

_EPOCH = datetime(1970, 1, 1)
FIRST_SECOND = -62_135_596_800  # 0001-01-01 00:00:00, in seconds from 1970 (Python's first datetime)
PAST_LAST_SECOND = 253_402_300_800  # 10000-01-01: one past Python's last datetime
_MAX_DECIMAL_BYTES = 1024  # 2,466 digits: more than any decimal type, and within Python's int-to-text limit


def texts(values: list[object]) -> list[str | None]:
    """UTF-8 text, None for what is not (or not bytes)."""
    try:
        return [v.decode("utf-8") for v in cast(list[bytes], values)]
    except (UnicodeDecodeError, AttributeError):
        return [text_of_bytes(v) for v in values]


def text_of_bytes(value: object) -> str | None:
    if not isinstance(value, bytes):
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return None


def floats(values: list[object], spec: str) -> list[str | None]:
    """Whole numbers without a fraction, others to the type's precision."""
    try:
        return [str(int(v)) if v.is_integer() and -1e17 < v < 1e17 else format(v, spec)
                for v in cast(list[float], values)]
    except (AttributeError, TypeError, ValueError):  # not floats: a damaged page's ints, say
        return [float_text(v, spec) for v in values]


def float_text(value: object, spec: str) -> str | None:
    if not isinstance(value, float):
        return None
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e17:
        return str(int(value))
    return format(value, spec)


def decimals(values: list[object], scale: int) -> list[str | None]:
    """Exact at any precision: the unscaled integer's digits with the point put in."""
    if not 0 <= scale <= 76:
        return [None] * len(values)
    out: list[str | None] = []
    for value in values:
        if isinstance(value, bytes):
            if len(value) > _MAX_DECIMAL_BYTES:
                out.append(None)
                continue
            value = int.from_bytes(value, "big", signed=True)
        if not isinstance(value, int):
            out.append(None)
            continue
        digits = str(-value if value < 0 else value)
        if scale:
            digits = digits.zfill(scale + 1)
            digits = f"{digits[:-scale]}.{digits[-scale:]}"
        out.append("-" + digits if value < 0 else digits)
    return out


def timestamps(values: list[object], per_second: int) -> list[str | None]:
    """ISO timestamps (microseconds only where there are some), a page at a time in numpy; a page
    with a value outside years 1-9999 (or not a number) value by value."""
    numbers = _in_range(values, FIRST_SECOND * per_second, PAST_LAST_SECOND * per_second)
    if numbers is None:
        return [timestamp(v, per_second) if isinstance(v, int) else None for v in values]
    if not len(numbers):
        return []
    micros = numbers * (10**6 // per_second) if per_second <= 10**6 else np.floor_divide(numbers, per_second // 10**6)
    shown = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")  # 2020-01-02T03:04:05.000006
    codes = shown.view(np.uint32).reshape(len(shown), -1)
    codes[:, 10] = ord(" ")
    codes[micros % 10**6 == 0, 19:] = 0  # whole seconds: the fraction cut (numpy drops trailing NULs)
    return cast(list[str | None], shown.tolist())


def dates(values: list[object]) -> list[str | None]:
    """ISO dates, a page at a time in numpy; a page with one outside years 1-9999, value by value."""
    days = _in_range(values, FIRST_SECOND // 86_400, PAST_LAST_SECOND // 86_400)
    if days is None:
        return [date_text(v) if isinstance(v, int) else None for v in values]
    return cast(list[str | None], np.datetime_as_string(days.astype("datetime64[D]")).tolist())


def _in_range(values: list[object], low: int, past: int) -> np.ndarray | None:
    """The values as int64s when every one is an integer in [low, past)."""
    try:
        numbers = np.array(values, dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        return None
    if numbers.ndim != 1 or (len(numbers) and (numbers.min() < low or numbers.max() >= past)):
        return None
    return numbers


def timestamp(value: int, per_second: int) -> str | None:
    seconds, fraction = divmod(value, per_second)
    micros = fraction * 10**6 // per_second
    try:
        moment = _EPOCH + timedelta(seconds=seconds, microseconds=micros)
    except OverflowError:
        return str(value)
    shown = moment.isoformat(" ")  # zero-padded years, unlike strftime's %Y on glibc
    return shown if len(shown) == 19 or moment.microsecond else shown[:19]


def date_text(days: int) -> str | None:
    try:
        return (date(1970, 1, 1) + timedelta(days=days)).isoformat()
    except OverflowError:
        return str(days)


def one_line(text: str) -> str:
    """A value on one line and in one cell: tabs and line breaks inside it become spaces."""
    if "\t" in text or "\n" in text or "\r" in text:
        return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return text
