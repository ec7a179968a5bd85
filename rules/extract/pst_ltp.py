"""The lists and tables layer of an Outlook data file: [MS-PST] 2.3, on top of `pst_ndb`.

A node's data is a heap (HN): each data block is a page of small allocations found by a map at
its end, addressed by a heap id (HID: page and index). On the heap, a B-tree (BTH) keeps sorted
records. A property context (PC, a message, folder or attachment) is a BTH from property id to
type and value: a value of up to 4 bytes lies in the record, a larger one in the heap, or, above
about 3.5 KiB, in a subnode of its own. A table context (TC, a message's recipients and
attachments) is a matrix of fixed-size rows described by column descriptors, with a bitmap saying
which cells are set; variable-size cells point into the heap or a subnode the same way.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from rules.extract.budget import Unscannable
from rules.extract.pst_ndb import Database, Node

_HEAP, _BTH = 0xEC, 0xB5
PROPERTY_CONTEXT, TABLE_CONTEXT = 0xBC, 0x7C
#: Property types whose value lies in the PC record itself (2 to 4 bytes).
_INLINE = frozenset({0x0002, 0x0003, 0x0004, 0x000A, 0x000B})
#: Fixed-size types and their sizes; every other type has a variable size.
_FIXED = {0x0002: 2, 0x0003: 4, 0x0004: 4, 0x000A: 4, 0x000B: 1, 0x0005: 8, 0x0006: 8, 0x0007: 8,
          0x0014: 8, 0x0040: 8, 0x0048: 16}
#: Index levels of a BTH a heap could hold, with margin; deeper means a loop.
_MAX_LEVELS = 8

Value = tuple[int, bytes]  # property type, raw value


class Heap:
    """The heap-on-node of one node: its pages and the allocations their maps list."""

    def __init__(self, db: Database, node: Node, client: int) -> None:
        self.db, self.node, self.what = db, node, db.what
        self.pages = db.data_blocks(node.data)
        first = self.pages[0]
        if len(first) < 12 or first[2] != _HEAP or first[3] != client:
            raise Unscannable(f"{self.what}: Outlook data file with a damaged {_name(client)}")
        self.root = struct.unpack_from("<I", first, 4)[0]
        self._maps: dict[int, list[int]] = {}
        self._subnodes: dict[int, Node] | None = None

    def get(self, hid: int) -> bytes:
        """The allocation `hid` names."""
        page, index = hid >> self.db.layout.hid_page, (hid >> 5) & self.db.layout.hid_index
        if hid & 0x1F or page >= len(self.pages) or index == 0:
            raise Unscannable(f"{self.what}: Outlook data file with a bad heap id {hid:#x}")
        offsets = self._map(page)
        if index >= len(offsets) and index > 0x7FF:  # libpst reads bits 16-18 of a 4 KiB file's as flags
            index &= 0x7FF
        if not 0 < index < len(offsets):
            raise Unscannable(f"{self.what}: Outlook data file with a bad heap id {hid:#x}")
        return self.pages[page][offsets[index - 1] : offsets[index]]

    def _map(self, page: int) -> list[int]:
        if page not in self._maps:
            data = self.pages[page]
            start = struct.unpack_from("<H", data)[0] if len(data) >= 2 else len(data)
            if start + 4 > len(data):
                raise Unscannable(f"{self.what}: Outlook data file with a damaged heap page")
            count = struct.unpack_from("<H", data, start)[0]
            if start + 4 + 2 * (count + 1) > len(data):
                raise Unscannable(f"{self.what}: Outlook data file with a damaged heap page")
            offsets = list(struct.unpack_from(f"<{count + 1}H", data, start + 4))
            if any(a > b for a, b in zip(offsets, offsets[1:], strict=False)) or offsets[-1] > start:
                raise Unscannable(f"{self.what}: Outlook data file with a damaged heap page")
            self._maps[page] = offsets
        return self._maps[page]

    def subnode(self, nid: int) -> Node:
        if self._subnodes is None:
            self._subnodes = self.db.subnodes(self.node.sub)
        node = self._subnodes.get(nid)
        if node is None:
            raise Unscannable(f"{self.what}: Outlook data file missing subnode {nid:#x}")
        return node

    def subnodes(self) -> dict[int, Node]:
        if self._subnodes is None:
            self._subnodes = self.db.subnodes(self.node.sub)
        return self._subnodes

    def reference(self, hnid: int) -> bytes:
        """What a heap-or-node id points to: a heap allocation, or a subnode's data."""
        if hnid == 0:
            return b""
        if hnid & 0x1F == 0:
            return self.get(hnid)
        return self.db.node_bytes(self.subnode(hnid))

    def records(self, hid: int, key_size: int, data_size: int) -> list[tuple[bytes, bytes]]:
        """The (key, data) records of the BTH whose header is at `hid`."""
        header = self.get(hid)
        if len(header) < 8 or header[0] != _BTH or header[1] != key_size or header[2] != data_size:
            raise Unscannable(f"{self.what}: Outlook data file with a damaged B-tree on a heap")
        levels, root = header[3], struct.unpack_from("<I", header, 4)[0]
        if levels > _MAX_LEVELS:
            raise Unscannable(f"{self.what}: Outlook data file with a damaged B-tree on a heap")
        hids = [root] if root else []
        for _ in range(levels):  # index records: a key, then the HID of the next level down
            step = key_size + 4
            hids = [struct.unpack_from("<I", chunk, i + key_size)[0]
                    for chunk in map(self.get, hids) for i in range(0, len(chunk) - step + 1, step)]
        size = key_size + data_size
        return [(chunk[i : i + key_size], chunk[i + key_size : i + size])
                for chunk in map(self.get, hids) for i in range(0, len(chunk) - size + 1, size)]


def properties(db: Database, node: Node) -> tuple[dict[int, Value], Heap]:
    """The properties of a property context, by id, and its heap (for its subnodes)."""
    heap = Heap(db, node, PROPERTY_CONTEXT)
    found: dict[int, Value] = {}
    for key, data in heap.records(heap.root, 2, 6):
        prop, (kind, hnid) = struct.unpack("<H", key)[0], struct.unpack("<HI", data)
        if kind in _INLINE:
            found[prop] = (kind, hnid.to_bytes(4, "little")[: _FIXED[kind]])
        else:
            found[prop] = (kind, heap.reference(hnid))
    return found, heap


@dataclass(frozen=True, slots=True)
class _Column:
    prop: int
    kind: int
    offset: int
    size: int
    bit: int


def table_rows(db: Database, node: Node) -> list[dict[int, Value]]:
    """The rows of a table context, each a dict of its set cells by property id."""
    heap = Heap(db, node, TABLE_CONTEXT)
    info = heap.get(heap.root)
    if len(info) < 22 or info[0] != TABLE_CONTEXT:
        raise Unscannable(f"{db.what}: Outlook data file with a damaged table")
    count, ends = info[1], struct.unpack_from("<4H", info, 2)
    index_hid, rows_hnid = struct.unpack_from("<II", info, 10)
    if len(info) < 22 + 8 * count:
        raise Unscannable(f"{db.what}: Outlook data file with a damaged table")
    columns = [_Column(tag >> 16, tag & 0xFFFF, offset, size, bit)
               for tag, offset, size, bit in struct.iter_unpack("<IHBB", info[22 : 22 + 8 * count])]
    width, bitmap = ends[3], ends[2]  # a row: the cells by size, then the bitmap of which are set
    if any(c.offset + c.size > bitmap or c.bit >= count for c in columns) or width < bitmap + (count + 7) // 8:
        raise Unscannable(f"{db.what}: Outlook data file with a damaged table")
    pages = [heap.get(rows_hnid)] if rows_hnid & 0x1F == 0 and rows_hnid else (
        db.data_blocks(heap.subnode(rows_hnid).data) if rows_hnid else [])
    matrix = [page[i : i + width] for page in pages for i in range(0, len(page) - width + 1, width)]
    index_size = 4 if db.layout.unicode else 2
    wanted = sorted(int.from_bytes(data, "little") for _, data in heap.records(index_hid, 4, index_size)) \
        if index_hid else []
    return [_row(heap, matrix[i], columns, bitmap) for i in wanted if i < len(matrix)]


def _row(heap: Heap, row: bytes, columns: list[_Column], bitmap: int) -> dict[int, Value]:
    cells: dict[int, Value] = {}
    for column in columns:
        if not row[bitmap + column.bit // 8] & (0x80 >> column.bit % 8):
            continue
        raw = row[column.offset : column.offset + column.size]
        fixed = column.kind in _FIXED and _FIXED[column.kind] <= column.size
        cells[column.prop] = (column.kind, raw if fixed else heap.reference(int.from_bytes(raw[:4], "little")))
    return cells


def _name(client: int) -> str:
    return {PROPERTY_CONTEXT: "property list", TABLE_CONTEXT: "table"}.get(client, "heap")
