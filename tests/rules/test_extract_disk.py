"""Virtual and raw disks: NTFS volumes made by mkntfs and filled by ntfscp (ntfs-3g, without
mounting), FAT12/16/32 volumes made by mkfs.fat and filled by mtools, ext2/3/4 volumes written
from a folder by mkfs (`-d`), partitioned by sfdisk (MBR and GPT), converted by qemu-img to VHD,
VHDX, VMDK and qcow2."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.detectors import scan_text
from rules.extract import Limits, extract
from rules.extract.budget import DEFAULT_LIMITS, Budget, EncryptedContent, Unscannable
from rules.extract.sniff import sniff
from rules.extract.volume import disk_members
from tests.fixtures.realparts import require_binary

SSN, CARD = "078-05-1120", "4111 1111 1111 1111"
FILES = {
    "payroll.txt": f"SSN {SSN}\n".encode(),
    "cards.txt": f"card {CARD}\n".encode() * 30_000,  # 750 kB: in data runs, not in its record
    "Übersicht.csv": b"name,iban\nAnna,DE89370400440532013000\n",
}


def ntfs_volume(tmp_path: Path, files: dict[str, bytes] = FILES, size_mb: int = 20, streams: bool = True) -> bytes:
    mkntfs, ntfscp = require_binary("mkntfs", "ntfs-3g"), require_binary("ntfscp", "ntfs-3g")
    volume = tmp_path / "volume.img"
    with volume.open("wb") as out:
        out.truncate(size_mb << 20)
    subprocess.run([mkntfs, "-Q", "-F", "-q", str(volume)], check=True, capture_output=True)
    for index, (name, content) in enumerate(files.items()):
        source = tmp_path / f"source{index}"
        source.write_bytes(content)
        subprocess.run([ntfscp, "-q", str(volume), str(source), name], check=True, capture_output=True)
    if streams:  # an alternate data stream on the first file
        hidden = tmp_path / "hidden"
        hidden.write_bytes(b"ssn 219-09-9999\n")
        subprocess.run([ntfscp, "-q", "-N", "secret", str(volume), str(hidden), next(iter(files))], check=True,
                       capture_output=True)
    return volume.read_bytes()


def partitioned(tmp_path: Path, volume: bytes, label: str) -> Path:
    sfdisk = require_binary("sfdisk", "fdisk")
    disk = tmp_path / f"disk-{label}.img"
    sectors = len(volume) // 512
    with disk.open("wb") as out:
        out.truncate(len(volume) + (4 << 20))
    kind = "7" if label == "dos" else "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
    subprocess.run([sfdisk, "-q", "--label", label, str(disk)], input=f"start=2048, size={sectors}, type={kind}\n".encode(),
                   check=True, capture_output=True)
    with disk.open("r+b") as out:
        out.seek(2048 * 512)
        out.write(volume)
    return disk


def converted(tmp_path: Path, disk: Path, fmt: str, *options: str) -> bytes:
    qemu = require_binary("qemu-img", "qemu-utils")
    out = tmp_path / f"disk.{fmt}"
    subprocess.run([qemu, "convert", "-f", "raw", "-O", fmt, *options, str(disk), str(out)], check=True, capture_output=True)
    return out.read_bytes()


def test_an_ntfs_volume_gives_its_files_and_streams_byte_for_byte(tmp_path: Path) -> None:
    data = ntfs_volume(tmp_path)
    assert sniff(data, "volume.bin") == "disk"
    got = dict(disk_members(data, Budget(DEFAULT_LIMITS, len(data)), "v.img"))
    assert got == {**FILES, "payroll.txt:secret": b"ssn 219-09-9999\n"}  # no NTFS metadata file among them
    result = extract(data, "v.img")
    assert result.status == "ok", result.reason
    assert {"us_ssn", "credit_card", "iban"} <= {f.detector for f in scan_text(result.text)}


@pytest.mark.parametrize(("label", "fmt", "options"), [
    ("dos", None, ()), ("gpt", None, ()),
    ("dos", "vpc", ()), ("gpt", "vpc", ("-o", "subformat=fixed")),
    ("dos", "vhdx", ()), ("gpt", "vhdx", ("-o", "subformat=fixed")),
])
def test_partitioned_and_virtual_disks(tmp_path: Path, label: str, fmt: str | None, options: tuple[str, ...]) -> None:
    disk = partitioned(tmp_path, ntfs_volume(tmp_path, streams=False), label)
    data = disk.read_bytes() if fmt is None else converted(tmp_path, disk, fmt, *options)
    assert sniff(data, "x.bin") == "disk"
    result = extract(data, "backup.vhd")
    assert result.status == "ok", result.reason
    paths = {p.path for p in result.parts}
    assert {"backup.vhd/partition 1/payroll.txt", "backup.vhd/partition 1/cards.txt"} <= paths
    assert result.text.count(CARD) == 30_000 and SSN in result.text


def fat_volume(tmp_path: Path, bits: int) -> bytes:
    mkfs, mcopy, mmd = (require_binary("mkfs.fat", "dosfstools"), require_binary("mcopy", "mtools"),
                        require_binary("mmd", "mtools"))
    volume = tmp_path / f"fat{bits}.img"
    with volume.open("wb") as out:
        out.truncate({12: 2, 16: 32, 32: 40}[bits] << 20)
    subprocess.run([mkfs, "-F", str(bits), str(volume)], check=True, capture_output=True)
    subprocess.run([mmd, "-i", str(volume), "::/Finance", "::/Finance/2026"], check=True, capture_output=True)
    for index, (name, content) in enumerate(FILES.items()):
        source = tmp_path / f"f{index}"
        source.write_bytes(content)
        target = f"::/Finance/2026/{name}" if index == 0 else f"::/{name}"
        subprocess.run([mcopy, "-i", str(volume), str(source), target], check=True, capture_output=True)
    return volume.read_bytes()


@pytest.mark.parametrize("bits", [12, 16, 32])
def test_fat_volumes_give_their_files_under_their_long_names(tmp_path: Path, bits: int) -> None:
    files = FILES if bits != 12 else {k: v[:200_000] for k, v in FILES.items()}  # a 2 MB FAT12 floppy-sized volume
    data = fat_volume(tmp_path, bits) if bits != 12 else _small_fat12(tmp_path, files)
    assert sniff(data, "usb.bin") == "disk"
    got = dict(disk_members(data, Budget(DEFAULT_LIMITS, len(data)), "usb.img"))
    assert got == {"Finance/2026/payroll.txt": files["payroll.txt"], "cards.txt": files["cards.txt"],
                   "Übersicht.csv": files["Übersicht.csv"]}


def _small_fat12(tmp_path: Path, files: dict[str, bytes]) -> bytes:
    global FILES
    saved, FILES = FILES, files
    try:
        return fat_volume(tmp_path, 12)
    finally:
        FILES = saved


def test_a_fat_partition_in_a_vhd_is_read(tmp_path: Path) -> None:
    disk = partitioned(tmp_path, fat_volume(tmp_path, 32), "dos")
    result = extract(converted(tmp_path, disk, "vpc"), "usb.vhd")
    assert result.status == "ok", result.reason
    assert "usb.vhd/partition 1/Finance/2026/payroll.txt" in {p.path for p in result.parts}
    assert SSN in result.text and result.text.count(CARD) == 30_000


def test_a_fat_chain_that_loops_is_named(tmp_path: Path) -> None:
    data = bytearray(fat_volume(tmp_path, 16))
    reserved, fat_start = struct.unpack_from("<H", data, 14)[0], struct.unpack_from("<H", data, 14)[0] * 512
    at = data.find(b"CARDS   TXT")
    first = struct.unpack_from("<H", data, at + 26)[0]
    struct.pack_into("<H", data, fat_start + 2 * (first + 3), first)  # the fourth cluster leads back to the first
    assert reserved
    result = extract(bytes(data), "loop.img")
    assert result.status == "unscannable" and "cards.txt (cluster chain shorter than the file)" in (result.reason or "")


@pytest.mark.parametrize("subformat", ["monolithicSparse", "streamOptimized"])
def test_vmware_disks_and_an_ova_export(tmp_path: Path, subformat: str) -> None:
    """A VMDK as VMware Workstation keeps it, and stream-optimized (deflated grains) as an OVA
    export carries it: in a tar with its descriptor, the way `ovftool` writes one."""
    disk = partitioned(tmp_path, ntfs_volume(tmp_path, streams=False), "dos")
    vmdk = converted(tmp_path, disk, "vmdk", "-o", f"subformat={subformat}")
    result = extract(vmdk, "disk.vmdk")
    assert result.status == "ok", result.reason
    assert result.text.count(CARD) == 30_000 and SSN in result.text
    if subformat == "streamOptimized":
        import io
        import tarfile

        ova = io.BytesIO()
        with tarfile.open(fileobj=ova, mode="w") as archive:
            for name, content in (("vm.ovf", b"<Envelope/>"), ("vm-disk1.vmdk", vmdk)):
                info = tarfile.TarInfo(name)
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
        result = extract(ova.getvalue(), "vm.ova")
        assert result.status == "ok", result.reason
        assert "vm.ova/vm-disk1.vmdk/partition 1/payroll.txt" in {p.path for p in result.parts}


def test_a_differencing_disk_is_named(tmp_path: Path) -> None:
    """A differencing VHD keeps only what changed since its parent: not read, and said so (its
    footer's disk type set to 4, as a child disk's is; qemu-img writes none)."""
    disk = partitioned(tmp_path, ntfs_volume(tmp_path, streams=False), "dos")
    data = bytearray(converted(tmp_path, disk, "vpc", "-o", "subformat=fixed"))
    struct.pack_into(">I", data, len(data) - 512 + 60, 4)
    result = extract(bytes(data), "child.vhd")
    assert result.status == "unscannable" and "differencing VHD" in (result.reason or "")


def ext_volume(tmp_path: Path, kind: str, offset: int = 0, size_mb: int = 24) -> Path:
    """An ext2/3/4 volume that mkfs writes from a folder (`-d`, no mounting): nested folders, a
    Unicode name, a 1 MB file (ext2/3: indirect blocks), a sparse file of ten islands of data
    (ext4: more extents than the inode holds, so an index node) and an empty file."""
    mkfs = require_binary(f"mkfs.{kind}", "e2fsprogs")
    source = tmp_path / f"src-{kind}"
    (source / "home" / "ann" / "Dokumente").mkdir(parents=True)
    (source / "home" / "ann" / "Dokumente" / "Gehälter.txt").write_bytes(FILES["payroll.txt"])
    (source / "cards.txt").write_bytes(FILES["cards.txt"])
    (source / "empty.txt").write_bytes(b"")
    with (source / "sparse.log").open("wb") as out:
        for island in range(10):
            out.seek(island * (256 << 10))
            out.write(f"island {island} ssn 219-09-9999\n".encode() * 200)
    image = tmp_path / f"{kind}.img"
    if not image.exists():
        with image.open("wb") as out:
            out.truncate(offset + (size_mb << 20))
    options = ["-E", f"offset={offset}"] if offset else []
    subprocess.run([mkfs, "-q", "-F", "-d", str(source), *options, str(image), f"{size_mb}M"], check=True,
                   capture_output=True)
    return image


@pytest.mark.parametrize("kind", ["ext4", "ext3", "ext2"])
def test_ext_volumes_give_their_files_byte_for_byte(tmp_path: Path, kind: str) -> None:
    data = ext_volume(tmp_path, kind).read_bytes()
    assert sniff(data, "sd.bin") == "disk"
    got = dict(disk_members(data, Budget(DEFAULT_LIMITS, len(data)), "sd.img"))
    sparse = (tmp_path / f"src-{kind}" / "sparse.log").read_bytes()
    assert got == {"home/ann/Dokumente/Gehälter.txt": FILES["payroll.txt"], "cards.txt": FILES["cards.txt"],
                   "empty.txt": b"", "sparse.log": sparse}


@pytest.mark.parametrize("options", [(), ("-c",), ("-c", "-o", "compression_type=zstd")])
def test_qcow2_images_of_a_partitioned_linux_disk(tmp_path: Path, options: tuple[str, ...]) -> None:
    """A KVM guest's disk: an ext4 partition in an MBR disk in qcow2, plain or compressed (deflate
    or zstd clusters)."""
    sfdisk = require_binary("sfdisk", "fdisk")
    disk = tmp_path / "ext4.img"
    with disk.open("wb") as out:
        out.truncate(26 << 20)
    subprocess.run([sfdisk, "-q", "--label", "dos", str(disk)], input=b"start=2048, size=49152, type=83\n",
                   check=True, capture_output=True)
    ext_volume(tmp_path, "ext4", offset=1 << 20)
    data = converted(tmp_path, disk, "qcow2", *options)
    assert sniff(data, "vm.bin") == "disk"
    result = extract(data, "vm.qcow2")
    assert result.status == "ok", result.reason
    assert "vm.qcow2/partition 1/home/ann/Dokumente/Gehälter.txt" in {p.path for p in result.parts}
    assert result.text.count(CARD) == 30_000 and SSN in result.text


def test_a_disk_with_another_file_system_is_named(tmp_path: Path) -> None:
    volume = bytearray(ntfs_volume(tmp_path, streams=False))
    volume[3:11] = b"EXFAT   "
    volume[0:3] = b"\xeb\x76\x90"
    volume[108] = 30  # no sector size exFAT allows: a damaged exFAT boot sector, named as such
    disk = partitioned(tmp_path, bytes(volume), "gpt")
    result = extract(disk.read_bytes(), "usb.img")
    assert result.status == "unscannable" and "damaged exFAT file system not read" in (result.reason or "")
    volume[0:11] = b"\xeb\x58\x90HFSJ    "  # nothing this package reads
    result = extract(partitioned(tmp_path, bytes(volume), "gpt").read_bytes(), "usb.img")
    assert result.status == "unscannable" and "(file system not read)" in (result.reason or "")


@pytest.mark.parametrize("head", [b"KDMV", b"KDMV" + bytes(60), b"vhdxfile", b"QFI\xfb\x00\x00\x00\x03", b"conectix"])
def test_a_virtual_disk_header_cut_short_is_named(head: bytes) -> None:
    """Found by hypothesis (tests/rules/test_properties.py): four bytes of a VMDK's magic raised a
    struct error from the header's fields."""
    result = extract(head, "disk.bin")
    assert result.status == "unscannable" and "disk.bin: " in (result.reason or "")


def test_a_truncated_disk_names_what_it_lost(tmp_path: Path) -> None:
    data = ntfs_volume(tmp_path, streams=False)
    cut = data.rfind(f"card {CARD}".encode()) - 100_000  # inside cards.txt's data
    result = extract(data[:cut], "cut.img")
    assert result.status == "unscannable"
    assert SSN in result.text  # the small file lives in its MFT record


def test_a_damaged_mft_record_is_named_not_skipped(tmp_path: Path) -> None:
    data = bytearray(ntfs_volume(tmp_path, streams=False))
    record = _records(bytes(data))["payroll.txt"]
    data[record + 510] ^= 0xFF  # the first sector's update sequence check
    result = extract(bytes(data), "torn.img")
    assert result.status == "unscannable" and "torn write" in (result.reason or "")


def _records(data: bytes) -> dict[str, int]:
    """Offset of each file's MFT record, by the name its record holds (records 0-23 skipped)."""
    sector, per_cluster = struct.unpack_from("<HB", data, 11)
    mft = struct.unpack_from("<Q", data, 48)[0] * sector * per_cluster
    found = {}
    for number in range(24, 4096):
        at = mft + 1024 * number
        if data[at : at + 4] != b"FILE":
            continue
        pos = at + struct.unpack_from("<H", data, at + 20)[0]
        while pos < at + 1024 and struct.unpack_from("<I", data, pos)[0] not in (0x30, 0xFFFFFFFF):
            pos += struct.unpack_from("<I", data, pos + 4)[0] or 1024  # the next attribute
        if pos >= at + 1024 or struct.unpack_from("<I", data, pos)[0] != 0x30:
            continue
        content = pos + struct.unpack_from("<H", data, pos + 20)[0]  # the $FILE_NAME attribute's content
        length = data[content + 64]
        found[data[content + 66 : content + 66 + 2 * length].decode("utf-16-le")] = at
    return found


def test_overlapping_runs_are_a_bomb(tmp_path: Path) -> None:
    """Forty records made copies of the big file's record (its data runs, its name): each reads
    the same 750 kB, and together they pass the expansion limit."""
    files = {"cards.txt": FILES["cards.txt"], **{f"copy{i}.txt": b"x" * 5000 for i in range(40)}}
    data = bytearray(ntfs_volume(tmp_path, files=files, streams=False))
    records = _records(bytes(data))
    source = bytes(data[records["cards.txt"] : records["cards.txt"] + 1024])
    for name, record in records.items():
        if name != "cards.txt":  # everything after the header, update sequence included, stays consistent
            data[record + 0x30 : record + 1024] = source[0x30:]
    result = extract(bytes(data), "bomb.img", limits=Limits(max_expanded_bytes=8 << 20))
    assert result.status == "unscannable" and "decompression bomb?" in (result.reason or "")


def test_efs_encrypted_streams_make_the_image_encrypted(tmp_path: Path) -> None:
    data = bytearray(ntfs_volume(tmp_path, files={"cards.txt": FILES["cards.txt"]}, streams=False))
    record = _records(bytes(data))["cards.txt"]
    pos = struct.unpack_from("<H", data, record + 20)[0]
    while struct.unpack_from("<I", data, record + pos)[0] != 0x80:
        pos += struct.unpack_from("<I", data, record + pos + 4)[0]
    flags = struct.unpack_from("<H", data, record + pos + 12)[0]
    struct.pack_into("<H", data, record + pos + 12, flags | 0x4000)
    result = extract(bytes(data), "efs.img")
    assert result.status == "encrypted"


_SMALL: dict[str, bytes] = {}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 1 << 22), st.integers(0, 255)), min_size=1, max_size=16))
def test_damaged_volumes_never_crash_the_reader(tmp_path: Path, changes: list[tuple[int, int]]) -> None:
    if "volume" not in _SMALL:
        _SMALL["volume"] = ntfs_volume(tmp_path, files={"a.txt": b"ssn 078-05-1120", "b.txt": b"x" * 20_000},
                                       size_mb=4)
    data = bytearray(_SMALL["volume"])
    mft = struct.unpack_from("<Q", data, 48)[0] * 4096
    for offset, value in changes:  # most changes in the MFT, some anywhere
        where = mft + offset % 65_536 if offset % 3 else offset % len(data)
        data[where % len(data)] = value
    try:
        for _name, content in disk_members(bytes(data), Budget(DEFAULT_LIMITS, len(data)), "x.img"):
            assert isinstance(content, bytes)
    except (Unscannable, EncryptedContent):
        pass
