"""A disk's bytes as a function of offset, for the readers of virtual disks, partitions and
file systems (`rules.extract.volume`, `fat`, `ntfs`, `extfs`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rules.extract.budget import Unscannable

SECTOR = 512


@dataclass
class Disk:
    """A disk's bytes: the image itself, or a virtual disk's blocks through `read_at`."""

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


def blockwise(size: int, piece: Callable[[int, int, int], bytes]) -> Callable[[int, int], bytes]:
    """A `Disk.read_at` for a disk stored in blocks of `size` bytes (VHD blocks, VMDK grains, qcow2
    clusters...): a read is split at block boundaries, and `piece(index, within, take)` gives
    `take` bytes of block `index` from byte `within` of it."""

    def read_at(offset: int, count: int) -> bytes:
        out = []
        while count > 0:
            index, within = divmod(offset, size)
            take = min(count, size - within)
            out.append(piece(index, within, take))
            offset, count = offset + take, count - take
        return b"".join(out)

    return read_at
