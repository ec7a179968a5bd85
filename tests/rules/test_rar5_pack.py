"""The RAR 5.0 writer for tests (`tests/rules/rar5_pack.py`), checked by a reader that is not ours.

Every archive here is extracted by The Unarchiver's `unar` (Debian package unar), which must give
back every file byte for byte. The encoder's stats show that each case really uses what it is
about (repeat symbols, length bonuses, reused tables, filters), so a passing test is not a file
that happened to come out as literals.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from tests.rules import rar5_pack
from tests.rules.rar5_pack import ARM, DELTA, E8, E8E9, Filter, PackOptions, PackStats
from tests.rules.samples import arm_like, unar_files, x86_like

PROSE = (b"The quarterly report lists every customer whose contract renews before March, with the "
         b"amounts owed and the account manager responsible for each. Managers confirm the figures "
         b"with finance before the report goes to the board. ") * 25


def _roundtrip(files: list[tuple[str, bytes]], tmp_path: Path, **options: Any) -> tuple[bytes, PackStats]:
    """The archive of `files` and its stats, once `unar` has given every file back."""
    stats = PackStats()
    archive = rar5_pack.archive(files, stats=stats, **options)
    assert unar_files(archive, tmp_path) == dict(files)
    return archive, stats


def _mixed(seed: int, size: int) -> bytes:
    """Noise and copies of earlier stretches from near and far, so every length bonus is needed."""
    rng = random.Random(seed)
    out = bytearray(rng.randbytes(2000))
    while len(out) < size:
        if rng.random() < 0.3:
            out += rng.randbytes(rng.randint(10, 400))
        else:
            back = rng.choice((rng.randint(1, 0x100), rng.randint(0x101, 0x2000), rng.randint(0x2001, 0x40000),
                               rng.randint(0x40001, 0x50000)))
            start = max(0, len(out) - back)
            out += out[start:start + rng.randint(3, 300)]
    return bytes(out[:size])


def _records(seed: int) -> bytes:
    """Fixed-size records (a constant header, then noise) and semicolon-separated rows: the same
    match again (symbol 257) and the four last distances (258-261)."""
    rng = random.Random(seed)
    records = b"".join(b"RECORD-HEADER-V2" + rng.randbytes(8) for _ in range(200))
    names, cities = ("Anna Schmidt", "Li Wei", "Jorge Ramos", "Fatima Zahra"), ("Berlin", "Lagos", "Quito")
    rows = "".join(f"{rng.choice(names)};{rng.randint(1000, 99999)};{rng.choice(cities)};{rng.choice(names)}\n"
                   for _ in range(300))
    return records + rows.encode()


def _samples(size: int, channels: int) -> bytes:
    """Interleaved slowly changing channels, as in audio or pixels: what delta filters are for."""
    return bytes((k * (c + 3) // 4 + 40 * c) & 0xFF for k in range(size // channels) for c in range(channels))


def test_prose_is_compressed(tmp_path: Path) -> None:
    archive, stats = _roundtrip([("report.txt", PROSE)], tmp_path)
    assert len(archive) < len(PROSE) // 10
    assert stats.bonuses[0] > 0


@pytest.mark.parametrize("matches", [True, False])
def test_noise_comes_back(matches: bool, tmp_path: Path) -> None:
    noise = random.Random(1).randbytes(30_000)
    _, stats = _roundtrip([("noise.bin", noise)], tmp_path, matches=matches)
    if not matches:
        assert max(stats.symbols) < 256 and stats.symbols.total() == len(noise)


def test_runs_of_one_byte_are_overlapping_matches(tmp_path: Path) -> None:
    data = b"\0" * 50_000 + b"x" * 7 + b"ab" * 3000 + b"\xff" * 4098
    archive, _ = _roundtrip([("runs.bin", data)], tmp_path)
    assert len(archive) < 300


def test_far_matches_use_every_length_bonus(tmp_path: Path) -> None:
    data = _mixed(2, 280_000)
    _, stats = _roundtrip([("mixed.bin", data)], tmp_path, dict_log=3)
    assert all(stats.bonuses[bonus] > 0 for bonus in (0, 1, 2, 3)), stats.bonuses


def test_an_empty_file_and_one_byte(tmp_path: Path) -> None:
    _, stats = _roundtrip([("empty.txt", b""), ("one.txt", b"1")], tmp_path)
    assert stats.blocks == 1  # the empty file has no packed data


def test_the_repeat_symbols(tmp_path: Path) -> None:
    _, stats = _roundtrip([("records.bin", _records(3))], tmp_path)
    assert all(stats.symbols[symbol] > 0 for symbol in (257, 258, 259, 260, 261)), stats.symbols


def test_without_repeat_symbols(tmp_path: Path) -> None:
    _, stats = _roundtrip([("records.bin", _records(3))], tmp_path, repeats=False)
    assert not any(stats.symbols[symbol] for symbol in (257, 258, 259, 260, 261))


@pytest.mark.parametrize("new_tables", [False, True])
def test_many_blocks_with_and_without_new_tables(new_tables: bool, tmp_path: Path) -> None:
    options: PackOptions = {"block_size": 4096, "new_tables_every_block": new_tables}
    _, stats = _roundtrip([("mixed.bin", _mixed(4, 60_000)), ("report.txt", PROSE)], tmp_path, **options)
    assert stats.blocks > 10
    assert stats.table_blocks == (stats.blocks if new_tables else 2 + stats.trailer_blocks)


def test_a_tables_only_last_block_keeps_unar_from_reading_past_the_data(tmp_path: Path) -> None:
    """A 1-bit code last, in a table whose longest code is 10 bits or more: unar would peek past
    the packed data and fail ("Attempted to read more data than was available")."""
    data = b"a" * 3000 + bytes(range(256))
    _, stats = _roundtrip([("skewed.bin", data)], tmp_path, matches=False)
    assert stats.trailer_blocks == 1


FILTERED: dict[str, tuple[bytes, list[Filter]]] = {
    "delta 1": (_samples(20_000, 1), [Filter(100, 15_000, DELTA)]),
    "delta 3": (_samples(30_000, 3), [Filter(0, 30_000, DELTA, 3)]),
    "E8": (x86_like(40_000), [Filter(0, 20_000, E8), Filter(25_000, 15_000, E8)]),
    "E8E9": (x86_like(40_000), [Filter(16, 39_984, E8E9)]),
    "ARM": (arm_like(40_000), [Filter(0, 40_000, ARM)]),
    "all kinds, back to back": (x86_like(12_000) + arm_like(8000) + _samples(9000, 2),
                                [Filter(0, 6000, E8), Filter(6000, 6000, E8E9), Filter(12_000, 8000, ARM),
                                 Filter(20_000, 9000, DELTA, 2)]),
}


@pytest.mark.parametrize("case", FILTERED)
def test_filters(case: str, tmp_path: Path) -> None:
    data, filters = FILTERED[case]
    _, stats = _roundtrip([("program.bin", data)], tmp_path, filters={"program.bin": filters})
    assert stats.symbols[256] == len(filters)


def test_filters_transform_what_is_stored() -> None:
    data = x86_like(5000)
    assert rar5_pack.pack(data, filters=[Filter(0, 5000, E8)]) != rar5_pack.pack(data)


def test_overlapping_filters_are_refused() -> None:
    with pytest.raises(ValueError, match="overlaps"):
        rar5_pack.pack(bytes(100), filters=[Filter(0, 50, DELTA), Filter(40, 20, DELTA)])


@pytest.mark.parametrize("new_tables", [False, True])
def test_a_solid_archive_matches_into_the_files_before(new_tables: bool, tmp_path: Path) -> None:
    base = _mixed(5, 60_000)
    files = [("a.bin", base), ("b.bin", base[1000:40_000] + b"new"), ("c.txt", b"card,4111\n" + base[:9000])]
    archive, stats = _roundtrip(files, tmp_path, solid=True, new_tables_every_block=new_tables)
    alone = rar5_pack.archive(files[:1])
    assert len(archive) < len(alone) + 1000  # the later files are a few matches into the first
    if not new_tables:
        assert stats.table_blocks == 1 + stats.trailer_blocks  # and reuse its tables


def test_names_with_directories_and_non_ascii(tmp_path: Path) -> None:
    files = [("Berichte/Q3 Übersicht.txt", PROSE[:700]), ("报告.txt", "姓名,金额\n张三,100\n".encode()),
             ("报告/客户/list.csv", b"id,name\n1,x\n")]
    _roundtrip(files, tmp_path)
