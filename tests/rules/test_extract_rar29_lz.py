"""RAR 2.9-4.x compression (`rules/extract/rar29_lz.py`), read through `rar_members` and `extract`.

Archives come from `tests/rules/rar4_pack.py`, a compressor written for these tests; each one is
first extracted by The Unarchiver's `unar`, so a case counts only when an independent reader gives
the original bytes back too. Filters, PPMd, damage and bombs are built bit by bit below. Real
archives: `scripts/check_rar_samples.py` reads the three compressed files of the `rarfile`
package's RAR 3 test archives (WinRAR's delta filter on two, one a solid continuation) and checks
their CRC-32.
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import pytest

from rules.extract import Limits, extract, rar29_lz
from rules.extract.budget import Budget
from rules.extract.rar import rar_members
from tests.rules import rar4_pack
from tests.rules.samples import unar_files
from tests.rules.test_extract_rar5_lz import (
    PROSE,
    _mixed,
    _read_until_damage,
    assert_cut_and_flipped_never_lie,
)

CARD = "4111 1111 1111 1111"


def _container(files: Sequence[tuple[str, bytes, int, int, int, bool]], split: int = 0) -> bytes:
    """A RAR 4.x archive of (name, packed data, unpacked size, CRC-32, unpack version, solid);
    `split` is the file blocks' volume flags (0x01 continued from the previous volume, 0x02 in the next)."""
    def block(kind: int, flags: int, rest: bytes) -> bytes:
        head = struct.pack("<BHH", kind, flags, 7 + len(rest)) + rest
        return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head

    out = b"Rar!\x1a\x07\x00" + block(0x73, 0x0008 if any(f[5] for f in files) else 0, bytes(6))
    for name, packed, size, crc, version, solid in files:
        rest = struct.pack("<IIBIIBBHI", len(packed), size, 3, crc, 0, version, 0x33, len(name), 0o100644)
        out += block(0x74, 0x8000 | split | (0x0010 if solid else 0), rest + name.encode()) + packed
    return out + block(0x7B, 0x4000, b"")


class _Bits:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def put(self, value: int, count: int) -> _Bits:
        self.bits += [(value >> (count - 1 - i)) & 1 for i in range(count)]
        return self

    def number(self, value: int) -> _Bits:
        """RAR 3's variable-length number, as a filter declaration writes it."""
        return self.put(0, 2).put(value, 4) if value < 16 else self.put(2, 2).put(value, 16)

    def data(self) -> bytes:
        padded = self.bits + [0] * (-len(self.bits) % 8)
        return bytes(int("".join(map(str, padded[i : i + 8])), 2) for i in range(0, len(padded), 8))


def _tables(bits: _Bits, main: dict[int, int], dist: dict[int, int] | None = None, ppmd: bool = False) -> _Bits:
    """Tables giving these main and distance symbols these lengths (none else); the 20-symbol code
    gives every length 0-15 a 5-bit code."""
    bits.put(int(ppmd), 1).put(0, 1)  # not PPMd, old lengths dropped
    for _ in range(20):
        bits.put(5, 4)
    lengths = [main.get(i, 0) for i in range(299)] + [(dist or {}).get(i, 0) for i in range(60)] + [0] * 45
    for length in lengths:
        bits.put(length, 5)
    return bits


def _filter_declaration(bits: _Bits, program: bytes, start: int, length: int, channels: int) -> _Bits:
    """Symbol 257's payload: flags (a new program in slot 0, its length, R0), then the fields."""
    fields = _Bits().number(1).number(start).number(length).put(1, 7).number(channels).number(len(program))
    for byte in program:
        fields.put(byte, 8)
    code = fields.data()
    bits.put(0x80 | 0x20 | 0x10 | 6, 8)  # 6: the declaration is 7 bytes long, or more (a byte follows)
    bits.put(len(code) - 7, 8)
    for byte in code:
        bits.put(byte, 8)
    return bits


def _program(body: bytes) -> bytes:
    checksum = 0
    for byte in body:
        checksum ^= byte
    return bytes([checksum]) + body


def _read(archive: bytes) -> dict[str, bytes]:
    return dict(rar_members(archive, Budget(Limits(), len(archive)), "a.rar"))


def test_a_hand_built_stream_decodes_exactly() -> None:
    # main: literal "a" = 00, end = 01, repeat last = 10, match slot 0 (3 bytes) = 11; distance slot 0 = "0"
    bits = _tables(_Bits(), {ord("a"): 2, 271: 2, 258: 2, 256: 2}, {0: 1})
    bits.put(0, 2).put(3, 2).put(0, 1).put(2, 2).put(1, 2).put(0, 2)  # a, 3 at 1, again, end of file
    content = b"a" * 7
    archive = _container([("a.txt", bits.data(), 7, zlib.crc32(content), 29, False)])
    assert _read(archive) == {"a.txt": content}


def test_a_delta_filter_is_undone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A program registered as the delta filter (here a dummy: the real one is RARLAB's code)."""
    program = _program(b"dummy delta program")
    monkeypatch.setitem(rar29_lz.STANDARD_FILTERS, (len(program), zlib.crc32(program)), "delta")
    original = bytes([10, 20, 13, 23, 16, 26, 19, 29])  # two channels: 10, 13, 16, 19 and 20, 23, 26, 29
    stored = bytes([(-10) & 0xFF, 253, 253, 253, (-20) & 0xFF, 253, 253, 253])  # each channel's differences
    bits = _tables(_Bits(), {i: 9 for i in range(256)} | {257: 9, 256: 9})
    _filter_declaration(bits.put(257, 9), program, start=0, length=8, channels=2)
    for byte in stored:
        bits.put(byte, 9)
    bits.put(256, 9).put(0, 2)
    archive = _container([("t.bin", bits.data(), 8, zlib.crc32(original), 29, False)])
    assert _read(archive) == {"t.bin": original}


@pytest.mark.parametrize(("kind", "reason"), [("RGB", "a RAR 2.9 RGB filter is not read"),
                                              (None, "a RAR 2.9 unknown filter is not read")])
def test_filters_not_read_are_named(monkeypatch: pytest.MonkeyPatch, kind: str | None, reason: str) -> None:
    program = _program(b"another program")
    if kind is not None:
        monkeypatch.setitem(rar29_lz.STANDARD_FILTERS, (len(program), zlib.crc32(program)), kind)
    bits = _tables(_Bits(), {i: 9 for i in range(256)} | {257: 9, 256: 9})
    _filter_declaration(bits.put(257, 9), program, start=0, length=4, channels=1)
    for byte in b"data":
        bits.put(byte, 9)
    result = extract(_container([("x.bin", bits.data(), 4, 0, 29, False)]), "f.rar")
    assert result.status == "unscannable" and reason in (result.reason or "")


@pytest.mark.parametrize(("packed", "version", "reason"), [
    (_tables(_Bits(), {0: 1}, ppmd=True).data(), 29, "RAR PPMd block continues a model that was never started"),
    (b"\x00" * 20, 20, "RAR 1.5-2.0 compression is not read: 1 file(s) not scanned (x.bin)"),
    (_tables(_Bits(), {0: 1, 271: 1}, {5: 1}).put(0, 1).put(1, 1).put(0, 1).put(0, 1).data(), 29,
     "a match 7 bytes back, 1 written"),
    (_tables(_Bits(), {0: 2, 256: 2}).put(3, 2).data(), 29, "a code no table holds"),
    (_tables(_Bits(), {0: 1, 259: 1}, {}).put(0, 1).put(1, 1).data(), 29, "a code no table holds"),
])
def test_what_is_not_read_is_named(packed: bytes, version: int, reason: str) -> None:
    result = extract(_container([("x.bin", packed, 100, 0, version, False)]), "d.rar")
    assert result.status == "unscannable" and reason in (result.reason or "")


def test_a_bomb_stops_at_its_limit() -> None:
    bits = _tables(_Bits(), {0: 1, 298: 1}, {0: 1}).put(0, 1)  # a literal, then 258-byte matches at 1
    for _ in range(150_000):
        bits.put(1, 1).put(31, 5).put(0, 1)
    archive = _container([("zeros.bin", bits.data(), 1 << 31, 0, 29, False)])
    result = extract(archive, "bomb.rar", limits=Limits(max_expanded_bytes=32 << 20))
    assert result.status == "unscannable" and "decompression bomb" in (result.reason or "")


CASES: dict[str, tuple[list[tuple[str, bytes]], dict[str, object]]] = {
    "prose": ([("report.txt", PROSE + CARD.encode())], {}),
    "noise": ([("noise.bin", random.Random(1).randbytes(20000))], {}),
    "one byte repeated": ([("zeros.bin", b"\0" * 50000 + b"x" * 7)], {}),
    "far matches": ([("mixed.bin", _mixed(2, 300_000))], {}),
    "empty and one byte": ([("empty.txt", b""), ("one.txt", b"1")], {}),
    "many blocks, new tables": ([("mixed.bin", _mixed(3, 100_000))], {"block_size": 4096}),
    "many blocks, tables as changes": ([("mixed.bin", _mixed(4, 100_000))], {"block_size": 4096, "keep_old_table": True}),
    "no repeat symbols": ([("report.txt", PROSE)], {"repeats": False}),
    "names": ([("Berichte/Q3 Übersicht.txt", PROSE[:500]), ("报告/客户.csv", f"姓名,卡号\n张三,{CARD}\n".encode())], {}),
}


@pytest.mark.parametrize("case", CASES)
def test_compressed_files_read_as_unar_reads_them(case: str, tmp_path: Path) -> None:
    files, options = CASES[case]
    archive = rar4_pack.archive(files, **options)  # type: ignore[arg-type]
    assert unar_files(archive, tmp_path) == dict(files)
    assert _read(archive) == dict(files)


@pytest.mark.parametrize("carry", [False, True])
def test_a_solid_archive_reads_each_file_through_the_ones_before(carry: bool, tmp_path: Path) -> None:
    base = _mixed(5, 60_000)
    files = [("a.bin", base), ("empty", b""), ("b.bin", base[1000:40000] + b"new"), ("c.csv", f"card,{CARD}\n".encode())]
    archive = rar4_pack.archive(files, solid=True, carry_tables=carry)
    assert len(archive) < len(base) + 4000
    assert unar_files(archive, tmp_path) == dict(files)
    assert _read(archive) == dict(files)
    assert CARD in extract(archive, "solid.rar").text


def test_cut_and_flipped_archives_never_raise_and_never_read_wrong_bytes() -> None:
    files = [("report.txt", PROSE + CARD.encode()), ("mixed.bin", _mixed(6, 20000))]
    assert_cut_and_flipped_never_lie(rar4_pack.archive(files, block_size=2048), dict(files))


def test_the_first_volume_of_a_split_file_is_read_as_far_as_it_goes() -> None:
    rng = random.Random(7)
    content = f"card {CARD}\n".encode() + "".join(f"{i},customer {i},{rng.randrange(10**9)}\n" for i in range(4000)).encode()
    packed = rar4_pack.pack(content)
    archive = _container([("big.bin", packed[: len(packed) // 2], len(content), zlib.crc32(content), 29, False)],
                         split=0x02)
    part = _read_until_damage(archive)["big.bin"]
    assert content.startswith(part[:-300]) and len(part) > len(content) // 4  # the last symbol may be cut
    result = extract(archive, "big.part1.rar")
    assert result.status == "unscannable" and "split across volumes read in part" in (result.reason or "")
    assert CARD in result.text
