"""RAR 5.0 compression (`rules/extract/rar5_lz.py`), read through `extract`.

No program on this machine writes RAR. The archives here come from `tests/rules/rar5_pack.py`, a
compressor written for these tests, and every one is first extracted by The Unarchiver's `unar`
(an independent reader, Debian package unar): a case counts only when `unar` gives the original
bytes back too. Damage, bombs and misuse are built bit by bit below. The decoder was also checked
against the compressed files WinRAR and `rar` wrote in the `rarfile` package's test archives
(`scripts/check_rar_samples.py`: 13 files in 8 archives, 4 of them solid continuations, each
matching its CRC-32).
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import pytest

from rules.extract import Limits, extract
from rules.extract.budget import Budget, EncryptedContent, Unscannable
from rules.extract.rar import blake2sp, rar_members
from tests.rules import rar5_pack
from tests.rules.rar5_pack import Filter
from tests.rules.samples import arm_like, unar_files, varint, x86_like

CARD = "4111 1111 1111 1111"
RID = "11010519491231002X"
PROSE = (b"The quarterly report lists every customer whose contract renews before March, with the "
         b"amounts owed and the account manager responsible for each. ") * 40


def _read(archive: bytes) -> dict[str, bytes]:
    return dict(rar_members(archive, Budget(Limits(), len(archive)), "a.rar"))


def _read_until_damage(archive: bytes) -> dict[str, bytes]:
    """The files read before the reader stops (at the end, or at damage)."""
    read: dict[str, bytes] = {}
    try:
        for name, content in rar_members(archive, Budget(Limits(), len(archive)), "a.rar"):
            read[name] = content
    except (Unscannable, EncryptedContent):
        pass
    return read


def _mixed(seed: int, size: int) -> bytes:
    """Text and noise, with copies of earlier stretches from near and far (every length bonus)."""
    rng = random.Random(seed)
    out = bytearray(PROSE[:3000])
    while len(out) < size:
        if rng.random() < 0.3:
            out += rng.randbytes(rng.randint(10, 400))
        else:
            back = rng.choice((rng.randint(1, 0x100), rng.randint(0x101, 0x2000), rng.randint(0x2001, 0x40000),
                               rng.randint(0x40001, 0x50000)))
            start = max(0, len(out) - back)
            out += out[start : start + rng.randint(3, 300)]
    return bytes(out[:size])


CASES: dict[str, tuple[list[tuple[str, bytes]], dict[str, object]]] = {
    "prose": ([("report.txt", PROSE + CARD.encode())], {}),
    "noise": ([("noise.bin", random.Random(1).randbytes(20000))], {}),
    "one byte repeated": ([("zeros.bin", b"\0" * 50000 + b"x" * 7)], {}),
    "far matches": ([("mixed.bin", _mixed(2, 300_000))], {"dict_log": 3}),
    "empty and one byte": ([("empty.txt", b""), ("one.txt", b"1")], {}),
    "many blocks, tables reused": ([("mixed.bin", _mixed(3, 120_000))], {"block_size": 4096}),
    "many blocks, new tables each": ([("mixed.bin", _mixed(4, 120_000))],
                                     {"block_size": 4096, "new_tables_every_block": True}),
    "no repeat symbols": ([("report.txt", PROSE)], {"repeats": False}),
    "names": ([("Berichte/Q3 Übersicht.txt", PROSE[:500]), ("报告/客户.csv", f"姓名,卡号\n张三,{CARD}\n".encode())], {}),
}
FILTERED: dict[str, tuple[bytes, list[Filter]]] = {
    "delta 1": (bytes(range(256)) * 40, [Filter(100, 5000, 0, 1)]),
    "delta 3": (bytes(i * 7 % 256 for i in range(30000)), [Filter(0, 30000, 0, 3), ]),
    "E8": (x86_like(40000), [Filter(0, 20000, 1), Filter(25000, 15000, 1)]),
    "E8E9": (x86_like(40000), [Filter(16, 39984, 2)]),
    "ARM": (arm_like(40000), [Filter(0, 40000, 3)]),
}


@pytest.mark.parametrize("case", CASES)
def test_compressed_files_read_as_unar_reads_them(case: str, tmp_path: Path) -> None:
    files, options = CASES[case]
    archive = rar5_pack.archive(files, **options)  # type: ignore[arg-type]
    assert unar_files(archive, tmp_path) == dict(files)
    assert _read(archive) == dict(files)


@pytest.mark.parametrize("case", FILTERED)
def test_filters_are_undone_as_unar_undoes_them(case: str, tmp_path: Path) -> None:
    data, filters = FILTERED[case]
    archive = rar5_pack.archive([("program.bin", data)], filters={"program.bin": filters})
    assert unar_files(archive, tmp_path) == {"program.bin": data}
    assert _read(archive) == {"program.bin": data}


def test_a_solid_archive_reads_each_file_through_the_ones_before(tmp_path: Path) -> None:
    base = _mixed(5, 60_000)
    files = [("a.bin", base), ("b.bin", base[1000:40000] + b"new"), ("c.csv", f"card,{CARD}\n".encode() + base[:9000])]
    archive = rar5_pack.archive(files, solid=True)
    assert len(archive) < len(base) + 4000  # the later files are mostly matches into the first
    assert unar_files(archive, tmp_path) == dict(files)
    assert _read(archive) == dict(files)
    result = extract(archive, "solid.rar")
    assert CARD in result.text


# Hand-built streams: a container of our own, and bit-exact blocks.


def _block(kind: int, fields: bytes, data: bytes | None = None, flags: int = 0) -> bytes:
    body = varint(kind) + varint(flags | (0x0002 if data is not None else 0)) + (varint(len(data)) if data is not None else b"")
    body += fields
    size = varint(len(body))
    return struct.pack("<I", zlib.crc32(size + body)) + size + body + (data or b"")


def _container(files: Sequence[tuple[str, bytes, int, int | None, int]], split: int = 0) -> bytes:
    """A RAR 5.0 archive of (name, packed data, unpacked size, CRC-32 or None, compression info);
    `split` is the file blocks' volume flags (0x0008 continued from the previous volume, 0x0010
    continued in the next)."""
    out = b"Rar!\x1a\x07\x01\x00" + _block(1, varint(0))
    for name, packed, size, crc, info in files:
        fields = (varint(0x0004 if crc is not None else 0) + varint(size) + varint(0x20)
                  + (struct.pack("<I", crc) if crc is not None else b"") + varint(info) + varint(0)
                  + varint(len(name.encode())) + name.encode())
        out += _block(2, fields, packed, split)
    return out + _block(5, varint(0))


METHOD3 = 3 << 7


class _Bits:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def put(self, value: int, count: int) -> _Bits:
        self.bits += [(value >> (count - 1 - i)) & 1 for i in range(count)]
        return self

    def block(self, *, tables: bool = True, last: bool = True) -> bytes:
        """The bits as one block: flags, check byte, a 3-byte size."""
        padded = self.bits + [0] * (-len(self.bits) % 8)
        data = bytes(int("".join(map(str, padded[i : i + 8])), 2) for i in range(0, len(padded), 8))
        used = (len(self.bits) - 1) % 8 + 1 if self.bits else 8
        flags = (0x80 if tables else 0) | (0x40 if last else 0) | 2 << 3 | (used - 1)
        size = len(data)
        check = (0x5A ^ flags ^ size ^ size >> 8 ^ size >> 16) & 0xFF
        return bytes([flags, check]) + size.to_bytes(3, "little") + data


def _tables(bits: _Bits, main: dict[int, int], dist: dict[int, int], rep: dict[int, int] | None = None) -> _Bits:
    """Tables giving `main`, `dist` and `rep` symbols those code lengths (all others none): the
    20-symbol code gives every length 0-15 a 5-bit code."""
    for _ in range(16):
        bits.put(5, 4)
    bits.put(15, 4).put(2, 4)  # escape: 2 + 2 zeros for symbols 16-19
    lengths = ([main.get(i, 0) for i in range(306)] + [dist.get(i, 0) for i in range(64)] + [0] * 16
               + [(rep or {}).get(i, 0) for i in range(44)])
    for length in lengths:
        bits.put(length, 5)
    return bits


def _bomb(matches: int) -> bytes:
    """A literal, then `matches` copies of 4,097+ bytes at distance 1: about 11 bits each."""
    bits = _tables(_Bits(), {0: 1, 305: 1}, {0: 1}).put(0, 1)  # main: literal 0 = "0", slot 43 = "1"
    for _ in range(matches):
        bits.put(1, 1).put(511, 9).put(0, 1)  # length 2 + (7 << 9) + 511, distance slot 0
    return bits.block()


def test_a_bomb_stops_at_its_limit() -> None:
    packed = _bomb(200_000)  # 270 kB standing for 819 MB of zeros
    archive = _container([("zeros.bin", packed, 4097 * 200_000 + 1, None, METHOD3)])
    result = extract(archive, "bomb.rar", limits=Limits(max_expanded_bytes=64 << 20))
    assert result.status == "unscannable" and "decompression bomb" in (result.reason or "")


def test_a_hand_built_stream_decodes_exactly() -> None:
    packed = _bomb(3)
    content = b"\0" * (1 + 3 * 4097)
    archive = _container([("zeros.bin", packed, len(content), zlib.crc32(content), METHOD3)])
    assert _read(archive) == {"zeros.bin": content}


@pytest.mark.parametrize(("packed", "reason"), [
    (_tables(_Bits(), {0: 1, 305: 1}, {5: 1}).put(0, 1).put(1, 1).put(0, 9).put(0, 1).put(0, 1).block(),
     "a match 7 bytes back, 1 written"),
    (_Bits().put(0, 8).block(tables=False), "a block without the tables it needs"),
    (_tables(_Bits(), {0: 1, 256: 1}, {0: 1}).put(1, 1).put(0, 2).put(0, 8).put(0, 2).put(2, 8).put(0, 3).block(),
     "a filter of type 0 over 2 bytes"),
    (_tables(_Bits(), {0: 2, 257: 2}, {}).put(2, 2).block(), "a code no table holds"),
    (_tables(_Bits(), {0: 1, 258: 1}, {}, rep={0: 1}).put(0, 1).put(1, 1).put(0, 1).block(),
     "a match 0 bytes back, 1 written"),  # a repeat of a distance never set
])
def test_damaged_streams_are_named(packed: bytes, reason: str) -> None:
    archive = _container([("x.bin", packed, 100, None, METHOD3)])
    result = extract(archive, "d.rar")
    assert result.status == "unscannable" and reason in (result.reason or "")


def test_a_wrong_crc_is_damage_and_the_solid_files_after_it_are_named() -> None:
    base = PROSE
    packed = rar5_pack.pack(base)
    archive = _container([("first.txt", packed, len(base), zlib.crc32(base) ^ 1, METHOD3),
                          ("second.txt", rar5_pack.pack(b"more", state=None), 4, None, METHOD3 | 0x40),
                          ("plain.txt", CARD.encode(), len(CARD), None, 0)])
    result = extract(archive, "c.rar")
    assert result.status == "unscannable"
    assert "first.txt: damaged rar data (CRC-32 of the unpacked file)" in (result.reason or "")
    assert "second.txt: follows a file that could not be read in a solid archive" in (result.reason or "")
    assert CARD in result.text  # the stored file after them is still read


def test_rar7_dictionaries_are_named_not_guessed() -> None:
    archive = _container([("big.bin", rar5_pack.pack(PROSE), len(PROSE), None, METHOD3 | 1)])
    result = extract(archive, "r7.rar")
    assert result.status == "unscannable" and "RAR 7 compression (algorithm version 1) is not read" in (result.reason or "")


def assert_cut_and_flipped_never_lie(archive: bytes, files: dict[str, bytes]) -> None:
    """Cut and bit-flipped copies of `archive` never raise, and whatever they give is what was
    written (CRC-32 checked): shared by the RAR 5.0 and 2.9 tests."""
    rng = random.Random(9)
    for cut in range(40, len(archive), max(1, len(archive) // 60)):
        assert extract(archive[:cut], "cut.rar").status in ("ok", "unscannable")
    for _ in range(300):
        damaged = bytearray(archive)
        damaged[rng.randrange(60, len(damaged))] ^= 1 << rng.randrange(8)
        assert extract(bytes(damaged), "flip.rar").status in ("ok", "unscannable")
        for name, content in _read_until_damage(bytes(damaged)).items():
            assert content == files.get(name, content)


def test_cut_and_flipped_archives_never_raise_and_never_read_wrong_bytes() -> None:
    files = [("report.txt", PROSE + CARD.encode()), ("mixed.bin", _mixed(6, 20000))]
    assert_cut_and_flipped_never_lie(rar5_pack.archive(files, block_size=2048), dict(files))


def test_blake2sp_is_the_hash_winrar_writes() -> None:
    """The content and hash of `stest1.txt` in the `rarfile` package's `rar5-blake.rar`, which
    WinRAR wrote with a BLAKE2sp checksum instead of a CRC-32."""
    content = "".join(f"{i:03d}\n" for i in range(512)).encode()
    assert blake2sp(content).hex() == "7cd5c1ac31f0cf58844a57fb9072c44768dbea1456e37c21e491f4853982ede0"


@pytest.mark.parametrize("good", [True, False])
def test_a_blake2sp_record_is_checked(good: bool) -> None:
    packed = rar5_pack.pack(PROSE)
    digest = blake2sp(PROSE) if good else bytes(32)
    record = varint(0x02) + varint(0) + digest  # hash record: type, BLAKE2sp, the digest
    extra = varint(len(record)) + record
    fields = varint(0) + varint(len(PROSE)) + varint(0x20) + varint(METHOD3) + varint(0) + varint(5) + b"a.txt"
    body = varint(2) + varint(0x0003) + varint(len(extra)) + varint(len(packed)) + fields + extra
    header = struct.pack("<I", zlib.crc32(varint(len(body)) + body)) + varint(len(body)) + body
    archive = b"Rar!\x1a\x07\x01\x00" + _block(1, varint(0)) + header + packed + _block(5, varint(0))
    result = extract(archive, "h.rar")
    if good:
        assert result.status == "ok" and "quarterly report" in result.text
    else:
        assert result.status == "unscannable" and "BLAKE2sp of the unpacked file" in (result.reason or "")


@pytest.mark.parametrize("cut", [0.3, 0.7])
def test_the_first_volume_of_a_split_file_is_read_as_far_as_it_goes(cut: float) -> None:
    """Splitting an archive into volumes (`rar -v`) to get past a size limit: the first volume's
    part of a compressed file decodes to the file's beginning."""
    rng = random.Random(7)
    content = f"card {CARD}\n".encode() + "".join(f"{i},customer {i},{rng.randrange(10**9)}\n" for i in range(4000)).encode()
    packed = rar5_pack.pack(content, block_size=4096)
    archive = _container([("big.bin", packed[: int(len(packed) * cut)], len(content), zlib.crc32(content), METHOD3)],
                         split=0x0010)
    part = _read_until_damage(archive)["big.bin"]
    assert content.startswith(part) and len(part) > len(content) * cut / 2
    result = extract(archive, "big.part1.rar")
    assert result.status == "unscannable" and "1 file(s) split across volumes read in part" in (result.reason or "")
    assert CARD in result.text


def test_a_compressed_file_continued_from_another_volume_is_named() -> None:
    packed = rar5_pack.pack(PROSE)
    archive = _container([("big.bin", packed[100:], len(PROSE), None, METHOD3)], split=0x0008 | 0x0010)
    result = extract(archive, "big.part2.rar")
    assert result.status == "unscannable"
    assert "a compressed file continued from another volume is not read: 1 file(s) not scanned (big.bin)" in (
        result.reason or "")
