"""The node database of an Outlook data file (.pst/.ost): [MS-PST] 2.2, the layer below the
properties.

A .pst is two B-trees of 512-byte pages: the node B-tree (NBT) maps a node id (NID) to the block
holding its data and the block listing its subnodes, and the block B-tree (BBT) maps a block id
(BID) to where the block lies in the file. A node's data is one data block, or a tree of
XBLOCKs/XXBLOCKs over up to 8 KiB data blocks; its subnodes (the attachments and tables of a
message) are a tree of SLBLOCKs/SIBLOCKs, each subnode with data and subnodes of its own.

Outlook 97-2002 files ("ANSI", wVer 14 and 15) use 32-bit ids and offsets, later ones ("Unicode",
wVer 23) 64-bit ones; both are read. Outlook 2013's offline caches with 4 KiB pages (wVer 36) are
named, not read. Everything found in the file is checked against the file before it is used: a
page or block outside it, a B-tree that loops or is deeper than a file can hold, or a tree of
blocks that expands past the budget makes the file `unscannable`, never a hang.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from rules.extract import pst_crypt
from rules.extract.budget import Budget, Unscannable

PAGE = 512
_BBT, _NBT = 0x80, 0x81
_XBLOCK, _SLBLOCK = 0x01, 0x02
#: B-tree levels a file of up to 2^64 bytes could need, with margin; deeper means a loop.
_MAX_LEVELS = 16


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the fields of a page or block lie in one of the two formats."""

    unicode: bool
    id: str  # struct code of a BID, IB or NID field
    entries: int  # bytes of entries in a B-tree page
    root: int  # offset of the header's ROOT
    crypt: int  # offset of the header's bCryptMethod
    sl_header: int  # bytes before an SLBLOCK's or SIBLOCK's entries

    @property
    def id_size(self) -> int:
        return struct.calcsize("<" + self.id)


UNICODE = Layout(True, "Q", 488, 180, 513, 8)
ANSI = Layout(False, "I", 496, 164, 461, 4)


@dataclass(frozen=True, slots=True)
class Node:
    """A node's data block and subnode block (0 when it has none)."""

    data: int
    sub: int


class Database:
    """The NBT and BBT of one file, read whole, and the blocks they point to."""

    def __init__(self, data: bytes, budget: Budget, what: str) -> None:
        self.data, self.budget, self.what = data, budget, what
        version = struct.unpack_from("<H", data, 10)[0] if len(data) >= 12 else 0
        if version in (14, 15):
            self.layout = ANSI
        elif version in (21, 23):  # 21: written by some recovery tools
            self.layout = UNICODE
        elif version in (36, 37):
            raise Unscannable(f"{what}: an Outlook 2013 offline cache with 4 KiB pages (version {version}), "
                              "which is not read")
        else:
            raise Unscannable(f"{what}: an Outlook data file of unknown version {version}")
        if len(data) < PAGE + 2:
            raise Unscannable(f"{what}: Outlook data file cut short in its header")
        self.crypt = data[self.layout.crypt]
        if self.crypt not in (pst_crypt.NONE, pst_crypt.PERMUTE, pst_crypt.CYCLIC):
            raise Unscannable(f"{what}: Outlook data file scrambled by unknown method {self.crypt}")
        size = self.layout.id_size
        refs = struct.unpack_from("<" + self.layout.id * 4, data, self.layout.root + 4 + 4 * size)
        self.nodes: dict[int, Node] = {}
        self.parents: dict[int, int] = {}
        self.blocks: dict[int, tuple[int, int]] = {}
        self._walk(refs[3], _BBT, self._bbt_leaf)
        self._walk(refs[1], _NBT, self._nbt_leaf)

    def _walk(self, root: int, kind: int, leaf: Callable[[list[bytes]], None]) -> None:
        """Every leaf entry of the B-tree whose root page is at `root`, depth first."""
        stack: list[tuple[int, int | None]] = [(root, None)]
        seen: set[int] = set()
        while stack:
            offset, level = stack.pop()
            if offset in seen:
                raise Unscannable(f"{self.what}: Outlook data file whose B-tree loops (page at {offset})")
            seen.add(offset)
            entries, page_level = self._page(offset, kind, level)
            if page_level == 0:
                leaf(entries)
                continue
            for chunk in entries:
                _, _, child = struct.unpack_from("<" + self.layout.id * 3, chunk)
                stack.append((child, page_level - 1))

    def _page(self, offset: int, kind: int, level: int | None) -> tuple[list[bytes], int]:
        """The entries and level of the B-tree page at `offset`, checked."""
        layout = self.layout
        if offset <= 0 or offset + PAGE > len(self.data):
            raise Unscannable(f"{self.what}: Outlook data file with a page outside it (at {offset})")
        page = self.data[offset : offset + PAGE]
        count, _, entry_size, page_level = page[layout.entries : layout.entries + 4]
        ptype, repeat = page[PAGE - (16 if layout.unicode else 12) : PAGE - (14 if layout.unicode else 10)]
        if ptype != kind or repeat != kind or page_level >= _MAX_LEVELS or (level is not None and page_level != level):
            raise Unscannable(f"{self.what}: Outlook data file with a damaged B-tree page at {offset}")
        if entry_size == 0 or count * entry_size > layout.entries:
            raise Unscannable(f"{self.what}: Outlook data file with a damaged B-tree page at {offset}")
        self.budget.check_time()
        return [page[i * entry_size : (i + 1) * entry_size] for i in range(count)], page_level

    def _bbt_leaf(self, entries: list[bytes]) -> None:
        code = "<" + self.layout.id * 2 + "H"
        for entry in entries:
            bid, offset, size = struct.unpack_from(code, entry)
            self.blocks[bid & ~1] = (offset, size)

    def _nbt_leaf(self, entries: list[bytes]) -> None:
        code = "<" + self.layout.id * 3 + "I"
        for entry in entries:
            nid, data, sub, parent = struct.unpack_from(code, entry)
            self.nodes[nid & 0xFFFFFFFF] = Node(data, sub)
            self.parents[nid & 0xFFFFFFFF] = parent

    def block(self, bid: int) -> bytes:
        """The bytes of one block, unscrambled when it is a data block."""
        where = self.blocks.get(bid & ~1)
        if where is None:
            raise Unscannable(f"{self.what}: Outlook data file missing block {bid:#x}")
        offset, size = where
        if offset <= 0 or offset + size > len(self.data):
            raise Unscannable(f"{self.what}: Outlook data file with block {bid:#x} outside it")
        raw = bytes(self.data[offset : offset + size])
        if bid & 2 or self.crypt == pst_crypt.NONE:  # internal blocks are never scrambled
            return raw
        return pst_crypt.unpermute(raw) if self.crypt == pst_crypt.PERMUTE else pst_crypt.cyclic(raw, bid & 0xFFFFFFFF)

    def data_blocks(self, bid: int) -> list[bytes]:
        """The data blocks of a node whose data starts at block `bid` (one block, or the leaves of
        an XBLOCK or XXBLOCK), checked against the budget before any is read."""
        if not bid & 2:
            return [self.block(bid)]
        ids = self._xblock(bid, 2)
        if ids and ids[0][1] == 2:  # an XXBLOCK: a list of XBLOCKs
            ids = [leaf for inner, _ in ids for leaf in self._xblock(inner, 1)]
        total = sum(self.blocks.get(leaf & ~1, (0, 0))[1] for leaf, _ in ids)
        if total > self.budget.allowance():
            raise Unscannable(f"{self.what}: Outlook data file node of {total} bytes expands past the limit")
        return [self.block(leaf) for leaf, _ in ids]

    def _xblock(self, bid: int, most: int) -> list[tuple[int, int]]:
        """The ids an XBLOCK (level 1) or XXBLOCK (level 2) lists, each with the level it came from."""
        block = self.block(bid)
        if len(block) < 8 or block[0] != _XBLOCK or not 1 <= block[1] <= most:
            raise Unscannable(f"{self.what}: Outlook data file with a damaged block list {bid:#x}")
        level, count = block[1], struct.unpack_from("<H", block, 2)[0]
        size = self.layout.id_size
        if 8 + count * size > len(block):
            raise Unscannable(f"{self.what}: Outlook data file with a damaged block list {bid:#x}")
        return [(i, level) for i in struct.unpack_from(f"<{count}{self.layout.id}", block, 8)]

    def node_bytes(self, node: Node) -> bytes:
        """A node's data in one piece."""
        return b"".join(self.data_blocks(node.data)) if node.data else b""

    def subnodes(self, bid: int) -> dict[int, Node]:
        """The subnodes listed by the SLBLOCK or SIBLOCK `bid`, by NID."""
        found: dict[int, Node] = {}
        if not bid:
            return found
        block = self.block(bid)
        code, size = self.layout.id, self.layout.id_size
        head = self.layout.sl_header
        if len(block) < head or block[0] != _SLBLOCK or block[1] > 1:
            raise Unscannable(f"{self.what}: Outlook data file with a damaged subnode list {bid:#x}")
        count = struct.unpack_from("<H", block, 2)[0]
        width = size * (3 if block[1] == 0 else 2)
        if head + count * width > len(block):
            raise Unscannable(f"{self.what}: Outlook data file with a damaged subnode list {bid:#x}")
        for index in range(count):
            entry = struct.unpack_from("<" + code * (width // size), block, head + index * width)
            if block[1] == 0:
                found[entry[0] & 0xFFFFFFFF] = Node(entry[1], entry[2])
            else:  # an SIBLOCK: each entry an SLBLOCK
                inner = self.block(entry[1])
                if inner[1:2] != b"\0":
                    raise Unscannable(f"{self.what}: Outlook data file with a damaged subnode list {bid:#x}")
                found.update(self.subnodes(entry[1]))
        return found
