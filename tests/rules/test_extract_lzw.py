""".Z files (`rules/extract/lzw.py`), written by the real `compress` (ncompress 4.2); under `tar -Z`
in test_extract_lz.py."""

from __future__ import annotations

import contextlib
import random
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.extract import Limits, extract
from rules.extract.budget import DEFAULT_LIMITS, Budget, Unscannable
from rules.extract.lzw import uncompress
from rules.extract.sniff import sniff
from tests.fixtures.realparts import require_binary

CARD = "4111 1111 1111 1111"
CSV = f"name,card\nAda,{CARD}\n".encode()


def compress(data: bytes, *options: str) -> bytes:
    binary = require_binary("compress", "ncompress")
    done = subprocess.run([binary, "-c", *options], input=data, capture_output=True, timeout=120)
    assert done.returncode in (0, 2), done.stderr  # 2: the output is no smaller than the input (still written)
    return done.stdout


def words(count: int, seed: int = 1, vocabulary: int = 3000) -> bytes:
    rng = random.Random(seed)
    pool = [bytes(rng.choice(b"abcdefghij") for _ in range(rng.randint(2, 9))) for _ in range(vocabulary)]
    return b" ".join(rng.choice(pool) for _ in range(count))


INPUTS = {
    "empty": b"",
    "one byte": b"a",
    "prose": words(200_000),
    "zeros": bytes(3_000_000),  # the longest strings the table can hold
    "random": random.Random(2).randbytes(300_000),  # codes no shorter than the input: every width
    # text, then noise, then other text: the ratio falls and compress clears its table (code 256)
    "shifting": words(400_000) + random.Random(3).randbytes(400_000) + words(400_000, seed=4, vocabulary=50),
}


@pytest.mark.parametrize("bits", [16, 13, 10])
@pytest.mark.parametrize("name", sorted(INPUTS))
def test_every_width_and_a_cleared_table_read_byte_for_byte(name: str, bits: int) -> None:
    data = INPUTS[name]
    packed = compress(data, f"-b{bits}")
    assert uncompress(packed, Budget(Limits(max_expanded_bytes=1 << 30), len(packed)), "x.Z") == data


def test_a_compressed_csv_is_found_under_its_own_name() -> None:
    packed = compress(CSV * 20_000)
    assert sniff(packed, "export.bin") == "Z"
    result = extract(packed, "customers.csv.Z")
    assert result.status == "ok", result.reason
    assert [p.path for p in result.parts] == ["customers.csv"]
    assert result.text.count(CARD) == 20_000


def test_a_bomb_stops_at_the_limit() -> None:
    packed = compress(bytes(100_000_000))  # about 100 kB
    result = extract(packed, "zeros.Z", limits=Limits(max_expanded_bytes=8 << 20))
    assert result.status == "unscannable" and "decompression bomb?" in (result.reason or "")


def test_damaged_streams_are_named() -> None:
    packed = compress(CSV * 2000)
    cut = extract(packed[: len(packed) // 2], "cut.csv.Z")
    assert cut.status == "ok" and CARD in cut.text  # LZW has no end marker: a cut stream is its first part
    bad = bytearray(packed)
    bad[40:60] = b"\xff" * 20  # codes far past the table
    result = extract(bytes(bad), "bad.csv.Z")
    assert result.status == "unscannable" and "corrupt .Z" in (result.reason or "")
    # 9-bit streams: ncompress's own uncompress and gzip reject them too (its encoder and decoder
    # disagree on when the width grows)
    nine = compress(words(20_000), "-b9")
    assert extract(nine, "nine.Z").status == "unscannable"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=12))
def test_random_damage_never_crashes(changes: list[tuple[int, int]]) -> None:
    if "packed" not in _PACKED:
        _PACKED["packed"] = compress(words(30_000))
    data = bytearray(_PACKED["packed"])
    for offset, value in changes:
        data[offset % len(data)] = value
    with contextlib.suppress(Unscannable):
        uncompress(bytes(data), Budget(DEFAULT_LIMITS, len(data)), "x.Z")


_PACKED: dict[str, bytes] = {}
