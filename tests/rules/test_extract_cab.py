"""Microsoft Cabinet archives, as gcab writes them (stored, and MSZIP as `makecab` writes by
default); cabextract checks that each test cabinet is valid before the reader sees it."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.detectors import scan_text
from rules.extract import Limits, extract
from rules.extract.budget import DEFAULT_LIMITS, Budget, Unscannable
from rules.extract.cab import cab_members
from rules.extract.sniff import sniff
from tests.fixtures.realparts import require_binary

SSN, CARD = "078-05-1120", "4111 1111 1111 1111"


def gcab(tmp_path: Path, files: dict[str, bytes], *, compress: bool = True) -> bytes:
    binary = require_binary("gcab", "gcab")
    source = tmp_path / "src"
    for name, content in files.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(content)
    out = tmp_path / "out.cab"
    subprocess.run([binary, "-c", *(["-z"] if compress else []), str(out), *files], cwd=source, check=True,
                   capture_output=True)
    checker = require_binary("cabextract", "cabextract")
    subprocess.run([checker, "-t", str(out)], check=True, capture_output=True)  # the writer made a valid cabinet
    return out.read_bytes()


FILES = {
    "payroll/q3.csv": f"name,ssn\nAnna,{SSN}\n".encode(),
    "cards.txt": f"card {CARD}\n".encode() * 20_000,  # 480 KB: 15 MSZIP blocks, each using the last as dictionary
    "Übersicht.txt": b"IBAN DE89370400440532013000\n",
    "empty.txt": b"",
}


@pytest.mark.parametrize("compress", [True, False])
def test_a_cabinet_gives_its_files_byte_for_byte(tmp_path: Path, compress: bool) -> None:
    data = gcab(tmp_path, FILES, compress=compress)
    assert sniff(data, "x.bin") == "cab"
    if compress:
        assert len(data) < 100_000  # MSZIP did compress
    got = dict(cab_members(data, Budget(DEFAULT_LIMITS, len(data)), "x.cab"))
    assert got == FILES
    result = extract(data, "backup.cab")
    assert result.status == "ok", result.reason
    assert {"us_ssn", "credit_card", "iban"} <= {f.detector for f in scan_text(result.text)}
    assert any(p.path == "backup.cab/payroll/q3.csv" for p in result.parts)


def _file_entries(data: bytes) -> list[int]:
    files_at, count = struct.unpack_from("<I", data, 16)[0], struct.unpack_from("<H", data, 28)[0]
    entries, pos = [], files_at
    for _ in range(count):
        entries.append(pos)
        pos = data.index(b"\x00", pos + 16) + 1
    return entries


def test_the_committed_fixture_is_a_real_cabinet() -> None:
    """`data/payroll.cab` (gcab -z, for tests that must not need gcab: the agent's worker)."""
    data = (Path(__file__).parent / "data" / "payroll.cab").read_bytes()
    result = extract(data, "payroll.cab")
    assert result.status == "ok" and SSN in result.text and CARD in result.text


def test_lzx_folders_and_continued_files_are_named_unread(tmp_path: Path) -> None:
    data = bytearray(gcab(tmp_path, FILES))
    struct.pack_into("<H", data, 36 + 6, 0x1503)  # the folder's compression: LZX, 2 MiB window
    result = extract(bytes(data), "lzx.cab")
    assert result.status == "unscannable" and "payroll/q3.csv (LZX compression)" in (result.reason or "")
    data = bytearray(gcab(tmp_path / "b", FILES))
    struct.pack_into("<H", data, _file_entries(bytes(data))[0] + 8, 0xFFFE)  # continued into the next cabinet
    result = extract(bytes(data), "set.cab")
    assert result.status == "unscannable" and "(continued in another cabinet)" in (result.reason or "")
    assert CARD in result.text  # the other files are read


def test_a_truncated_cabinet_names_what_it_lost(tmp_path: Path) -> None:
    data = gcab(tmp_path, FILES)
    result = extract(data[: len(data) // 2], "cut.cab")
    assert result.status == "unscannable" and "truncated cabinet" in (result.reason or "")


def test_a_corrupt_block_is_named(tmp_path: Path) -> None:
    data = bytearray(gcab(tmp_path, FILES))
    folder_start = struct.unpack_from("<I", data, 36)[0]
    data[folder_start + 8 : folder_start + 10] = b"XX"  # the first block's CK signature
    result = extract(bytes(data), "bad.cab")
    assert result.status == "unscannable" and "no CK signature" in (result.reason or "")


def test_a_deflate_bomb_is_stopped_by_the_expansion_limit(tmp_path: Path) -> None:
    data = gcab(tmp_path, {"zeros.bin": bytes(24 << 20)})
    assert len(data) < 200_000
    result = extract(data, "bomb.cab", limits=Limits(max_expanded_bytes=8 << 20))
    assert result.status == "unscannable" and "decompression bomb?" in (result.reason or "")


def test_files_overlapping_in_a_folder_are_a_bomb(tmp_path: Path) -> None:
    files = {"big.txt": b"x" * (1 << 20), **{f"f{i:02d}.txt": b"small" for i in range(40)}}
    data = bytearray(gcab(tmp_path, files))
    for entry in _file_entries(bytes(data)):
        struct.pack_into("<II", data, entry, 1 << 20, 0)  # every file is the whole big one
    result = extract(bytes(data), "overlap.cab", limits=Limits(max_expanded_bytes=16 << 20))
    assert result.status == "unscannable" and "decompression bomb?" in (result.reason or "")


def test_header_lies_are_named_never_a_crash(tmp_path: Path) -> None:
    data = gcab(tmp_path, FILES)
    for offset, value in ((26, 500), (28, 60_000), (16, 10**9), (25, 2)):  # folders, files, file table, version
        bad = bytearray(data)
        struct.pack_into("<H" if offset in (26, 28) else ("<I" if offset == 16 else "<B"), bad, offset, value)
        result = extract(bytes(bad), "liar.cab")
        assert result.status == "unscannable", offset


_SMALL: dict[str, bytes] = {}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), min_size=1, max_size=10))
def test_damaged_cabinets_never_crash_the_reader(tmp_path: Path, changes: list[tuple[int, int]]) -> None:
    if "cab" not in _SMALL:
        _SMALL["cab"] = gcab(tmp_path, {"a/b.txt": f"card {CARD}\n".encode() * 300, "c.txt": b"x" * 3000})
    data = bytearray(_SMALL["cab"])
    for offset, value in changes:
        data[offset % len(data)] = value
    try:
        for _name, content in cab_members(bytes(data), Budget(DEFAULT_LIMITS, len(data)), "x.cab"):
            assert isinstance(content, bytes)
    except Unscannable:
        pass
    assert extract(bytes(data), "x.cab").status in ("ok", "unscannable")
