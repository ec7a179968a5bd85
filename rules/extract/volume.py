"""Virtual disks and raw disk images: VHD, VHDX, MBR and GPT partitions, NTFS and FAT volumes.

Windows mounts a `.vhd` or `.vhdx` with a double click, as it does an `.iso`, and a virtual disk
is a folder's worth of files in one file that mail and web filters pass unread. A `.vhd` and a
raw `.img` of a disk were `unscannable` ("no text to extract from binary data"). Read now:

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
- **Partitions**: an MBR's four primary entries (a protective 0xEE entry means GPT), a GPT's
  entries (``EFI PART`` at LBA 1); a disk with neither is one volume.
- **NTFS**: every record of the MFT (itself found through record 0's data runs, with the update
  sequence fixups applied), each file's unnamed `$DATA` and its named streams (alternate data
  streams, a classic hiding place: `report.txt:secret`), resident or in data runs, sparse runs
  read as zeros; paths from the `$FILE_NAME` parent references (Win32 names preferred to DOS
  8.3 ones). NTFS metadata files (`$MFT`, `$LogFile`...) are skipped. Compressed (LZNT1) streams
  and files whose attributes spill into other records (`$ATTRIBUTE_LIST`) are named unread;
  EFS-encrypted streams make the image `encrypted`.
- **FAT12, FAT16, FAT32** (USB sticks, SD cards, small virtual disks): the BPB, the FAT type from
  the cluster count, the fixed root directory or FAT32's root chain, VFAT long names and Windows
  NT's lower-case 8.3 flags, cluster chains (a loop or a chain shorter than its file is named).
  exFAT is named `unscannable`.

Each file counts against the budget's entries and expanded bytes before it is read (a volume is
a container whose extents can overlap as a zip's can). Every offset and length is checked
against the image; a damaged structure is named and the rest still read.
"""

from __future__ import annotations

import functools
import struct
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from rules.extract.budget import Budget, EncryptedContent, Unscannable

VHD_FOOTER = b"conectix"
_DYNAMIC_HEADER = b"cxsparse"
_SECTOR = 512
_MAX_PARTITIONS = 128
_MAX_RECORDS = 1 << 20
_MAX_RUNS = 65_536
_MAX_DIRECTORY_CLUSTERS = 4096
_NAMES_SHOWN = 200
# NTFS attribute types and flags
_FILE_NAME, _DATA, _ATTRIBUTE_LIST, _END = 0x30, 0x80, 0x20, 0xFFFFFFFF
_COMPRESSED, _ENCRYPTED = 0x0001, 0x4000
_ROOT, _EXTEND, _FIRST_USER_RECORD = 5, 11, 16


def is_virtual_disk(data: bytes) -> bool:
    """A VHD (its footer at the end, or a dynamic disk's copy at the start), or a VHDX/VMDK by
    their signatures (so that they are named, not taken for unknown binaries)."""
    return (data[-_SECTOR:-_SECTOR + 8] == VHD_FOOTER or data[-511:-503] == VHD_FOOTER or data[:8] == VHD_FOOTER
            or data[:8] == b"vhdxfile" or data[:4] == b"KDMV")


def is_ntfs_or_partitioned(data: bytes) -> bool:
    """An NTFS or FAT volume's boot sector, or a disk with an MBR (every entry's boot flag 0x00 or
    0x80, at least one partition inside the disk) or a GPT."""
    if data[3:11] == b"NTFS    " or _is_fat(data[:_SECTOR]):
        return True
    return len(data) > 2 * _SECTOR and bool(_partitions(_Disk(data, len(data))))


@dataclass
class _Disk:
    """A disk's bytes as a function of offset: the image itself, or a VHD's blocks."""

    data: bytes
    size: int
    read_at: Callable[[int, int], bytes] | None = None

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise Unscannable(f"a read of {length} bytes at {offset} lies past the disk's end")
        if self.read_at is None:
            return self.data[offset : offset + length]
        return self.read_at(offset, length)

    def __getitem__(self, span: slice) -> bytes:  # disk[a:b] as bytes would be
        start, stop = span.start or 0, min(span.stop if span.stop is not None else self.size, self.size)
        return self.read(start, max(0, stop - start)) if start < self.size else b""


def disk_members(data: bytes, budget: Budget, what: str) -> Iterator[tuple[str, bytes]]:
    """(path, content) of every file of every NTFS volume of a virtual or raw disk."""
    disk = _virtual_disk(data, what) if is_virtual_disk(data) else _Disk(data, len(data))
    boot = disk[0:_SECTOR]
    volumes = [(0, disk.size)] if boot[3:11] == b"NTFS    " or _is_fat(boot) else _partitions(disk)
    unread: list[str] = []
    for index, (start, length) in enumerate(volumes):
        boot = disk[start : start + _SECTOR]
        prefix = f"partition {index + 1}/" if len(volumes) > 1 or start else ""
        reader = _ntfs_members if boot[3:11] == b"NTFS    " else _fat_members if _is_fat(boot) else None
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
        return "exFAT file system"
    return "file system"


# VHD


def _virtual_disk(data: bytes, what: str) -> _Disk:
    if data[:8] == b"vhdxfile":
        return _vhdx(data, what)
    if data[:4] == b"KDMV":
        return _vmdk(data, what)
    footer = data[-_SECTOR:] if data[-_SECTOR:-_SECTOR + 8] == VHD_FOOTER else (
        data[-511:] + b"\x00" if data[-511:-503] == VHD_FOOTER else data[:_SECTOR])
    disk_type, size = struct.unpack_from(">I", footer, 60)[0], struct.unpack_from(">Q", footer, 48)[0]
    if disk_type == 2:  # fixed: the data, then the footer
        body = len(data) - (_SECTOR if data[-_SECTOR:-_SECTOR + 8] == VHD_FOOTER else 511)
        return _Disk(data, min(size, body))
    if disk_type == 4:
        raise Unscannable(f"{what}: differencing VHD (its data is partly in a parent disk, not read)")
    if disk_type != 3:
        raise Unscannable(f"{what}: VHD of disk type {disk_type}")
    header_at = struct.unpack_from(">Q", footer, 16)[0]
    if header_at + 64 > len(data) or data[header_at : header_at + 8] != _DYNAMIC_HEADER:
        raise Unscannable(f"{what}: dynamic VHD without its header")
    table_at, entries, block = (struct.unpack_from(">Q", data, header_at + 16)[0],
                                *struct.unpack_from(">II", data, header_at + 28))
    if not block or block % _SECTOR or table_at + 4 * entries > len(data) or entries * block < size:
        raise Unscannable(f"{what}: damaged dynamic VHD header")
    table = struct.unpack_from(f">{entries}I", data, table_at)
    bitmap = -(-(block // _SECTOR // 8) // _SECTOR) * _SECTOR

    def read_at(offset: int, length: int) -> bytes:
        out = []
        while length > 0:
            index, within = divmod(offset, block)
            take = min(length, block - within)
            sector = table[index]
            if sector == 0xFFFFFFFF:
                out.append(bytes(take))
            else:
                at = sector * _SECTOR + bitmap + within
                if at + take > len(data):
                    raise Unscannable(f"{what}: dynamic VHD block {index} lies past the file's end")
                out.append(data[at : at + take])
            offset, length = offset + take, length - take
        return b"".join(out)

    return _Disk(data, size, read_at)


# VMDK (VMware's Virtual Disk Format 5.0): a sparse extent's header, its grain directory and
# grain tables; stream-optimized extents (what OVA exports hold) keep each grain deflated after a
# 12-byte marker, and may keep the real header in a footer.

_VMDK_COMPRESSED, _VMDK_AT_END = 1 << 16, 0xFFFFFFFFFFFFFFFF
_MAX_VMDK_GRAINS = 1 << 22


def _vmdk(data: bytes, what: str) -> _Disk:
    header = data[:_SECTOR]
    if struct.unpack_from("<Q", header, 56)[0] == _VMDK_AT_END and len(data) >= 3 * _SECTOR:
        footer = data[-3 * _SECTOR : -2 * _SECTOR]  # footer marker, footer, end-of-stream marker
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
        raise Unscannable(f"{what}: VMDK of {capacity * _SECTOR} bytes, too large to map")
    tables = -(-grains // per_table)
    if directory_at * _SECTOR + 4 * tables > len(data):
        raise Unscannable(f"{what}: VMDK grain directory lies past the file's end")
    directory = struct.unpack_from(f"<{tables}I", data, directory_at * _SECTOR)
    grain_bytes, compressed = grain * _SECTOR, bool(flags & _VMDK_COMPRESSED)

    @functools.lru_cache(maxsize=64)  # a file system reads a grain's records and clusters one by one
    def grain_at(index: int) -> bytes:
        table = directory[index // per_table]
        entry_at = table * _SECTOR + 4 * (index % per_table)
        sector = 0 if table == 0 or entry_at + 4 > len(data) else struct.unpack_from("<I", data, entry_at)[0]
        if sector <= 1:  # unallocated, or a grain of zeros
            return bytes(grain_bytes)
        at = sector * _SECTOR
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

    def read_at(offset: int, count: int) -> bytes:
        out = []
        while count > 0:
            index, within = divmod(offset, grain_bytes)
            take = min(count, grain_bytes - within)
            out.append(grain_at(index)[within : within + take])
            offset, count = offset + take, count - take
        return b"".join(out)

    return _Disk(data, capacity * _SECTOR, read_at)


# VHDX ([MS-VHDX]): regions found by the region table, the metadata's block size and disk size,
# the block allocation table with a sector bitmap entry after every `chunk ratio` payload entries.

_BAT_REGION = uuid.UUID("2DC27766-F623-4200-9D64-115E9BFD4A08")
_METADATA_REGION = uuid.UUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")
_FILE_PARAMETERS = uuid.UUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
_DISK_SIZE = uuid.UUID("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
_LOGICAL_SECTOR = uuid.UUID("8141BF1D-A96F-4709-BA47-F233A8FAAB5F")
_PRESENT, _ZERO_STATES = 6, (0, 1, 2, 3)


def _vhdx(data: bytes, what: str) -> _Disk:
    regions = _vhdx_regions(data, what)
    if _BAT_REGION not in regions or _METADATA_REGION not in regions:
        raise Unscannable(f"{what}: VHDX without its allocation table or metadata")
    items = _vhdx_metadata(data, *regions[_METADATA_REGION], what)
    try:
        block, flags = struct.unpack_from("<II", items[_FILE_PARAMETERS])
        size = struct.unpack_from("<Q", items[_DISK_SIZE])[0]
        sector = struct.unpack_from("<I", items[_LOGICAL_SECTOR])[0]
    except (KeyError, struct.error):
        raise Unscannable(f"{what}: VHDX metadata without block size, disk size or sector size") from None
    if flags & 0x02:
        raise Unscannable(f"{what}: differencing VHDX (its data is partly in a parent disk, not read)")
    if not block or block & (block - 1) or sector not in (512, 4096):
        raise Unscannable(f"{what}: VHDX with a block of {block} bytes and sectors of {sector}")
    ratio = (1 << 23) * sector // block
    at, length = regions[_BAT_REGION]
    entries = length // 8

    def read_at(offset: int, count: int) -> bytes:
        out = []
        while count > 0:
            index, within = divmod(offset, block)
            take = min(count, block - within)
            slot = index + index // ratio
            if slot >= entries:
                raise Unscannable(f"{what}: VHDX block {index} beyond its allocation table")
            entry = struct.unpack_from("<Q", data, at + 8 * slot)[0]
            state, megabyte = entry & 0x07, entry >> 20
            if state in _ZERO_STATES:
                out.append(bytes(take))
            elif state == _PRESENT:
                start = (megabyte << 20) + within
                if start + take > len(data):
                    raise Unscannable(f"{what}: VHDX block {index} lies past the file's end")
                out.append(data[start : start + take])
            else:
                raise Unscannable(f"{what}: VHDX block {index} in state {state} (differencing) not read")
            offset, count = offset + take, count - take
        return b"".join(out)

    return _Disk(data, size, read_at)


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


def _partitions(disk: _Disk) -> list[tuple[int, int]]:
    """(offset, length) of each partition of an MBR or GPT disk; empty for neither."""
    mbr = disk[0:_SECTOR]
    if len(mbr) < _SECTOR or mbr[510:512] != b"\x55\xaa":
        return []
    if any(mbr[446 + 16 * i] not in (0x00, 0x80) for i in range(4)):
        return []  # boot code, not a partition table (a volume's own boot sector)
    entries = [struct.unpack_from("<4xB3xII", mbr, 446 + 16 * i) for i in range(4)]
    if any(kind == 0xEE for kind, _, _ in entries) and disk[_SECTOR : _SECTOR + 8] == b"EFI PART":
        return _gpt(disk)
    return [(start * _SECTOR, count * _SECTOR) for kind, start, count in entries
            if kind and count and (start + count) * _SECTOR <= disk.size]


def _gpt(disk: _Disk) -> list[tuple[int, int]]:
    header = disk[_SECTOR : 2 * _SECTOR]
    table, count, size = struct.unpack_from("<QII", header, 72)
    if not 128 <= size <= 4096 or count > _MAX_PARTITIONS * 4:
        return []
    parts = []
    for index in range(min(count, _MAX_PARTITIONS)):
        entry = disk[table * _SECTOR + index * size : table * _SECTOR + (index + 1) * size]
        if len(entry) < 48 or entry[:16] == bytes(16):
            continue
        first, last = struct.unpack_from("<QQ", entry, 32)
        if first <= last and (last + 1) * _SECTOR <= disk.size:
            parts.append((first * _SECTOR, (last - first + 1) * _SECTOR))
    return parts


# FAT (Microsoft's FAT32 File System Specification): the BPB, the FAT type from the cluster
# count, the fixed root directory (FAT12/16) or the root cluster chain (FAT32), VFAT long names.


def _is_fat(boot: bytes) -> bool:
    """A FAT boot sector: a jump, a plausible BPB, the signature, and "FAT" in a type field."""
    if len(boot) < _SECTOR or boot[510:512] != b"\x55\xaa" or boot[0] not in (0xEB, 0xE9):
        return False
    sector, per_cluster, reserved, fats = struct.unpack_from("<HBHB", boot, 11)
    return (sector in (512, 1024, 2048, 4096) and per_cluster in (1, 2, 4, 8, 16, 32, 64, 128) and reserved >= 1
            and fats in (1, 2) and (boot[54:57] == b"FAT" or boot[82:85] == b"FAT"))


@dataclass(frozen=True)
class _Fat:
    disk: _Disk
    start: int
    cluster: int
    data_start: int
    table: bytes
    bits: int
    clusters: int

    def next(self, cluster: int) -> int:
        if self.bits == 12:
            pair = int(struct.unpack_from("<H", self.table, cluster + cluster // 2)[0])
            return pair >> 4 if cluster & 1 else pair & 0x0FFF
        if self.bits == 16:
            return int(struct.unpack_from("<H", self.table, 2 * cluster)[0])
        return int(struct.unpack_from("<I", self.table, 4 * cluster)[0]) & 0x0FFFFFFF

    def chain(self, first: int, most: int) -> list[int]:
        """The clusters of a chain, at most `most` of them (a loop or a lie ends there)."""
        end = {12: 0xFF8, 16: 0xFFF8, 32: 0x0FFFFFF8}[self.bits]
        out: list[int] = []
        seen: set[int] = set()
        cluster = first
        while 2 <= cluster < self.clusters + 2 and cluster not in seen and len(out) < most:
            seen.add(cluster)
            out.append(cluster)
            cluster = self.next(cluster)
            if cluster >= end:
                break
        return out

    def clusters_of(self, clusters: list[int]) -> bytes:
        return b"".join(self.disk.read(self.data_start + (c - 2) * self.cluster, self.cluster) for c in clusters)

    def read(self, clusters: list[int], size: int) -> bytes:
        out = self.clusters_of(clusters)
        if len(out) < size:
            raise Unscannable("cluster chain shorter than the file")
        return out[:size]


def _fat_members(disk: _Disk, start: int, length: int, budget: Budget, what: str, prefix: str,
                 unread: list[str]) -> Iterator[tuple[str, bytes]]:
    boot = disk[start : start + _SECTOR]
    sector, per_cluster, reserved, fats, root_entries, total16 = struct.unpack_from("<HBHBHH", boot, 11)
    fat16_size = struct.unpack_from("<H", boot, 22)[0]
    total32, fat32_size = struct.unpack_from("<II", boot, 32)
    root_cluster = struct.unpack_from("<I", boot, 44)[0]
    fat_size = fat16_size or fat32_size
    total = total16 or total32
    root_sectors = -(-(root_entries * 32) // sector)
    data_sector = reserved + fats * fat_size + root_sectors
    if not fat_size or total <= data_sector or total * sector > length:
        unread.append(f"{prefix}(damaged FAT boot sector)")
        return
    clusters = (total - data_sector) // per_cluster
    bits = 12 if clusters < 4085 else 16 if clusters < 65525 else 32
    table = disk.read(start + reserved * sector, fat_size * sector)
    fat = _Fat(disk, start, sector * per_cluster, start + data_sector * sector, table, bits, clusters)
    if bits == 32:
        root = fat.clusters_of(fat.chain(root_cluster, _MAX_DIRECTORY_CLUSTERS))
    else:
        root = disk.read(start + (reserved + fats * fat_size) * sector, root_entries * 32)
    pending = [("", root, 0)]
    visited: set[int] = set()
    while pending:
        folder, listing, depth = pending.pop()
        budget.check_time()
        for name, attributes, first, size in _fat_entries(listing):
            path = f"{folder}{name}"
            if attributes & 0x10:  # a directory
                if first in visited or depth >= 64 or name in (".", ".."):
                    continue
                visited.add(first)
                pending.append((path + "/", fat.clusters_of(fat.chain(first, _MAX_DIRECTORY_CLUSTERS)), depth + 1))
                continue
            budget.enter(what)
            budget.spend(size, what)
            try:
                yield prefix + path, fat.read(fat.chain(first, size // fat.cluster + 1), size) if size else b""
            except Unscannable as exc:
                unread.append(f"{prefix}{path} ({exc})")


def _fat_entries(listing: bytes) -> Iterator[tuple[str, int, int, int]]:
    """(name, attributes, first cluster, size) of a FAT directory's live entries, long names
    (VFAT) put together from the entries before each short one."""
    long_parts: dict[int, str] = {}
    for at in range(0, len(listing) - 31, 32):
        entry = listing[at : at + 32]
        if entry[0] == 0x00:
            return
        if entry[0] == 0xE5:
            long_parts.clear()
            continue
        attributes = entry[11]
        if attributes & 0x3F == 0x0F:  # a long-name piece
            order = entry[0] & 0x1F
            chars = entry[1:11] + entry[14:26] + entry[28:32]
            long_parts[order] = chars.decode("utf-16-le", "replace").split("\x00", 1)[0].rstrip("\uffff")
            continue
        if attributes & 0x08:  # the volume label
            long_parts.clear()
            continue
        base, extension = entry[:8].decode("cp437").rstrip(), entry[8:11].decode("cp437").rstrip()
        base = base.lower() if entry[12] & 0x08 else base  # Windows NT keeps a lower-case 8.3 name so
        extension = extension.lower() if entry[12] & 0x10 else extension
        short = base + ("." + extension if extension else "")
        name = "".join(long_parts[k] for k in sorted(long_parts)) if long_parts else short
        long_parts.clear()
        first = struct.unpack_from("<H", entry, 26)[0] | struct.unpack_from("<H", entry, 20)[0] << 16
        yield name.replace("/", "_"), attributes, first, struct.unpack_from("<I", entry, 28)[0]


# NTFS


@dataclass
class _Record:
    number: int
    names: list[tuple[int, int, str]] = field(default_factory=list)  # (parent, namespace, name)
    streams: list[tuple[str, int, bytes | list[tuple[int | None, int]], int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    directory: bool = False


def _ntfs_members(disk: _Disk, start: int, length: int, budget: Budget, what: str, prefix: str,
                  unread: list[str]) -> Iterator[tuple[str, bytes]]:
    boot = disk[start : start + _SECTOR]
    sector_size, per_cluster = struct.unpack_from("<HB", boot, 11)
    if per_cluster > 0x80:
        per_cluster = 1 << (256 - per_cluster)
    cluster = sector_size * per_cluster
    mft_cluster = struct.unpack_from("<Q", boot, 48)[0]
    per_record = struct.unpack_from("<b", boot, 64)[0]
    record_size = 1 << -per_record if per_record < 0 else per_record * cluster
    if sector_size not in (512, 1024, 2048, 4096) or not cluster or not 256 <= record_size <= 65536:
        unread.append(f"{prefix}(damaged NTFS boot sector)")
        return
    volume = _Volume(disk, start, length, cluster, record_size, what)
    try:
        first = volume.record_at(start + mft_cluster * cluster)
    except Unscannable:
        first = None
    if first is None:
        unread.append(f"{prefix}(no readable MFT)")
        return
    mft = volume.parse(first, 0)
    runs = next((content for name, _, content, _ in mft.streams if name == "" and isinstance(content, list)), None)
    if runs is None:
        unread.append(f"{prefix}(MFT without its data runs)")
        return
    records: dict[int, _Record] = {}
    offset = 0
    for at, run_length in runs:
        for within in range(0, run_length - record_size + 1, record_size):
            number = (offset + within) // record_size
            if number >= _MAX_RECORDS:
                break
            if number % 4096 == 0:
                budget.check_time()
            try:
                raw = None if at is None else volume.record_at(at + within)
            except Unscannable as exc:
                unread.append(f"{prefix}MFT record {number} ({exc})")  # a file may be lost with it: say so
                continue
            if raw is not None:
                records[number] = volume.parse(raw, number)
        offset += run_length
    for number in sorted(records):
        record = records[number]
        if number < _FIRST_USER_RECORD or record.directory:
            continue
        if _under(records, record, _EXTEND):
            continue  # NTFS metadata: $Extend's $Quota, $ObjId, $Reparse, $UsnJrnl
        path = prefix + _path(records, record)
        for problem in record.problems:
            unread.append(f"{path} ({problem})")
        for stream, flags, content, size in record.streams:
            name = path + (f":{stream}" if stream else "")
            if flags & _ENCRYPTED:
                raise EncryptedContent(f"{what}: {name} is EFS-encrypted")
            if flags & _COMPRESSED:
                unread.append(f"{name} (NTFS-compressed)")
                continue
            budget.enter(what)
            budget.spend(size, what)
            try:
                yield name, content if isinstance(content, bytes) else volume.read_runs(content, size)
            except Unscannable as exc:
                unread.append(f"{name} ({exc})")


def _under(records: dict[int, _Record], record: _Record, ancestor: int) -> bool:
    seen: set[int] = set()
    current: _Record | None = record
    while current is not None and current.number not in seen and current.names:
        seen.add(current.number)
        parent = current.names[0][0]
        if parent == ancestor:
            return True
        current = records.get(parent)
    return False


def _path(records: dict[int, _Record], record: _Record) -> str:
    parts: list[str] = []
    seen: set[int] = set()
    current: _Record | None = record
    while current is not None and current.number != _ROOT and current.number not in seen and len(parts) < 256:
        seen.add(current.number)
        names = sorted(current.names, key=lambda n: n[1] == 2)  # a DOS 8.3 name last
        if not names:
            parts.append(f"record {current.number}")
            break
        parent, _, name = names[0]
        parts.append(name)
        current = records.get(parent)
    return "/".join(reversed(parts))


@dataclass
class _Volume:
    disk: _Disk
    start: int
    length: int
    cluster: int
    record_size: int
    what: str

    def record_at(self, offset: int) -> bytearray | None:
        """A MFT record at `offset` with its update sequence fixups applied; None when it is not one."""
        if offset + self.record_size > self.start + self.length or offset + self.record_size > self.disk.size:
            return None
        raw = bytearray(self.disk.read(offset, self.record_size))
        if raw[:4] == b"BAAD":
            raise Unscannable("damaged MFT record (marked BAAD)")
        if raw[:4] != b"FILE":
            return None  # never used
        usa, count = struct.unpack_from("<HH", raw, 4)
        if count < 1 or usa + 2 * count > len(raw) or (count - 1) * _SECTOR > len(raw):
            raise Unscannable("damaged MFT record (update sequence)")
        check = raw[usa : usa + 2]
        for index in range(1, count):
            end = index * _SECTOR - 2
            if raw[end : end + 2] != check:
                raise Unscannable("damaged MFT record (torn write)")
            raw[end : end + 2] = raw[usa + 2 * index : usa + 2 * index + 2]
        return raw

    def parse(self, raw: bytearray, number: int) -> _Record:
        record = _Record(number)
        flags, base = struct.unpack_from("<H", raw, 22)[0], struct.unpack_from("<Q", raw, 32)[0]
        if not flags & 0x01 or base & 0xFFFFFFFFFFFF:
            return _Record(number, directory=True)  # not in use, or an extension of another record
        record.directory = bool(flags & 0x02)
        pos = struct.unpack_from("<H", raw, 20)[0]
        while pos + 16 <= len(raw):
            kind, size = struct.unpack_from("<II", raw, pos)
            if kind == _END or size < 16 or pos + size > len(raw):
                break
            attribute = bytes(raw[pos : pos + size])
            pos += size
            resident = attribute[8] == 0
            name_length, name_at, attribute_flags = attribute[9], *struct.unpack_from("<HH", attribute, 10)
            name = attribute[name_at : name_at + 2 * name_length].decode("utf-16-le", "replace")
            if kind == _ATTRIBUTE_LIST:
                record.problems.append("attributes spread over several MFT records, not read")
            elif kind == _FILE_NAME and resident:
                length, at = struct.unpack_from("<IH", attribute, 16)
                content = attribute[at : at + length]
                if len(content) >= 66:
                    parent = struct.unpack_from("<Q", content)[0] & 0xFFFFFFFFFFFF
                    chars, namespace = content[64], content[65]
                    record.names.append((parent, namespace, content[66 : 66 + 2 * chars].decode("utf-16-le", "replace")))
            elif kind == _DATA and resident:
                length, at = struct.unpack_from("<IH", attribute, 16)
                record.streams.append((name, attribute_flags, attribute[at : at + length], length))
            elif kind == _DATA and len(attribute) >= 64:
                first_vcn, runs_at, real = (struct.unpack_from("<Q", attribute, 16)[0],
                                            struct.unpack_from("<H", attribute, 32)[0],
                                            struct.unpack_from("<Q", attribute, 48)[0])
                if first_vcn:
                    continue  # the rest of a stream begun in another record
                try:
                    runs = self.runs(attribute[runs_at:])
                except Unscannable as exc:
                    record.problems.append(str(exc))
                    continue
                record.streams.append((name, attribute_flags, runs, real))
        return record

    def runs(self, data: bytes) -> list[tuple[int | None, int]]:
        """A non-resident attribute's data runs as (disk offset or None for sparse, byte length)."""
        runs: list[tuple[int | None, int]] = []
        pos, cluster = 0, 0
        while pos < len(data) and data[pos] and len(runs) < _MAX_RUNS:
            header = data[pos]
            size_bytes, offset_bytes = header & 0x0F, header >> 4
            if not size_bytes or size_bytes > 8 or offset_bytes > 8 or pos + 1 + size_bytes + offset_bytes > len(data):
                raise Unscannable("damaged data runs")
            count = int.from_bytes(data[pos + 1 : pos + 1 + size_bytes], "little")
            if offset_bytes:
                cluster += int.from_bytes(data[pos + 1 + size_bytes : pos + 1 + size_bytes + offset_bytes], "little",
                                          signed=True)
                runs.append((self.start + cluster * self.cluster, count * self.cluster))
            else:
                runs.append((None, count * self.cluster))  # sparse
            pos += 1 + size_bytes + offset_bytes
        return runs

    def read_runs(self, runs: list[tuple[int | None, int]], size: int) -> bytes:
        out, left = [], size
        for at, length in runs:
            take = min(length, left)
            if take <= 0:
                break
            if at is None:
                out.append(bytes(take))
            else:
                if at < self.start or at + take > self.start + self.length:
                    raise Unscannable("a data run lies outside its volume")
                out.append(self.disk.read(at, take))
            left -= take
        if left > 0:
            raise Unscannable("data runs shorter than the stream")
        return b"".join(out)
