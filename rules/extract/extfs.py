"""ext2, ext3 and ext4 volumes: Linux disks, VM images, SD cards of embedded devices.

As the kernel's documentation (`Documentation/filesystems/ext4/`) lays them out: the superblock
at byte 1024 (magic 0xEF53; block size, blocks and inodes per group, inode size, the 64-bit and
extent features), the group descriptors after it (32 bytes, or `s_desc_size` with 64-bit
numbers), each group's inode table. A file's blocks come from its extent tree (ext4: a header
0xF30A, index nodes down to leaves of (logical block, length, physical block); uninitialised
extents read as zeros) or from the old block map (ext2/3: twelve direct blocks, then single,
double and triple indirect ones); small files may keep their bytes in the inode (inline data, or a
fast symbolic link, which is skipped). Directories are read block by block as lists of entries
(an htree directory's index blocks hold no live entry and fall out on their own), from the root
(inode 2) down. Files encrypted with fscrypt make the image `encrypted`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from rules.extract.blockdev import Disk
from rules.extract.budget import Budget, EncryptedContent, Unscannable

MAGIC = 0xEF53
_ROOT = 2
_REGULAR, _DIRECTORY, _TYPE = 0x8000, 0x4000, 0xF000
_EXTENTS, _INLINE, _ENCRYPTED = 0x80000, 0x10000000, 0x800
_EXTENT_MAGIC = 0xF30A
_INCOMPAT_64BIT = 0x80
_MAX_DEPTH, _MAX_BLOCKS, _MAX_DIRECTORY_BLOCKS = 64, 1 << 24, 65_536


def is_ext(superblock: bytes) -> bool:
    """The 1 KiB at byte 1024 of a volume: an ext2/3/4 superblock (the magic number, and sizes
    that agree: a block of 1-64 KiB, groups of at most 8 blocks per byte of one bitmap block,
    revision 0 or 1), so that two bytes of another file's noise do not make one."""
    if len(superblock) < 256 or struct.unpack_from("<H", superblock, 56)[0] != MAGIC or superblock[24] > 6:
        return False
    blocks, inodes, revision = (int(struct.unpack_from("<I", superblock, at)[0]) for at in (32, 40, 76))
    return 0 < blocks <= 8 * (1024 << superblock[24]) and blocks % 8 == 0 and inodes > 0 and revision <= 1


class _Ext:
    def __init__(self, disk: Disk, start: int, length: int) -> None:
        superblock = disk.read(start + 1024, 1024)
        self.disk, self.start, self.length = disk, start, length
        self.block = 1024 << superblock[24]
        self.first_data_block, self.per_group_blocks = struct.unpack_from("<I", superblock, 20)[0], \
            struct.unpack_from("<I", superblock, 32)[0]
        self.per_group_inodes = struct.unpack_from("<I", superblock, 40)[0]
        revision = struct.unpack_from("<I", superblock, 76)[0]
        self.inode_size = struct.unpack_from("<H", superblock, 88)[0] if revision else 128
        incompat = struct.unpack_from("<I", superblock, 96)[0]
        self.wide = bool(incompat & _INCOMPAT_64BIT)
        self.descriptor = (struct.unpack_from("<H", superblock, 254)[0] or 64) if self.wide else 32
        inodes = struct.unpack_from("<I", superblock, 0)[0]
        if not self.per_group_inodes or not 128 <= self.inode_size <= self.block or self.descriptor < 32:
            raise Unscannable("damaged ext superblock")
        self.groups = -(-inodes // self.per_group_inodes)

    def read_block(self, number: int, count: int = 1) -> bytes:
        at = self.start + number * self.block
        if number <= 0 or at + count * self.block > self.start + self.length:
            raise Unscannable(f"block {number} lies outside the volume")
        return self.disk.read(at, count * self.block)

    def inode(self, number: int) -> bytes:
        group, index = divmod(number - 1, self.per_group_inodes)
        if not 0 <= group < self.groups:
            raise Unscannable(f"inode {number} does not exist")
        table_at = self.start + (self.first_data_block + 1) * self.block + group * self.descriptor
        descriptor = self.disk.read(table_at, self.descriptor)
        table = struct.unpack_from("<I", descriptor, 8)[0]
        if self.wide and self.descriptor >= 64:
            table |= struct.unpack_from("<I", descriptor, 0x28)[0] << 32
        at = self.start + table * self.block + index * self.inode_size
        if at + self.inode_size > self.start + self.length:
            raise Unscannable(f"inode {number} lies outside the volume")
        return self.disk.read(at, self.inode_size)

    def content(self, inode: bytes, most: int) -> bytes:
        """A file's bytes, at most `most` of them (its size, or a directory's cap)."""
        size = min(_size(inode), most)
        flags = struct.unpack_from("<I", inode, 32)[0]
        if flags & _INLINE or (flags & _EXTENTS == 0 and _size(inode) <= 60 and _blocks_used(inode) == 0):
            return inode[40 : 40 + min(size, 60)]  # kept in the inode itself
        if flags & _EXTENTS:
            pieces = self._extents(inode[40:100], 0)
        else:
            pieces = self._block_map(inode[40:100], -(-size // self.block))
        out, done = [], 0
        for logical, physical, count in sorted(pieces):
            at = logical * self.block
            if at >= size:
                break
            if at > done:
                out.append(bytes(at - done))  # a hole
                done = at
            take = min(count * self.block - max(0, done - at), size - done)
            if take <= 0:
                continue  # an extent that overlaps what was read
            skip = done - at
            if physical is None:
                out.append(bytes(take))
            else:
                first = physical + skip // self.block
                out.append(self.read_block(first, -(-(take + skip % self.block) // self.block))[skip % self.block :][:take])
            done += take
        if done < size:
            out.append(bytes(size - done))  # a hole at the end
        return b"".join(out)

    def _extents(self, node: bytes, depth: int) -> list[tuple[int, int | None, int]]:
        magic, entries, _, level = struct.unpack_from("<HHHH", node)
        if magic != _EXTENT_MAGIC or depth > 5 or 12 + 12 * entries > len(node):
            raise Unscannable("damaged extent tree")
        out: list[tuple[int, int | None, int]] = []
        for index in range(entries):
            at = 12 + 12 * index
            if level == 0:
                logical, count, high, low = struct.unpack_from("<IHHI", node, at)
                uninitialised = count > 32768
                physical = (high << 32) | low
                out.append((logical, None if uninitialised else physical, count - 32768 if uninitialised else count))
            else:
                _, low, high = struct.unpack_from("<IIH", node, at)
                out.extend(self._extents(self.read_block((high << 32) | low), depth + 1))
            if len(out) > _MAX_BLOCKS:
                raise Unscannable("extent tree too large")
        return out

    def _block_map(self, blocks: bytes, count: int) -> list[tuple[int, int | None, int]]:
        """ext2/3: twelve direct block numbers, then single, double and triple indirect blocks."""
        numbers = list(struct.unpack_from("<15I", blocks))
        out: list[tuple[int, int | None, int]] = [(i, n or None, 1) for i, n in enumerate(numbers[:12]) if i < count]
        per_block = self.block // 4
        logical = 12
        for level, top in enumerate(numbers[12:15], start=1):
            if logical >= count:
                break
            span = per_block**level
            if top:
                out.extend(self._indirect(top, level, logical, count))
            logical += span
        return out

    def _indirect(self, number: int, level: int, logical: int, count: int) -> list[tuple[int, int | None, int]]:
        per_block = self.block // 4
        out: list[tuple[int, int | None, int]] = []
        for index, child in enumerate(struct.unpack(f"<{per_block}I", self.read_block(number))):
            at = logical + index * per_block ** (level - 1)
            if at >= count or len(out) > _MAX_BLOCKS:
                break
            if not child:
                continue
            if level == 1:
                out.append((at, child, 1))
            else:
                out.extend(self._indirect(child, level - 1, at, count))
        return out


def _size(inode: bytes) -> int:
    return int(struct.unpack_from("<I", inode, 4)[0]) | int(struct.unpack_from("<I", inode, 108)[0]) << 32


def _blocks_used(inode: bytes) -> int:
    return int(struct.unpack_from("<I", inode, 28)[0])


def ext_members(disk: Disk, start: int, length: int, budget: Budget, what: str, prefix: str,
                unread: list[str]) -> Iterator[tuple[str, bytes]]:
    """(path, content) of every regular file of an ext2/3/4 volume, from the root down."""
    try:
        volume = _Ext(disk, start, length)
    except Unscannable as exc:
        unread.append(f"{prefix}({exc})")
        return
    pending, seen = [("", _ROOT, 0)], {_ROOT}
    while pending:
        folder, number, depth = pending.pop()
        budget.check_time()
        try:
            inode = volume.inode(number)
            if struct.unpack_from("<I", inode, 32)[0] & _ENCRYPTED:
                raise EncryptedContent(f"{what}: {prefix}{folder or '/'} is encrypted (fscrypt)")
            listing = volume.content(inode, _MAX_DIRECTORY_BLOCKS * volume.block)
        except Unscannable as exc:
            unread.append(f"{prefix}{folder or '/'} ({exc})")
            continue
        for name, child in _entries(listing, volume.block):
            path = f"{folder}{name}"
            try:
                inode = volume.inode(child)
                mode = struct.unpack_from("<H", inode, 0)[0] & _TYPE  # ext2 without the filetype feature: ask the inode
                if mode == _DIRECTORY and child not in seen and depth < _MAX_DEPTH:
                    seen.add(child)
                    pending.append((path + "/", child, depth + 1))
                    continue
                if mode != _REGULAR:  # links, devices, sockets; a directory seen before
                    continue
                if struct.unpack_from("<I", inode, 32)[0] & _ENCRYPTED:
                    raise EncryptedContent(f"{what}: {prefix}{path} is encrypted (fscrypt)")
                budget.enter(what)
                budget.spend(_size(inode), what)
                yield prefix + path, volume.content(inode, _size(inode))
            except Unscannable as exc:
                if "decompression bomb" in str(exc) or "time limit" in str(exc):
                    raise
                unread.append(f"{prefix}{path} ({exc})")


def _entries(listing: bytes, block: int) -> Iterator[tuple[str, int]]:
    """(name, inode) of a directory's live entries, block by block (an entry never crosses a block)."""
    for base in range(0, len(listing), block):
        pos = base
        while pos + 8 <= min(base + block, len(listing)):
            number, length, name_length = struct.unpack_from("<IHB", listing, pos)
            if length < 8 or pos + length > base + block:
                break  # a damaged block: its other entries are lost, the next block is read
            if number and name_length and pos + 8 + name_length <= pos + length:
                name = listing[pos + 8 : pos + 8 + name_length].decode("utf-8", "replace")
                if name not in (".", ".."):
                    yield name.replace("/", "_"), number
            pos += length
