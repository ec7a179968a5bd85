"""The RAR 4.x writer for tests (`tests/rules/rar4_pack.py`), checked by a reader that is not ours.

Every archive here is extracted by The Unarchiver's `unar` (Debian package unar), which must give
back every file byte for byte. The encoder's stats show that each case really uses what it is
about (each kind of match, the length bonuses, the low distance repeat, table changes, tables
carried across solid files), so a passing test is not a file that happened to come out as literals.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from tests.rules import rar4_pack
from tests.rules.rar4_pack import LOW_REPEAT, PackOptions, PackStats
from tests.rules.samples import unar_files

PROSE = (b"The quarterly report lists every customer whose contract renews before March, with the "
         b"amounts owed and the account manager responsible for each. Managers confirm the figures "
         b"with finance before the report goes to the board. ") * 25
OLD_DISTANCES = range(259, 263)
SHORT_DISTANCES = range(263, 271)


def _roundtrip(files: list[tuple[str, bytes]], tmp_path: Path, **options: Any) -> tuple[bytes, PackStats]:
    """The archive of `files` and its stats, once `unar` has given every file back."""
    stats = PackStats()
    archive = rar4_pack.archive(files, stats=stats, **options)
    assert unar_files(archive, tmp_path) == dict(files)
    return archive, stats


def _far(seed: int, size: int) -> bytes:
    """Noise and copies from near and far (past 8 KiB and 256 KiB, where matches grow a length
    bonus), half of them from a distance whose low four bits are 0, so those bits repeat."""
    rng = random.Random(seed)
    out = bytearray(rng.randbytes(2000))
    while len(out) < size:
        if rng.random() < 0.3:
            out += rng.randbytes(rng.randint(10, 400))
            continue
        ranges = [(low, high) for low, high in ((1, 0x100), (0x101, 0x2000), (0x2001, 0x40000), (0x40001, 0x50000))
                  if low < len(out)]
        low, high = rng.choice(ranges)
        back = rng.randint(low, min(high, len(out)))
        if back > 32 and rng.random() < 0.5:
            back -= (back - 1) % 16
        out += out[len(out) - back:][:rng.randint(3, 300)]
    return bytes(out[:size])


def _records(seed: int) -> bytes:
    """Fixed-size records (a constant header, then noise) and semicolon-separated rows: the same
    match again (258), the four last distances (259-262) and two-byte matches close by (263-270)."""
    rng = random.Random(seed)
    records = b"".join(b"RECORD-HEADER-V2" + rng.randbytes(8) for _ in range(200))
    names, cities = ("Anna Schmidt", "Li Wei", "Jorge Ramos", "Fatima Zahra"), ("Berlin", "Lagos", "Quito")
    rows = "".join(f"{rng.choice(names)};{rng.randint(1000, 99999)};{rng.choice(cities)};{rng.choice(names)}\n"
                   for _ in range(300))
    return records + rows.encode()


def test_prose_is_compressed(tmp_path: Path) -> None:
    archive, stats = _roundtrip([("report.txt", PROSE)], tmp_path)
    assert len(archive) < len(PROSE) // 10
    assert stats.kinds()["match"] > 0 and stats.tables == 1


@pytest.mark.parametrize("matches", [True, False])
def test_noise_comes_back(matches: bool, tmp_path: Path) -> None:
    noise = random.Random(1).randbytes(30_000)
    _, stats = _roundtrip([("noise.bin", noise)], tmp_path, matches=matches)
    if not matches:
        assert stats.kinds() == {"literal": len(noise), "end": 1}


def test_runs_of_one_byte_are_overlapping_matches(tmp_path: Path) -> None:
    data = b"\0" * 50_000 + b"x" * 7 + b"ab" * 3000 + b"\xff" * 4098
    archive, stats = _roundtrip([("runs.bin", data)], tmp_path)
    assert len(archive) < 400
    assert stats.kinds()["last"] > 200  # 258 repeats the 258-byte match at distance 1


def test_far_matches_use_both_length_bonuses_and_the_low_distance_repeat(tmp_path: Path) -> None:
    _, stats = _roundtrip([("mixed.bin", _far(2, 300_000))], tmp_path)
    assert all(stats.bonuses[bonus] > 0 for bonus in (0, 1, 2)), stats.bonuses
    assert len(stats.lows) > 10 and stats.lows[LOW_REPEAT] > 0 and stats.implied_lows > 0, stats.lows


def test_an_empty_file_and_one_byte(tmp_path: Path) -> None:
    archive, stats = _roundtrip([("empty.txt", b""), ("one.txt", b"1")], tmp_path)
    assert stats.tables == 1  # the empty file has no packed data (it is written stored)
    assert len(archive) < 120


def test_the_shortcut_symbols(tmp_path: Path) -> None:
    _, stats = _roundtrip([("records.bin", _records(3))], tmp_path)
    assert stats.symbols[258] > 0 and all(stats.symbols[symbol] > 0 for symbol in OLD_DISTANCES), stats.symbols
    assert sum(stats.symbols[symbol] > 0 for symbol in SHORT_DISTANCES) >= 6, stats.symbols


def test_without_repeat_symbols(tmp_path: Path) -> None:
    _, stats = _roundtrip([("records.bin", _records(3)), ("mixed.bin", _far(4, 40_000))], tmp_path, repeats=False)
    assert not any(stats.symbols[symbol] for symbol in (258, *OLD_DISTANCES)) and not stats.lows[LOW_REPEAT]


@pytest.mark.parametrize("keep", [False, True])
def test_many_blocks_each_with_new_tables(keep: bool, tmp_path: Path) -> None:
    """Symbol 256 then bit 1 ends a block and says tables follow; with `keep` they are sent as
    changes to the previous ones (the keep-old-table bit), else whole."""
    options: PackOptions = {"block_size": 4096, "keep_old_table": keep}
    files = [("mixed.bin", _far(4, 60_000)), ("report.txt", PROSE)]
    archive, stats = _roundtrip(files, tmp_path, **options)
    assert stats.tables > 15 and stats.kept_tables == (stats.tables if keep else 0)
    assert archive != rar4_pack.archive(files, block_size=4096, keep_old_table=not keep)


@pytest.mark.parametrize("carry", [False, True])
def test_a_solid_archive_matches_into_the_files_before(carry: bool, tmp_path: Path) -> None:
    base = _far(5, 60_000)
    files = [("a.bin", base), ("b.bin", base[1000:40_000] + b"new"), ("c.txt", b"card,4111\n" + base[:9000])]
    archive, stats = _roundtrip(files, tmp_path, solid=True, carry_tables=carry)
    assert len(archive) < len(rar4_pack.archive(files[:1])) + 1000  # the later files are a few matches
    assert (stats.tables, stats.carried) == ((1, 2) if carry else (3, 0))


@pytest.mark.parametrize("options", [{}, {"carry_tables": True}, {"keep_old_table": True, "block_size": 8192}])
def test_empty_files_in_a_solid_archive(options: PackOptions, tmp_path: Path) -> None:
    base = _far(6, 30_000)
    files = [("first.txt", b""), ("a.bin", base), ("e1", b""), ("e2", b""), ("c.bin", base[::-1] + base[:500]),
             ("last", b"")]
    _roundtrip(files, tmp_path, solid=True, **options)


def test_names_with_directories_and_non_ascii(tmp_path: Path) -> None:
    files = [("Berichte/Q3 Übersicht.txt", PROSE[:700]), ("报告.txt", "姓名,金额\n张三,100\n".encode()),
             ("报告/客户/list.csv", b"id,name\n1,x\n"), ("plain/dir/x.txt", b"x")]
    _roundtrip(files, tmp_path)


def test_options_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="method"):
        rar4_pack.archive([("a", b"a")], method=0x30)
    with pytest.raises(ValueError, match="dictionary"):
        rar4_pack.archive([("a", b"a")], window=3 << 16)
    with pytest.raises(ValueError, match="block_size"):
        rar4_pack.pack(b"a", block_size=0)


def test_table_changes_decode_back() -> None:
    """The precode items, read as a decoder reads them: 0-15 are added to the old length modulo
    16, 16/17 repeat the previous new length 3-10/11-138 times, 18/19 write as many zeros."""
    rng = random.Random(9)
    old = [rng.choice((0, 0, 3, 7, 15)) for _ in range(404)]
    new = [rng.choice((0, 0, 0, 2, 5, 9, 15)) if k % 50 > 8 else 6 for k in range(404)]
    for base in (old, [0] * 404):
        lengths: list[int] = []
        for symbol, extra, _ in rar4_pack._length_items(new, base):
            if symbol < 16:
                lengths.append((base[len(lengths)] + symbol) & 15)
            else:
                count = extra + (3 if symbol in (16, 18) else 11)
                lengths += [lengths[-1] if symbol < 18 else 0] * count
        assert lengths == new
