"""The node database of an Outlook data file (.pst/.ost): [MS-PST] 2.2, the layer below the
properties.

A .pst is two B-trees of 512-byte pages: the node B-tree (NBT) maps a node id (NID) to the block
holding its data and the block listing its subnodes, and the block B-tree (BBT) maps a block id
(BID) to where the block lies in the file. A node's data is one data block, or a tree of
XBLOCKs/XXBLOCKs over up to 8 KiB data blocks; its subnodes (the attachments and tables of a
message) are a tree of SLBLOCKs/SIBLOCKs, each subnode with data and subnodes of its own.

Outlook 97-2002 files ("ANSI", wVer 14 and 15) use 32-bit ids and offsets, later ones ("Unicode",
wVer 23) 64-bit ones; both are read, and so are the offline caches (.ost) of Outlook 2013 and
later (wVer 36), whose B-tree pages are 4 KiB, whose blocks are 512-byte aligned with a longer
trailer, whose data blocks may be compressed with DEFLATE (the trailer gives the inflated size, at
most 64 KiB), and whose heap ids give a block's index from bit 19. That variant is not in [MS-PST]; its layout is libpff's documentation's.
Everything found in the file is checked against the file before it is used: a
page or block outside it, a B-tree that loops or is deeper than a file can hold, or a tree of
blocks that expands past the budget makes the file `unscannable`, never a hang.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from rules.extract import pst_crypt
from rules.extract.budget import Budget, Unscannable

_BBT, _NBT = 0x80, 0x81
_XBLOCK, _SLBLOCK = 0x01, 0x02
#: B-tree levels a file of up to 2^64 bytes could need, with margin; deeper means a loop.
_MAX_LEVELS = 16


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the fields of a page or block lie in one of the two formats."""

    unicode: bool
    id: str  # struct code of a BID, IB or NID field
    page: int  # bytes of a B-tree page
    entries: int  # bytes of entries in a B-tree page, then its counts
    counts: str  # struct code of a page's entry count, most entries, entry size and level
    page_type: int  # offset of a page's ptype in its PAGETRAILER
    root: int  # offset of the header's ROOT
    crypt: int  # offset of the header's bCryptMethod
    sl_header: int  # bytes before an SLBLOCK's or SIBLOCK's entries
    block_align: int  # blocks start on multiples of this
    block_trailer: int  # bytes of a BLOCKTRAILER (a 4 KiB file's gives the inflated size)
    hid_page: int  # a heap id's block index starts at this bit
    hid_index: int  # mask of a heap id's allocation index, from bit 5

    @property
    def id_size(self) -> int:
        return struct.calcsize("<" + self.id)


UNICODE = Layout(True, "Q", 512, 488, "<BBBB", 496, 180, 513, 8, 64, 16, 16, 0x7FF)
ANSI = Layout(False, "I", 512, 496, "<BBBB", 500, 164, 461, 4, 64, 12, 16, 0x7FF)
FOUR_K = Layout(True, "Q", 4096, 4056, "<HHBB", 4072, 180, 513, 8, 512, 24, 19, 0x3FFF)
#: The most a compressed block of a 4 KiB file inflates to (its trailer's field is 16 bits).
_MAX_INFLATED = 0xFFFF


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
        elif version in (36, 37):  # 37 is named by some tools, never seen written
            self.layout = FOUR_K
        else:
            raise Unscannable(f"{what}: an Outlook data file of unknown version {version}")
        if len(data) < 514:
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
        if offset <= 0 or offset + layout.page > len(self.data):
            raise Unscannable(f"{self.what}: Outlook data file with a page outside it (at {offset})")
        page = self.data[offset : offset + layout.page]
        count, _, entry_size, page_level = struct.unpack_from(layout.counts, page, layout.entries)
        ptype, repeat = page[layout.page_type], page[layout.page_type + 1]
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

    def _where(self, bid: int) -> tuple[int, int, int]:
        """Where block `bid` lies, its stored size, and the size it inflates to (the same unless
        a 4 KiB file's trailer says it is compressed)."""
        where = self.blocks.get(bid & ~1)
        if where is None:
            raise Unscannable(f"{self.what}: Outlook data file missing block {bid:#x}")
        offset, size = where
        if offset <= 0 or offset + size > len(self.data):
            raise Unscannable(f"{self.what}: Outlook data file with block {bid:#x} outside it")
        layout = self.layout
        if layout is not FOUR_K or size == 0:
            return offset, size, size
        end = offset + -(-(size + layout.block_trailer) // layout.block_align) * layout.block_align
        if end > len(self.data):
            raise Unscannable(f"{self.what}: Outlook data file with block {bid:#x} outside it")
        inflated = struct.unpack_from("<H", self.data, end - layout.block_trailer + 18)[0]
        return offset, size, inflated or size

    def block(self, bid: int) -> bytes:
        """The bytes of one block, inflated when it is compressed and unscrambled when it is a data
        block."""
        offset, size, inflated = self._where(bid)
        raw = bytes(self.data[offset : offset + size])
        if inflated != size:
            raw = self._inflate(raw, inflated, bid)
        if bid & 2 or self.crypt == pst_crypt.NONE:  # internal blocks are never scrambled
            return raw
        return pst_crypt.unpermute(raw) if self.crypt == pst_crypt.PERMUTE else pst_crypt.cyclic(raw, bid & 0xFFFFFFFF)

    def _inflate(self, raw: bytes, inflated: int, bid: int) -> bytes:
        """A compressed block of a 4 KiB file: a zlib stream (raw DEFLATE is taken too) that must
        give exactly the size its trailer says."""
        for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
            inflater = zlib.decompressobj(wbits)
            try:
                out = inflater.decompress(raw, inflated)
            except zlib.error:
                continue
            if len(out) == inflated and not inflater.unconsumed_tail:
                return out
            break
        raise Unscannable(f"{self.what}: Outlook data file with a damaged compressed block {bid:#x}")

    def data_blocks(self, bid: int) -> list[bytes]:
        """The data blocks of a node whose data starts at block `bid` (one block, or the leaves of
        an XBLOCK or XXBLOCK), checked against the budget before any is read."""
        if not bid & 2:
            return [self.block(bid)]
        ids = self._xblock(bid, 2)
        if ids and ids[0][1] == 2:  # an XXBLOCK: a list of XBLOCKs
            ids = [leaf for inner, _ in ids for leaf in self._xblock(inner, 1)]
        total = sum(self._where(leaf)[2] for leaf, _ in ids)
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
