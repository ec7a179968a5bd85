"""exFAT volumes (Microsoft's exFAT File System Specification, 2019): SD cards and USB sticks over
32 GB, as Windows, macOS, cameras and phones format them.

The boot sector (sector and cluster shifts, FAT and cluster heap offsets), the root directory's
cluster chain, directory entry sets (a File entry, its Stream Extension and File Name entries:
names of up to 255 UTF-16 characters, each set checked against its checksum), files stored
contiguously (the NoFatChain flag) or along a FAT chain. Bytes past a file's valid data length
read as zeros, as the specification says. Deleted entry sets (their in-use bit clear) are not
files. A set whose checksum fails, a chain that loops or ends early, a cluster outside the heap
are named unread and the rest still read.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from rules.extract.blockdev import SECTOR, Disk
from rules.extract.budget import Budget, Unscannable

_MAX_DIRECTORY_CLUSTERS = 4096
_MAX_DIRECTORY_BYTES = 256 << 20
_FILE, _STREAM, _NAME = 0x85, 0xC0, 0xC1
_DIRECTORY = 0x10
_NO_FAT_CHAIN = 0x02
_LAST_CLUSTER = 0xFFFFFFF8


def is_exfat(boot: bytes) -> bool:
    """An exFAT boot sector: its name, the signature, and shifts the specification allows."""
    return (len(boot) >= SECTOR and boot[3:11] == b"EXFAT   " and boot[510:512] == b"\x55\xaa"
            and 9 <= boot[108] <= 12 and boot[108] + boot[109] <= 25 and boot[110] in (1, 2))


@dataclass(frozen=True)
class _Entry:
    name: str
    attributes: int
    first: int
    size: int
    valid: int
    contiguous: bool


@dataclass(frozen=True)
class _Heap:
    disk: Disk
    start: int  # byte offset of cluster 2
    cluster: int  # bytes
    count: int
    fat: bytes

    def clusters(self, entry: _Entry, wanted: int) -> list[int]:
        if wanted == 0:
            return []
        if entry.contiguous:
            if entry.first < 2 or entry.first - 2 + wanted > self.count:
                raise Unscannable("clusters outside the cluster heap")
            return list(range(entry.first, entry.first + wanted))
        out = self.chain(entry.first, wanted)
        if len(out) < wanted:
            raise Unscannable("cluster chain shorter than the file")
        return out

    def chain(self, first: int, most: int) -> list[int]:
        """The clusters of a FAT chain, at most ``most`` of them (a loop or a lie ends there)."""
        out: list[int] = []
        seen: set[int] = set()
        cluster = first
        while len(out) < most and 2 <= cluster < self.count + 2 and cluster not in seen and 4 * cluster + 4 <= len(self.fat):
            seen.add(cluster)
            out.append(cluster)
            cluster = int(struct.unpack_from("<I", self.fat, 4 * cluster)[0])
            if cluster >= _LAST_CLUSTER:
                break
        return out

    def read(self, entry: _Entry, size: int) -> bytes:
        """``size`` bytes of ``entry``, in runs of adjacent clusters (one read for a contiguous file)."""
        clusters = self.clusters(entry, -(-size // self.cluster))
        out, run_start, run = [], 0, 0
        for index, cluster in enumerate(clusters):
            if run and cluster == clusters[index - 1] + 1:
                run += 1
                continue
            if run:
                out.append(self.disk.read(self.start + (run_start - 2) * self.cluster, run * self.cluster))
            run_start, run = cluster, 1
        if run:
            out.append(self.disk.read(self.start + (run_start - 2) * self.cluster, run * self.cluster))
        return b"".join(out)[:size]


def exfat_members(disk: Disk, start: int, length: int, budget: Budget, what: str, prefix: str,
                  unread: list[str]) -> Iterator[tuple[str, bytes]]:
    boot = disk[start : start + SECTOR]
    sector, cluster = 1 << boot[108], 1 << (boot[108] + boot[109])
    fat_offset, fat_length, heap_offset, count, root = struct.unpack_from("<IIIII", boot, 80)
    fat_bytes = min(fat_length * sector, 4 * (count + 2))
    if (fat_offset * sector + fat_bytes > length or heap_offset < fat_offset + fat_length
            or heap_offset * sector > length or count == 0):
        unread.append(f"{prefix}(damaged exFAT boot sector)")
        return
    heap = _Heap(disk, start + heap_offset * sector, cluster, count, disk.read(start + fat_offset * sector, fat_bytes))
    # The root directory has no size of its own: the length of its FAT chain says it.
    root_clusters = len(heap.chain(root, _MAX_DIRECTORY_CLUSTERS))
    if not root_clusters:
        unread.append(f"{prefix}(root directory outside the cluster heap)")
        return
    root_listing = heap.read(_Entry("", _DIRECTORY, root, 0, 0, False), root_clusters * cluster)
    pending = [("", root_listing, 0)]
    visited = {root}
    while pending:
        folder, listing, depth = pending.pop()
        budget.check_time()
        for entry in _entry_sets(listing, unread, f"{prefix}{folder}"):
            path = f"{folder}{entry.name}"
            if entry.attributes & _DIRECTORY:
                if entry.first in visited or depth >= 64 or entry.size > _MAX_DIRECTORY_BYTES:
                    continue
                visited.add(entry.first)
                try:
                    pending.append((path + "/", heap.read(entry, entry.size), depth + 1))
                except Unscannable as exc:
                    unread.append(f"{prefix}{path}/ ({exc})")
                continue
            budget.enter(what)
            budget.spend(entry.size, what)
            try:
                valid = heap.read(entry, entry.valid)
            except Unscannable as exc:
                unread.append(f"{prefix}{path} ({exc})")
                continue
            yield prefix + path, valid + bytes(entry.size - entry.valid)


def _entry_sets(listing: bytes, unread: list[str], where: str) -> Iterator[_Entry]:
    """The live File entry sets of a directory, in order; damaged ones are named in ``unread``."""
    at = 0
    while at + 32 <= len(listing):
        kind = listing[at]
        if kind == 0x00:  # the end of the directory
            return
        if kind != _FILE:  # bitmap, up-case table, label, GUID, deleted sets, stray secondaries
            at += 32
            continue
        secondaries = listing[at + 1]
        end = at + 32 * (secondaries + 1)
        entries = listing[at:end]
        if secondaries < 2 or end > len(listing) or entries[32] != _STREAM:
            unread.append(f"{where}(damaged directory entry set at byte {at})")
            at += 32
            continue
        if struct.unpack_from("<H", entries, 2)[0] != _checksum(entries):
            unread.append(f"{where}(directory entry set at byte {at} fails its checksum)")
            at = end
            continue
        attributes = struct.unpack_from("<H", entries, 4)[0]
        flags, name_length = entries[33], entries[35]
        valid, first, size = struct.unpack_from("<Q", entries, 40)[0], *struct.unpack_from("<IQ", entries, 52)
        pieces = [entries[i + 2 : i + 32] for i in range(64, len(entries), 32) if entries[i] == _NAME]
        name = b"".join(pieces).decode("utf-16-le", "replace")[:name_length].replace("/", "_")
        at = end
        if valid > size:
            unread.append(f"{where}{name} (valid data length past the file's end)")
            continue
        yield _Entry(name, attributes, first, size, valid, bool(flags & _NO_FAT_CHAIN))


def _checksum(entries: bytes) -> int:
    """The entry set checksum: a 16-bit rotate-and-add over every byte but the checksum's own two."""
    total = 0
    for index, byte in enumerate(entries):
        if index in (2, 3):
            continue
        total = (((total << 15) | (total >> 1)) + byte) & 0xFFFF
    return total
