"""exFAT volumes (`rules/extract/exfat.py`): written by mkfs.exfat and filled through the
exfat-fuse driver on a loop device (`data/exfat/make.sh`, run live; its output is kept as
`data/exfat/usb.img.xz` for machines where nothing can be mounted), partitioned by sfdisk and
converted by qemu-img."""

from __future__ import annotations

import lzma
import os
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.extract import extract
from rules.extract.budget import DEFAULT_LIMITS, Budget, EncryptedContent, Unscannable
from rules.extract.sniff import sniff
from rules.extract.volume import disk_members
from tests.fixtures.realparts import require_binary, unavailable

DATA = Path(__file__).parent / "data" / "exfat"
SSN, CARD, IBAN, RESIDENT = "078-05-1120", "4111 1111 1111 1111", "DE89370400440532013000", "11010519491231002X"
LONG_NAME = "Übersicht für das Jahr 2026 mit einem sehr langen Namen.csv"
EXPECTED = {
    "Finance/2026/payroll.txt": f"SSN {SSN}\n".encode(),
    "cards.txt": f"card {CARD}\n".encode() * 20_000,
    LONG_NAME: f"name,iban\nAnna,{IBAN}\n".encode(),
    "项目/名单.txt": f"机密 身份证 {RESIDENT}\n".encode(),
    "filler1": b"1" * 40_000,
    "filler3": b"3" * 40_000,
    "filler5": b"5" * 40_000,
    "filler6": b"6" * 40_000,
    "fragmented.txt": f"IBAN {IBAN}\n".encode() * 4000,
    "empty.txt": b"",
}


def live_volume(tmp_path: Path) -> bytes:
    """The volume `make.sh` writes now, through the kernel (root, a loop device and FUSE)."""
    for name, package in (("mkfs.exfat", "exfatprogs"), ("mount.exfat-fuse", "exfat-fuse"), ("losetup", "mount")):
        require_binary(name, package)
    if os.geteuid() != 0 or not Path("/dev/fuse").exists():
        unavailable("mounting an exFAT image needs root and /dev/fuse")
    image = tmp_path / "usb.img"
    done = subprocess.run(["sh", str(DATA / "make.sh"), str(image)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        unavailable(f"make.sh could not mount a loop device: {done.stderr.strip()[-300:]}")
    return image.read_bytes()


_KEPT: list[bytes] = []


def kept_volume() -> bytes:
    if not _KEPT:
        _KEPT.append(lzma.decompress((DATA / "usb.img.xz").read_bytes()))
    return _KEPT[0]


@pytest.fixture(params=["live", "kept"])
def volume(request: pytest.FixtureRequest, tmp_path: Path) -> bytes:
    return live_volume(tmp_path) if request.param == "live" else kept_volume()


def members(data: bytes) -> dict[str, bytes]:
    return dict(disk_members(data, Budget(DEFAULT_LIMITS, len(data)), "usb.img"))


def entry_sets(data: bytes) -> dict[str, tuple[int, int]]:
    """Byte offset of each file's entry set in the root directory, and its stream flags."""
    boot = data[:512]
    sector, cluster = 1 << boot[108], 1 << (boot[108] + boot[109])
    heap, root = struct.unpack_from("<I", boot, 88)[0] * sector, struct.unpack_from("<I", boot, 96)[0]
    at, found = heap + (root - 2) * cluster, {}
    for pos in range(at, at + cluster, 32):
        if data[pos] == 0x85:
            count, length = data[pos + 1], data[pos + 35]
            name = b"".join(data[pos + 32 * i + 2 : pos + 32 * i + 32] for i in range(2, count + 1))
            found[name.decode("utf-16-le")[:length]] = (pos, data[pos + 33])
    return found


def test_an_exfat_volume_gives_its_files_byte_for_byte(volume: bytes) -> None:
    assert sniff(volume, "usb.bin") == "disk"
    assert members(volume) == EXPECTED  # deleted.txt is gone, empty.txt is there


def test_a_file_in_pieces_is_read_along_its_fat_chain(volume: bytes) -> None:
    sets = entry_sets(volume)
    assert not sets["fragmented.txt"][1] & 0x02  # no NoFatChain flag: the FAT holds its clusters
    assert sets["cards.txt"][1] & 0x02  # written in one piece
    assert members(volume)["fragmented.txt"] == EXPECTED["fragmented.txt"]


def test_findings_come_from_every_file_of_the_volume(volume: bytes) -> None:
    result = extract(volume, "usb.img")
    assert result.status == "ok", result.reason
    assert {f"usb.img/{name}" for name in EXPECTED} <= {p.path for p in result.parts}
    assert SSN in result.text and RESIDENT in result.text and result.text.count(CARD) == 20_000
    assert "deleted secret" not in result.text


def test_an_exfat_partition_of_a_vhdx_is_read(tmp_path: Path) -> None:
    sfdisk, qemu = require_binary("sfdisk", "fdisk"), require_binary("qemu-img", "qemu-utils")
    volume = kept_volume()
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(1 << 20) + volume + bytes(1 << 20))
    subprocess.run([sfdisk, "--quiet", str(disk)], input=f"label: gpt\nstart=2048, size={len(volume) // 512}, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\n",
                   text=True, check=True, capture_output=True)
    subprocess.run([qemu, "convert", "-O", "vhdx", str(disk), str(tmp_path / "disk.vhdx")], check=True, capture_output=True)
    result = extract((tmp_path / "disk.vhdx").read_bytes(), "stick.vhdx")
    assert result.status == "ok", result.reason
    assert "stick.vhdx/partition 1/项目/名单.txt" in {p.path for p in result.parts}
    assert RESIDENT in result.text


def test_a_damaged_entry_set_is_named_and_the_rest_read() -> None:
    data = bytearray(kept_volume())
    at, _flags = entry_sets(bytes(data))["cards.txt"]
    data[at + 70] ^= 0x20  # a letter of its name: the set checksum no longer holds
    result = extract(bytes(data), "usb.img")
    assert result.status == "unscannable" and "fails its checksum" in (result.reason or "")
    assert SSN in result.text and CARD not in result.text


def test_a_fat_chain_that_loops_is_named() -> None:
    data = bytearray(kept_volume())
    at, _flags = entry_sets(bytes(data))["fragmented.txt"]
    first = struct.unpack_from("<I", data, at + 52)[0]
    fat = struct.unpack_from("<I", data, 80)[0] * 512
    struct.pack_into("<I", data, fat + 4 * first, first)  # its first cluster leads back to itself
    result = extract(bytes(data), "usb.img")
    assert result.status == "unscannable" and "fragmented.txt (cluster chain shorter than the file)" in (result.reason or "")
    assert IBAN in result.text  # the CSV's IBAN: the other files are read


def test_a_cut_volume_names_what_it_lost() -> None:
    data = kept_volume()
    cut = data.rfind(f"card {CARD}".encode()) - 200_000  # inside cards.txt
    result = extract(data[:cut], "cut.img")
    assert result.status == "unscannable" and "cards.txt" in (result.reason or "")
    assert SSN in result.text


def test_a_file_longer_than_the_budget_is_a_bomb_not_an_allocation() -> None:
    data = bytearray(kept_volume())
    at, _flags = entry_sets(bytes(data))["empty.txt"]
    struct.pack_into("<Q", data, at + 56, 1 << 40)  # 1 TiB of data length, no valid data
    struct.pack_into("<H", data, at + 2, _checksum(bytes(data[at : at + 32 * (data[at + 1] + 1)])))
    result = extract(bytes(data), "usb.img")
    assert result.status == "unscannable" and "decompression bomb?" in (result.reason or "")


def _checksum(entries: bytes) -> int:
    total = 0
    for index, byte in enumerate(entries):
        if index not in (2, 3):
            total = (((total << 15) | (total >> 1)) + byte) & 0xFFFF
    return total


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 1 << 23), st.integers(0, 255)), min_size=1, max_size=16))
def test_damaged_volumes_never_crash_the_reader(changes: list[tuple[int, int]]) -> None:
    data = bytearray(kept_volume())
    for offset, value in changes:  # most in the boot sector, the FAT and the root directory
        data[offset % 65_536 if offset % 3 else offset % len(data)] = value
    try:
        for _name, content in disk_members(bytes(data), Budget(DEFAULT_LIMITS, len(data)), "x.img"):
            assert isinstance(content, bytes)
    except (Unscannable, EncryptedContent):
        pass
