"""FAT12, FAT16 and FAT32 volumes (Microsoft's FAT32 File System Specification): USB sticks, SD
cards, small virtual disks. The BPB, the FAT type from the cluster count, the fixed root directory
(FAT12/16) or the root cluster chain (FAT32), VFAT long names and Windows NT's lower-case 8.3
flags, cluster chains (a loop, or a chain shorter than its file, is named unread)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from rules.extract.blockdev import SECTOR, Disk
from rules.extract.budget import Budget, Unscannable

_MAX_DIRECTORY_CLUSTERS = 4096


def is_fat(boot: bytes) -> bool:
    """A FAT boot sector: a jump, a plausible BPB, the signature, and "FAT" in a type field."""
    if len(boot) < SECTOR or boot[510:512] != b"\x55\xaa" or boot[0] not in (0xEB, 0xE9):
        return False
    sector, per_cluster, reserved, fats = struct.unpack_from("<HBHB", boot, 11)
    return (sector in (512, 1024, 2048, 4096) and per_cluster in (1, 2, 4, 8, 16, 32, 64, 128) and reserved >= 1
            and fats in (1, 2) and (boot[54:57] == b"FAT" or boot[82:85] == b"FAT"))


@dataclass(frozen=True)
class _Fat:
    disk: Disk
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


def fat_members(disk: Disk, start: int, length: int, budget: Budget, what: str, prefix: str,
                 unread: list[str]) -> Iterator[tuple[str, bytes]]:
    boot = disk[start : start + SECTOR]
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
