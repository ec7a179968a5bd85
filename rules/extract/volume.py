"""Virtual disks and raw disk images: VHD, VHDX, VMDK, qcow2, MBR and GPT partitions, and the
file systems on them.

Windows mounts a `.vhd` or `.vhdx` with a double click, as it does an `.iso`, and a virtual disk
is a folder's worth of files in one file that mail and web filters pass unread. A `.vhd`, a
`.vmdk` and a raw `.img` of a disk were `unscannable` ("no text to extract from binary data").
Read now:

- **VHD** (Microsoft's Virtual Hard Disk Image Format Specification): the 512-byte footer
  (``conectix``) at the end; a fixed disk is the data before it, a dynamic one a block allocation
  table (``cxsparse`` header) of blocks of 2 MiB, each after its sector bitmap, unallocated
  blocks reading as zeros. Differencing disks (their data lives partly in a parent) are named
  `unscannable`.
- **VHDX** ([MS-VHDX]; Windows' default since 8): the region table, the metadata (block, disk and
  sector sizes) and the block allocation table, whose entries interleave a sector bitmap entry
  after every "chunk ratio" payload blocks; blocks not present read as zeros. Differencing VHDX
  is named `unscannable`.
- **VMDK** (VMware's Virtual Disk Format 5.0): sparse extents through their grain directory and
  grain tables, stream-optimized ones (deflated grains; what an OVA export holds) too, the header
  taken from the footer when it says so. Descriptor-only VMDKs (the data in other files) are
  named `unscannable`.
- **qcow2** (QEMU, versions 2 and 3): the L1 and L2 tables, compressed clusters (deflate, or
  zstd), clusters of zeros; images with a backing file are named `unscannable`, encrypted ones
  `encrypted`.
- **Partitions**: an MBR's four primary entries (a protective 0xEE entry means GPT), a GPT's
  entries (``EFI PART`` at LBA 1); a disk with neither is one volume.
- **File systems**: NTFS (`rules.extract.ntfs`, alternate data streams included), FAT12/16/32
  (`rules.extract.fat`), exFAT (`rules.extract.exfat`) and ext2/3/4 (`rules.extract.extfs`);
  others (HFS+, APFS, XFS, Btrfs) are named `unscannable`.

Each file counts against the budget's entries and expanded bytes before it is read (a volume is
a container whose extents can overlap as a zip's can). Every offset and length is checked
against the image; a damaged structure is named and the rest still read.
"""

from __future__ import annotations

import functools
import io
import struct
import uuid
import zlib
from collections.abc import Iterator

from rules.extract.blockdev import SECTOR, Disk, blockwise
from rules.extract.budget import Budget, EncryptedContent, Unscannable
from rules.extract.exfat import exfat_members, is_exfat
from rules.extract.extfs import ext_members, is_ext
from rules.extract.fat import fat_members, is_fat
from rules.extract.ntfs import is_ntfs, ntfs_members

VHD_FOOTER = b"conectix"
_DYNAMIC_HEADER = b"cxsparse"
_MAX_PARTITIONS = 128
_NAMES_SHOWN = 200


def is_virtual_disk(data: bytes) -> bool:
    """A VHD (its footer at the end, or a dynamic disk's copy at the start), or a VHDX/VMDK by
    their signatures (so that they are named, not taken for unknown binaries)."""
    return (data[-SECTOR:-SECTOR + 8] == VHD_FOOTER or data[-511:-503] == VHD_FOOTER or data[:8] == VHD_FOOTER
            or data[:8] == b"vhdxfile" or data[:4] in (b"KDMV", _QCOW2))


def is_volume_or_partitioned(data: bytes) -> bool:
    """An NTFS, FAT or exFAT boot sector, an ext2/3/4 superblock, or a disk with an MBR (every
    entry's boot flag 0x00 or 0x80, at least one partition inside the disk) or a GPT."""
    if is_ntfs(data) or is_fat(data[:SECTOR]) or is_exfat(data[:SECTOR]) or is_ext(data[1024:2048]):
        return True
    return len(data) > 2 * SECTOR and bool(_partitions(Disk(data, len(data))))


def disk_members(data: bytes, budget: Budget, what: str) -> Iterator[tuple[str, bytes]]:
    """(path, content) of every file of every volume (NTFS, FAT, exFAT, ext) of a virtual or raw disk."""
    try:
        disk = _virtual_disk(data, what) if is_virtual_disk(data) else Disk(data, len(data))
    except (struct.error, IndexError, ValueError, OverflowError):  # a header shorter than its fields
        raise Unscannable(f"{what}: damaged virtual disk header") from None
    boot = disk[0:SECTOR]
    bare = is_ntfs(boot) or is_fat(boot) or is_exfat(boot) or is_ext(disk[1024:2048])
    volumes = [(0, disk.size)] if bare else _partitions(disk)
    unread: list[str] = []
    for index, (start, length) in enumerate(volumes):
        boot = disk[start : start + SECTOR]
        prefix = f"partition {index + 1}/" if len(volumes) > 1 or start else ""
        reader = (ntfs_members if is_ntfs(boot) else fat_members if is_fat(boot)
                  else exfat_members if is_exfat(boot) else ext_members if is_ext(disk[start + 1024 : start + 2048]) else None)
        if reader is None:
            unread.append(f"{prefix or 'volume '}({_filesystem(boot)} not read)")
            continue
        try:
            yield from reader(disk, start, length, budget, what, prefix, unread)
        except (struct.error, IndexError, ValueError, OverflowError):  # a field that points past its structure
            unread.append(f"{prefix or 'volume '}(damaged file system structures)")
    if not volumes:
        raise Unscannable(f"{what}: disk image without a partition or file system this reader knows")
    if unread:
        raise Unscannable(f"{what}: disk image partly read: " + "; ".join(unread)[:_NAMES_SHOWN])


def _filesystem(boot: bytes) -> str:
    if boot[82:87] == b"FAT32" or boot[54:59] in (b"FAT12", b"FAT16"):
        return "FAT file system"
    if boot[3:11] == b"EXFAT   ":
        return "damaged exFAT file system"
    return "file system"


# VHD


def _virtual_disk(data: bytes, what: str) -> Disk:
    if data[:8] == b"vhdxfile":
        return _vhdx(data, what)
    if data[:4] == b"KDMV":
        return _vmdk(data, what)
    if data[:4] == _QCOW2:
        return _qcow2(data, what)
    footer = data[-SECTOR:] if data[-SECTOR:-SECTOR + 8] == VHD_FOOTER else (
        data[-511:] + b"\x00" if data[-511:-503] == VHD_FOOTER else data[:SECTOR])
    disk_type, size = struct.unpack_from(">I", footer, 60)[0], struct.unpack_from(">Q", footer, 48)[0]
    if disk_type == 2:  # fixed: the data, then the footer
        body = len(data) - (SECTOR if data[-SECTOR:-SECTOR + 8] == VHD_FOOTER else 511)
        return Disk(data, min(size, body))
    if disk_type == 4:
        raise Unscannable(f"{what}: differencing VHD (its data is partly in a parent disk, not read)")
    if disk_type != 3:
        raise Unscannable(f"{what}: VHD of disk type {disk_type}")
    header_at = struct.unpack_from(">Q", footer, 16)[0]
    if header_at + 64 > len(data) or data[header_at : header_at + 8] != _DYNAMIC_HEADER:
        raise Unscannable(f"{what}: dynamic VHD without its header")
    table_at, entries, block = (struct.unpack_from(">Q", data, header_at + 16)[0],
                                *struct.unpack_from(">II", data, header_at + 28))
    if not block or block % SECTOR or table_at + 4 * entries > len(data) or entries * block < size:
        raise Unscannable(f"{what}: damaged dynamic VHD header")
    bitmap = -(-(block // SECTOR // 8) // SECTOR) * SECTOR

    def piece(index: int, within: int, take: int) -> bytes:
        if index >= entries:
            raise Unscannable(f"{what}: dynamic VHD block {index} beyond its allocation table")
        sector = struct.unpack_from(">I", data, table_at + 4 * index)[0]  # looked up, not unpacked whole
        if sector == 0xFFFFFFFF:
            return bytes(take)
        at = sector * SECTOR + bitmap + within
        if at + take > len(data):
            raise Unscannable(f"{what}: dynamic VHD block {index} lies past the file's end")
        return data[at : at + take]

    return Disk(data, size, blockwise(block, piece))


# VMDK (VMware's Virtual Disk Format 5.0): a sparse extent's header, its grain directory and
# grain tables; stream-optimized extents (what OVA exports hold) keep each grain deflated after a
# 12-byte marker, and may keep the real header in a footer.

_VMDK_COMPRESSED, _VMDK_AT_END = 1 << 16, 0xFFFFFFFFFFFFFFFF
_MAX_VMDK_GRAINS = 1 << 22


def _vmdk(data: bytes, what: str) -> Disk:
    header = data[:SECTOR]
    if struct.unpack_from("<Q", header, 56)[0] == _VMDK_AT_END and len(data) >= 3 * SECTOR:
        footer = data[-3 * SECTOR : -2 * SECTOR]  # footer marker, footer, end-of-stream marker
        if footer[:4] == b"KDMV":
            header = footer
    flags, capacity, grain, directory_at, per_table = (struct.unpack_from("<I", header, 8)[0],
                                                       *struct.unpack_from("<QQ", header, 12),
                                                       struct.unpack_from("<Q", header, 56)[0],
                                                       struct.unpack_from("<I", header, 44)[0])
    if not grain or grain & (grain - 1) or not per_table or directory_at == _VMDK_AT_END:
        raise Unscannable(f"{what}: VMDK without a grain directory (a descriptor-only or damaged disk)")
    grains = -(-capacity // grain)
    if grains > _MAX_VMDK_GRAINS:
        raise Unscannable(f"{what}: VMDK of {capacity * SECTOR} bytes, too large to map")
    tables = -(-grains // per_table)
    if directory_at * SECTOR + 4 * tables > len(data):
        raise Unscannable(f"{what}: VMDK grain directory lies past the file's end")
    directory = struct.unpack_from(f"<{tables}I", data, directory_at * SECTOR)
    grain_bytes, compressed = grain * SECTOR, bool(flags & _VMDK_COMPRESSED)

    @functools.lru_cache(maxsize=64)  # a file system reads a grain's records and clusters one by one
    def grain_at(index: int) -> bytes:
        table = directory[index // per_table]
        entry_at = table * SECTOR + 4 * (index % per_table)
        sector = 0 if table == 0 or entry_at + 4 > len(data) else struct.unpack_from("<I", data, entry_at)[0]
        if sector <= 1:  # unallocated, or a grain of zeros
            return bytes(grain_bytes)
        at = sector * SECTOR
        if not compressed:
            if at + grain_bytes > len(data):
                raise Unscannable(f"{what}: VMDK grain {index} lies past the file's end")
            return data[at : at + grain_bytes]
        size = struct.unpack_from("<I", data, at + 8)[0] if at + 12 <= len(data) else 0
        if not size or at + 12 + size > len(data):
            raise Unscannable(f"{what}: damaged compressed VMDK grain {index}")
        try:
            out = zlib.decompressobj().decompress(data[at + 12 : at + 12 + size], grain_bytes)
        except zlib.error as exc:
            raise Unscannable(f"{what}: corrupt compressed VMDK grain {index} ({exc})") from None
        return out.ljust(grain_bytes, b"\x00")

    return Disk(data, capacity * SECTOR, blockwise(grain_bytes, lambda index, at, take: grain_at(index)[at : at + take]))


# qcow2 (QEMU's image format, versions 2 and 3): the header, the L1 table of L2 tables, each L2
# entry a cluster's offset, a compressed cluster (raw deflate; zstd in v3 when the header says
# so) or a cluster of zeros. Backing files (a child image) and encryption are named.

_QCOW2 = b"QFI\xfb"
_QCOW2_COMPRESSED, _QCOW2_ZERO, _QCOW2_OFFSET = 1 << 62, 1, 0x00FFFFFFFFFFFE00


def _qcow2(data: bytes, what: str) -> Disk:
    version, backing, _, bits, size, crypt, l1_entries, l1_at = struct.unpack_from(">IQIIQIIQ", data, 4)
    if version not in (2, 3) or not 9 <= bits <= 21:
        raise Unscannable(f"{what}: qcow2 version {version} with clusters of 2^{bits} bytes")
    if backing:
        raise Unscannable(f"{what}: qcow2 with a backing file (its data is partly in a parent image, not read)")
    if crypt:
        raise EncryptedContent(f"{what}: encrypted qcow2 image")
    zstd = version == 3 and len(data) > 104 and struct.unpack_from(">I", data, 100)[0] > 104 and data[104] == 1
    cluster = 1 << bits
    if l1_at + 8 * l1_entries > len(data):
        raise Unscannable(f"{what}: qcow2 L1 table lies past the file's end")
    per_l2, shift = cluster // 8, 62 - (bits - 8)

    @functools.lru_cache(maxsize=64)
    def cluster_at(index: int) -> bytes:
        slot = index // per_l2  # the L1 entry is looked up, the table not unpacked whole
        table = struct.unpack_from(">Q", data, l1_at + 8 * slot)[0] & _QCOW2_OFFSET if slot < l1_entries else 0
        if not table:
            return bytes(cluster)
        entry_at = table + 8 * (index % per_l2)
        if entry_at + 8 > len(data):
            raise Unscannable(f"{what}: qcow2 L2 table lies past the file's end")
        entry = struct.unpack_from(">Q", data, entry_at)[0]
        if entry & _QCOW2_COMPRESSED:
            offset = entry & ((1 << shift) - 1)
            sectors = ((entry >> shift) & ((1 << (bits - 8)) - 1)) + 1
            packed = data[offset : offset + sectors * SECTOR]
            import zstandard

            try:
                if zstd:  # read no more than a cluster: a small frame can stand for gigabytes
                    with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(packed)) as stream:
                        return stream.read(cluster).ljust(cluster, b"\x00")
                return zlib.decompressobj(-15).decompress(packed, cluster).ljust(cluster, b"\x00")
            except (zlib.error, ValueError, zstandard.ZstdError) as exc:
                raise Unscannable(f"{what}: corrupt compressed qcow2 cluster {index} ({exc})") from None
        offset = entry & _QCOW2_OFFSET
        if entry & _QCOW2_ZERO or not offset:
            return bytes(cluster)
        if offset + cluster > len(data):
            raise Unscannable(f"{what}: qcow2 cluster {index} lies past the file's end")
        return data[offset : offset + cluster]

    return Disk(data, size, blockwise(cluster, lambda index, at, take: cluster_at(index)[at : at + take]))


# VHDX ([MS-VHDX]): regions found by the region table, the metadata's block size and disk size,
# the block allocation table with a sector bitmap entry after every `chunk ratio` payload entries.

_BAT_REGION = uuid.UUID("2DC27766-F623-4200-9D64-115E9BFD4A08")
_METADATA_REGION = uuid.UUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")
_FILE_PARAMETERS = uuid.UUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
_DISK_SIZE = uuid.UUID("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
_LOGICALSECTOR = uuid.UUID("8141BF1D-A96F-4709-BA47-F233A8FAAB5F")
_PRESENT, _ZERO_STATES = 6, (0, 1, 2, 3)


def _vhdx(data: bytes, what: str) -> Disk:
    regions = _vhdx_regions(data, what)
    if _BAT_REGION not in regions or _METADATA_REGION not in regions:
        raise Unscannable(f"{what}: VHDX without its allocation table or metadata")
    items = _vhdx_metadata(data, *regions[_METADATA_REGION], what)
    try:
        block, flags = struct.unpack_from("<II", items[_FILE_PARAMETERS])
        size = struct.unpack_from("<Q", items[_DISK_SIZE])[0]
        sector = struct.unpack_from("<I", items[_LOGICALSECTOR])[0]
    except (KeyError, struct.error):
        raise Unscannable(f"{what}: VHDX metadata without block size, disk size or sector size") from None
    if flags & 0x02:
        raise Unscannable(f"{what}: differencing VHDX (its data is partly in a parent disk, not read)")
    if not block or block & (block - 1) or sector not in (512, 4096):
        raise Unscannable(f"{what}: VHDX with a block of {block} bytes and sectors of {sector}")
    ratio = (1 << 23) * sector // block
    at, length = regions[_BAT_REGION]
    entries = length // 8

    def piece(index: int, within: int, take: int) -> bytes:
        slot = index + index // ratio
        if slot >= entries:
            raise Unscannable(f"{what}: VHDX block {index} beyond its allocation table")
        entry = struct.unpack_from("<Q", data, at + 8 * slot)[0]
        state, megabyte = entry & 0x07, entry >> 20
        if state in _ZERO_STATES:
            return bytes(take)
        if state != _PRESENT:
            raise Unscannable(f"{what}: VHDX block {index} in state {state} (differencing) not read")
        start = (megabyte << 20) + within
        if start + take > len(data):
            raise Unscannable(f"{what}: VHDX block {index} lies past the file's end")
        return data[start : start + take]

    return Disk(data, size, blockwise(block, piece))


def _vhdx_regions(data: bytes, what: str) -> dict[uuid.UUID, tuple[int, int]]:
    """The region table (at 192 KiB, its copy at 256 KiB): GUID -> (offset, length)."""
    for table in (192 << 10, 256 << 10):
        if data[table : table + 4] != b"regi" or table + 16 > len(data):
            continue
        count = min(struct.unpack_from("<I", data, table + 8)[0], 2047)
        regions = {}
        for index in range(count):
            entry = table + 16 + 32 * index
            if entry + 32 > len(data):
                break
            guid = uuid.UUID(bytes_le=data[entry : entry + 16])
            offset, length = struct.unpack_from("<QI", data, entry + 16)
            if offset + length <= len(data):
                regions[guid] = (offset, length)
        return regions
    raise Unscannable(f"{what}: VHDX without a region table")


def _vhdx_metadata(data: bytes, at: int, length: int, what: str) -> dict[uuid.UUID, bytes]:
    if data[at : at + 8] != b"metadata":
        raise Unscannable(f"{what}: VHDX metadata region without its table")
    count = min(struct.unpack_from("<H", data, at + 10)[0], 2047)
    items = {}
    for index in range(count):
        entry = at + 32 + 32 * index
        if entry + 32 > at + length:
            break
        guid = uuid.UUID(bytes_le=data[entry : entry + 16])
        offset, size = struct.unpack_from("<II", data, entry + 16)
        if offset + size <= length:
            items[guid] = data[at + offset : at + offset + size]
    return items


# Partitions


def _partitions(disk: Disk) -> list[tuple[int, int]]:
    """(offset, length) of each partition of an MBR or GPT disk; empty for neither."""
    mbr = disk[0:SECTOR]
    if len(mbr) < SECTOR or mbr[510:512] != b"\x55\xaa":
        return []
    if any(mbr[446 + 16 * i] not in (0x00, 0x80) for i in range(4)):
        return []  # boot code, not a partition table (a volume's own boot sector)
    entries = [struct.unpack_from("<4xB3xII", mbr, 446 + 16 * i) for i in range(4)]
    if any(kind == 0xEE for kind, _, _ in entries) and disk[SECTOR : SECTOR + 8] == b"EFI PART":
        return _gpt(disk)
    return [(start * SECTOR, count * SECTOR) for kind, start, count in entries
            if kind and count and (start + count) * SECTOR <= disk.size]


def _gpt(disk: Disk) -> list[tuple[int, int]]:
    header = disk[SECTOR : 2 * SECTOR]
    table, count, size = struct.unpack_from("<QII", header, 72)
    if not 128 <= size <= 4096 or count > _MAX_PARTITIONS * 4:
        return []
    parts = []
    for index in range(min(count, _MAX_PARTITIONS)):
        entry = disk[table * SECTOR + index * size : table * SECTOR + (index + 1) * size]
        if len(entry) < 48 or entry[:16] == bytes(16):
            continue
        first, last = struct.unpack_from("<QQ", entry, 32)
        if first <= last and (last + 1) * SECTOR <= disk.size:
            parts.append((first * SECTOR, (last - first + 1) * SECTOR))
    return parts
