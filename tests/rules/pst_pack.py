"""A writer of Outlook data files (.pst, [MS-PST]) for the tests of our own .pst reader.

Tests need .pst files whose every structure is known: which values sit in a heap and which in a
subnode, where a B-tree grows a level, when a data tree needs an XXBLOCK. Outlook writes none of
that on demand, so this writer builds the three layers of the format itself:

* NDB: the header and its ROOT, blocks (64-byte aligned, with BLOCKTRAILERs, data blocks encoded
  by `bCryptMethod`), XBLOCK/XXBLOCK data trees, SLBLOCK/SIBLOCK subnode trees, the node and block
  B-trees (NBT, BBT) as 512-byte pages of as many levels as needed, and the AMap/PMap pages; with
  `four_k`, the variant of Outlook 2013's offline caches (wVer 36, not in [MS-PST]; laid out as
  libpff's documentation and code read it): 4 KiB B-tree pages with 16-bit entry counts, blocks
  512-byte aligned with a 24-byte trailer that gives the inflated size, data blocks compressed
  with zlib when `compress` is set (after they are encoded: readers inflate, then decode), heap
  ids with the block index from bit 19;
* LTP: heaps on nodes (HNHDR, HNPAGEHDR, HNBITMAPHDR), BTHs with index levels, property contexts
  (PC) and table contexts (TC) with their row index, cell existence bitmaps and row matrices;
* messaging: the message store, the name-to-id map, the root folder, a folder tree with its
  hierarchy/contents/FAI tables, messages with recipient and attachment tables, attachments by
  value and embedded messages.

`pst_pack` also returns `Stats`, the counts of the structures it wrote, so that a test can assert
that the structure it is about really occurs. It is checked against independent readers
(readpst from libpst, and pypff from libpff) in test_pst_pack.py.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from rules.extract.pst_crypt import cyclic, permute

PT_SHORT, PT_LONG, PT_BOOLEAN, PT_OBJECT = 0x0002, 0x0003, 0x000B, 0x000D
PT_I8, PT_STRING8, PT_UNICODE, PT_SYSTIME, PT_BINARY = 0x0014, 0x001E, 0x001F, 0x0040, 0x0102
#: Value sizes of the types a PC keeps inline in its 4-byte slot (and a TC in its row).
_INLINE = {PT_SHORT: 2, PT_LONG: 4, 0x0004: 4, 0x000A: 4, PT_BOOLEAN: 1}
_FIXED8 = {0x0005, 0x0006, 0x0007, PT_I8, PT_SYSTIME}  # 8 bytes: in a heap in a PC, inline in a TC row
NID_FOLDER, NID_MESSAGE, NID_ATTACHMENT, NID_LTP = 0x02, 0x04, 0x05, 0x1F
NID_HIERARCHY, NID_CONTENTS, NID_FAI = 0x0D, 0x0E, 0x0F
NID_STORE, NID_NAME_MAP, NID_ROOT = 0x21, 0x61, 0x122
NID_RECIPIENTS, NID_ATTACHMENTS = 0x692, 0x671
MAX_ALLOC = 3580  # the largest heap allocation; larger values go to subnodes
_AMAP_BASE, _AMAP_SPAN = 0x4400, 253_952  # each AMap page maps 496 * 8 * 64 bytes from itself on
_AMAP_BASE_4K, _AMAP_SPAN_4K = 0x22000, 16_678_912  # 4 KiB files: 4072 * 8 units of 512 bytes
FILETIME_2024 = 133_485_408_000_000_000  # 2024-01-01 00:00 UTC
STORE_UID = bytes(range(0x10, 0x20))

Prop = tuple[int, int, bytes]  # property id, type, value (inline types: little-endian, <= 4 bytes)


@dataclass
class Attachment:
    """An attachment by value (`data`, attach method 1) or an embedded message (method 5)."""

    name: str
    data: bytes | None = None
    message: Message | None = None


@dataclass
class Message:
    """A message; `extra` adds raw properties (id -> (type, value bytes)) and overrides ours."""

    subject: str
    body: str = ""
    html: bytes | None = None
    sender_name: str = ""
    sender_address: str = ""
    recipients: list[tuple[str, str]] = field(default_factory=list)  # (display name, SMTP address)
    attachments: list[Attachment] = field(default_factory=list)
    message_class: str = "IPM.Note"
    extra: dict[int, tuple[int, bytes]] = field(default_factory=dict)
    omit_body: bool = False


@dataclass
class Folder:
    name: str
    messages: list[Message] = field(default_factory=list)
    folders: list[Folder] = field(default_factory=list)


@dataclass
class Stats:
    """How many of each structure a file holds, so tests can check they are not vacuous."""

    nbt_levels: int = 0
    bbt_levels: int = 0
    xblocks: int = 0
    xxblocks: int = 0
    slblocks: int = 0
    siblocks: int = 0
    multi_block_heaps: int = 0
    bitmap_headers: int = 0  # HNBITMAPHDRs (heaps of more than 8 blocks)
    bth_index_levels: int = 0  # the most index levels of any BTH
    subnode_values: int = 0  # PC values and TC cells stored in a subnode
    row_matrix_subnodes: int = 0
    amaps: int = 0
    pmaps: int = 0
    compressed_blocks: int = 0


def pst_bytes(folders: list[Folder], *, unicode: bool = True, crypt: int = 1, four_k: bool = False,
              compress: bool = False) -> bytes:
    """A .pst holding `folders` under the IPM subtree ("Top of Personal Folders")."""
    return pst_pack(folders, unicode=unicode, crypt=crypt, four_k=four_k, compress=compress)[0]


def pst_pack(folders: list[Folder], *, unicode: bool = True, crypt: int = 1, four_k: bool = False,
             compress: bool = False) -> tuple[bytes, Stats]:
    """The .pst (an .ost of 4 KiB pages with `four_k`) and the counts of the structures written
    into it."""
    if (four_k or compress) and not unicode:
        raise ValueError("4 KiB pages and compressed blocks exist in Unicode files only")
    writer = _Writer(unicode, crypt, four_k, compress)
    writer.store(folders)
    return writer.layout(), writer.stats


def crc32(data: bytes) -> int:
    """[MS-PST] 5.3: the table-driven CRC-32 of zlib, but from 0 and without the final inversion."""
    return zlib.crc32(data, 0xFFFFFFFF) ^ 0xFFFFFFFF


def signature(ib: int, bid: int) -> int:
    """[MS-PST] 5.5: the wSig of blocks and B-tree pages, from their offset and id."""
    ib ^= bid
    return ((ib >> 16) ^ ib) & 0xFFFF


def _fill_level(free: int) -> int:
    """The 4-bit fill level of a heap block ([MS-PST] 2.3.1.2): 0 is at least 3584 bytes free."""
    for level, least in enumerate((3584, 2560, 2048, 1792, 1536, 1280, 1024, 768, 512, 256, 128, 64, 32, 16, 8)):
        if free >= least:
            return level
    return 15


def _nibbles(levels: list[int], size: int) -> bytes:
    levels = (levels + [0] * size * 2)[: size * 2]
    return bytes(levels[i] | levels[i + 1] << 4 for i in range(0, len(levels), 2))


class _Heap:
    """A heap on a node: allocations in blocks of at most one data block each, addressed by HID
    (the block's index from bit 16 on; from bit 19 on in a 4 KiB file, as libpff and libpst read
    it, bits 16-18 left clear)."""

    def __init__(self, maxdata: int, four_k: bool = False) -> None:
        self.maxdata, self.shift = maxdata, 19 if four_k else 16
        self.blocks: list[list[bytearray]] = [[]]

    @staticmethod
    def _header_size(index: int) -> int:
        return 12 if index == 0 else 66 if index % 128 == 8 else 2

    def _size(self, index: int, allocs: list[bytearray]) -> int:
        body = self._header_size(index) + sum(map(len, allocs))
        return body + (body & 1) + 4 + 2 * (len(allocs) + 1)

    def alloc(self, data: bytes) -> int:
        if len(data) > MAX_ALLOC:
            raise ValueError(f"heap allocation of {len(data)} bytes")
        index = len(self.blocks) - 1
        if self._size(index, [*self.blocks[index], bytearray(data)]) > self.maxdata:
            self.blocks.append([])
            index += 1
        self.blocks[index].append(bytearray(data))
        return index << self.shift | len(self.blocks[index]) << 5

    def set(self, hid: int, data: bytes) -> None:
        """Fill in an allocation made before its content was known (same size)."""
        self.blocks[hid >> self.shift][(hid >> 5 & 0x7FF) - 1][:] = data

    def serialize(self, client_sig: int, root: int) -> list[bytes]:
        levels = [_fill_level(self.maxdata - self._size(i, b)) for i, b in enumerate(self.blocks)]
        out = []
        for index, allocs in enumerate(self.blocks):
            body = bytearray(self._header_size(index))
            offsets = [len(body)]
            for alloc in allocs:
                body += alloc
                offsets.append(len(body))
            body += bytes(len(body) & 1)
            struct.pack_into("<H", body, 0, len(body))  # ibHnpm
            if index == 0:
                body[2:12] = struct.pack("<BBI", 0xEC, client_sig, root) + _nibbles(levels[:8], 4)
            elif index % 128 == 8:
                body[2:66] = _nibbles(levels[index:index + 128], 64)
            out.append(bytes(body + struct.pack(f"<HH{len(offsets)}H", len(allocs), 0, *offsets)))
        return out


class _Writer:
    def __init__(self, unicode: bool, crypt: int, four_k: bool = False, compress: bool = False) -> None:
        self.unicode, self.crypt, self.four_k, self.compress = unicode, crypt, four_k, compress
        self.idfmt = "Q" if unicode else "I"
        self.maxdata = 8176 if unicode else 8180
        self.blocks: list[tuple[int, bytes, int]] = []  # bid, stored bytes, inflated size
        self.nodes: list[tuple[int, int, int, int]] = []  # NBT: nid, bidData, bidSub, nidParent
        self.next_bid = 4
        self.sizes: dict[int, int] = {}  # bytes of node data by its BID, for PT_OBJECT's ulSize
        self.next_index = {NID_FOLDER: 0x401, NID_MESSAGE: 0x10000}
        self.stats = Stats()

    # NDB: blocks, data trees, subnode trees

    def _id(self, value: int) -> bytes:
        return struct.pack("<" + self.idfmt, value)

    def block(self, data: bytes, internal: bool = False) -> int:
        """Store one block; data blocks are encoded, internal ones (BID bit 1) never are."""
        bid = self.next_bid | (2 if internal else 0)
        self.next_bid += 4
        if not internal and self.crypt == 1:
            data = permute(data)
        elif not internal and self.crypt == 2:
            data = cyclic(data, bid & 0xFFFFFFFF)
        inflated = len(data)
        if self.compress and data:
            packed = zlib.compress(data)
            if len(packed) < len(data):
                data = packed
                self.stats.compressed_blocks += 1
        self.blocks.append((bid, data, inflated))
        return bid

    def data(self, payload: bytes) -> int:
        """A node's data: one block, or an XBLOCK/XXBLOCK tree of full blocks."""
        step = self.maxdata
        return self.chunks([payload[i:i + step] for i in range(0, len(payload), step)] or [b""])

    def chunks(self, parts: list[bytes]) -> int:
        if len(parts) == 1:
            bid = self.block(parts[0])
        else:
            fan = (self.maxdata - 8) // struct.calcsize(self.idfmt)
            leaves = [(self.block(part), len(part)) for part in parts]
            xblocks = [self._xblock(1, leaves[i:i + fan]) for i in range(0, len(leaves), fan)]
            self.stats.xblocks += len(xblocks)
            if len(xblocks) > fan:
                raise ValueError("data too large for an XXBLOCK")
            self.stats.xxblocks += len(xblocks) > 1
            bid = xblocks[0][0] if len(xblocks) == 1 else self._xblock(2, xblocks)[0]
        self.sizes[bid] = sum(map(len, parts))
        return bid

    def _xblock(self, level: int, children: list[tuple[int, int]]) -> tuple[int, int]:
        total = sum(size for _, size in children)
        head = struct.pack("<BBHI", 1, level, len(children), total)
        return self.block(head + b"".join(self._id(bid) for bid, _ in children), internal=True), total

    def subtree(self, subs: dict[int, tuple[int, int]]) -> int:
        """The subnode tree of a node (0 when it has none): SLBLOCKs under an SIBLOCK if needed."""
        if not subs:
            return 0
        pad = bytes(4) if self.unicode else b""
        items = sorted(subs.items())
        fan = (self.maxdata - 4 - len(pad)) // (3 * struct.calcsize(self.idfmt))
        parts = [items[i:i + fan] for i in range(0, len(items), fan)]
        self.stats.slblocks += len(parts)
        leaves = [self.block(struct.pack("<BBH", 2, 0, len(part)) + pad + b"".join(
            self._id(nid) + self._id(bid) + self._id(sub) for nid, (bid, sub) in part), internal=True)
            for part in parts]
        if len(parts) == 1:
            return leaves[0]
        self.stats.siblocks += 1
        entries = b"".join(self._id(part[0][0]) + self._id(bid) for part, bid in zip(parts, leaves, strict=True))
        return self.block(struct.pack("<BBH", 2, 1, len(parts)) + pad + entries, internal=True)

    def nid(self, nid_type: int) -> int:
        index = self.next_index.get(nid_type, 0x400)
        self.next_index[nid_type] = index + 1
        return index << 5 | nid_type

    # LTP: BTH, PC, TC

    def bth(self, heap: _Heap, records: list[tuple[int, bytes]], cb_key: int, cb_ent: int,
            head: int | None = None) -> int:
        """A BTH of `records` (key, data); index levels when the leaves need more than one allocation."""
        head = heap.alloc(bytes(8)) if head is None else head
        key = {2: "<H", 4: "<I"}[cb_key]
        level = [(struct.pack(key, k), data) for k, data in sorted(records)]
        root, levels, per = 0, 0, MAX_ALLOC // (cb_key + cb_ent)
        while level:
            groups = [level[i:i + per] for i in range(0, len(level), per)]
            hids = [heap.alloc(b"".join(k + d for k, d in group)) for group in groups]
            if len(groups) == 1:
                root = hids[0]
                break
            level = [(group[0][0], struct.pack("<I", hid)) for group, hid in zip(groups, hids, strict=True)]
            levels, per = levels + 1, MAX_ALLOC // (cb_key + 4)
        heap.set(head, struct.pack("<BBBBI", 0xB5, cb_key, cb_ent, levels, root))
        self.stats.bth_index_levels = max(self.stats.bth_index_levels, levels)
        return head

    def hnid(self, heap: _Heap, value: bytes, subs: dict[int, tuple[int, int]]) -> int:
        """A variable-size value: in the heap when it fits an allocation, else in a subnode."""
        if len(value) <= MAX_ALLOC:
            return heap.alloc(value)
        nid = self.nid(NID_LTP)
        subs[nid] = (self.data(value), 0)
        self.stats.subnode_values += 1
        return nid

    def heap_node(self, heap: _Heap, client_sig: int, root: int) -> int:
        blocks = heap.serialize(client_sig, root)
        self.stats.multi_block_heaps += len(blocks) > 1
        self.stats.bitmap_headers += (len(blocks) + 119) // 128
        return self.chunks(blocks)

    def pc(self, props: list[Prop]) -> tuple[int, dict[int, tuple[int, int]]]:
        """A property context: its data BID and the subnodes holding its large values."""
        heap, subs = _Heap(self.maxdata, self.four_k), dict[int, tuple[int, int]]()
        head = heap.alloc(bytes(8))  # the BTH header first, as Outlook does (HID 0x20)
        records = []
        for prop_id, prop_type, value in props:
            if prop_type in _INLINE:
                hnid = int.from_bytes(value.ljust(4, b"\0"), "little")
            else:
                hnid = self.hnid(heap, value, subs)
            records.append((prop_id, struct.pack("<HI", prop_type, hnid)))
        return self.heap_node(heap, 0xBC, self.bth(heap, records, 2, 6, head)), subs

    def tc(self, columns: list[tuple[int, int]], rows: list[tuple[int, dict[int, bytes]]]) -> tuple[int, int]:
        """A table context of `rows` (row id, values by property id): its data BID and subnode tree."""
        heap, subs = _Heap(self.maxdata, self.four_k), dict[int, tuple[int, int]]()
        info = heap.alloc(bytes(22 + 8 * (len(columns) + 2)))
        cols = [(0x67F2, PT_LONG), (0x67F3, PT_LONG), *columns]
        width = {i: 8 if t in _FIXED8 else _INLINE.get(t, 4) for i, (_, t) in enumerate(cols)}
        order = [0, 1, *sorted(range(2, len(cols)), key=lambda i: -width[i])]
        offsets, end, ends = {}, 0, {}
        for i in order:
            offsets[i], end = end, end + width[i]
            ends[min(width[i], 4)] = end
        tci_4b = ends[4]
        tci_2b = ends.get(2, tci_4b)
        tci_1b = ends.get(1, tci_2b)
        size = tci_1b + (len(cols) + 7) // 8
        matrix = bytearray()
        for row_id, values in rows:
            row = bytearray(size)
            for i, (prop_id, prop_type) in enumerate(cols):
                value = struct.pack("<I", row_id) if i == 0 else bytes(4) if i == 1 else values.get(prop_id)
                if value is None:
                    continue
                if prop_type not in _INLINE and prop_type not in _FIXED8:
                    value = struct.pack("<I", self.hnid(heap, value, subs))
                row[offsets[i]:offsets[i] + width[i]] = value.ljust(width[i], b"\0")
                row[tci_1b + i // 8] |= 0x80 >> i % 8
            matrix += row
        index = self.bth(heap, [(row_id, struct.pack("<I" if self.unicode else "<H", n))
                                for n, (row_id, _) in enumerate(rows)], 4, 4 if self.unicode else 2)
        rows_hnid = self._row_matrix(heap, bytes(matrix), size, subs)
        descs = sorted((prop_id << 16 | prop_type, offsets[i], width[i], i) for i, (prop_id, prop_type) in enumerate(cols))
        heap.set(info, struct.pack("<BB4HIII", 0x7C, len(cols), tci_4b, tci_2b, tci_1b, size, index, rows_hnid, 0)
                 + b"".join(struct.pack("<IHBB", *desc) for desc in descs))
        return self.heap_node(heap, 0x7C, info), self.subtree(subs)

    def _row_matrix(self, heap: _Heap, matrix: bytes, size: int, subs: dict[int, tuple[int, int]]) -> int:
        """Rows in the heap if they fit one allocation, else in a subnode of whole rows per block."""
        if len(matrix) <= MAX_ALLOC:
            return heap.alloc(matrix) if matrix else 0
        per = self.maxdata // size * size
        parts = [matrix[i:i + per] for i in range(0, len(matrix), per)]
        parts = [part.ljust(self.maxdata, b"\0") for part in parts[:-1]] + parts[-1:]
        nid = self.nid(NID_LTP)
        subs[nid] = (self.chunks(parts), 0)
        self.stats.row_matrix_subnodes += 1
        return nid

    # messaging layer

    def enc(self, value: str) -> bytes:
        """A string as stored: UTF-16LE in a Unicode file, cp1252 in an ANSI one; no terminator."""
        return value.encode("utf-16-le" if self.unicode else "cp1252")

    def text(self, prop_id: int, value: str) -> Prop:
        return prop_id, self.string_type, self.enc(value)

    @property
    def string_type(self) -> int:
        return PT_UNICODE if self.unicode else PT_STRING8

    def message_props(self, m: Message, when: int) -> list[Prop]:
        time = struct.pack("<Q", when)
        flags = 0x01 | (0x10 if m.attachments else 0)  # read, has attachments
        props: list[Prop] = [(i, t, v) for i, (t, v) in m.extra.items()]
        props += [self.text(0x001A, m.message_class), self.text(0x0037, m.subject), self.text(0x0E1D, m.subject),
                  self.text(0x0070, m.subject), (0x0E07, PT_LONG, struct.pack("<I", flags)),
                  (0x0E08, PT_LONG, struct.pack("<I", len(m.body) + len(m.html or b""))),
                  (0x0E06, PT_SYSTIME, time), (0x0039, PT_SYSTIME, time), (0x3007, PT_SYSTIME, time),
                  (0x3008, PT_SYSTIME, time), (0x0017, PT_LONG, struct.pack("<I", 1))]
        if self.unicode:
            props.append((0x3FDE, PT_LONG, struct.pack("<I", 65001)))  # PidTagInternetCodepage: UTF-8
        else:
            props += [(0x3FFD, PT_LONG, struct.pack("<I", 1252)), (0x3FDE, PT_LONG, struct.pack("<I", 1252))]
        if m.sender_name or m.sender_address:
            props += [self.text(0x0C1A, m.sender_name), self.text(0x0042, m.sender_name),
                      self.text(0x0C1E, "SMTP"), self.text(0x0064, "SMTP"), self.text(0x0C1F, m.sender_address),
                      self.text(0x0065, m.sender_address), self.text(0x5D01, m.sender_address)]
        if m.recipients:
            props.append(self.text(0x0E04, "; ".join(name for name, _ in m.recipients)))
        if not m.omit_body:
            props.append(self.text(0x1000, m.body))
        if m.html is not None:
            props.append((0x1013, PT_BINARY, m.html))
        unique: dict[int, Prop] = {}
        for prop in props:  # the extras come first: they win, and their values sit early in the heap
            unique.setdefault(prop[0], prop)
        return list(unique.values())

    def message(self, m: Message, when: int) -> tuple[int, int]:
        """A message's PC and its subnode tree: recipient and attachment tables, attachments."""
        subs: dict[int, tuple[int, int]] = {}
        s = self.string_type
        recipients = [(n, {0x0C15: struct.pack("<I", 1), 0x0E0F: b"\1", 0x0FFE: struct.pack("<I", 6),
                           0x3900: bytes(4), 0x3001: self.enc(name), 0x3002: self.enc("SMTP"),
                           0x3003: self.enc(address), 0x39FE: self.enc(address)})
                      for n, (name, address) in enumerate(m.recipients)]
        subs[NID_RECIPIENTS] = self.tc([(0x0C15, PT_LONG), (0x0E0F, PT_BOOLEAN), (0x0FFE, PT_LONG), (0x3001, s),
                                        (0x3002, s), (0x3003, s), (0x3900, PT_LONG), (0x39FE, s)], recipients)
        rows = []
        for attachment in m.attachments:
            nid = self.nid(NID_ATTACHMENT)
            subs[nid], size = self.attachment(attachment, when)
            rows.append((nid, {0x0E20: struct.pack("<I", size), 0x3704: self.enc(attachment.name),
                               0x3705: struct.pack("<I", 5 if attachment.message else 1),
                               0x370B: struct.pack("<i", -1)}))
        if rows:
            subs[NID_ATTACHMENTS] = self.tc([(0x0E20, PT_LONG), (0x3704, s), (0x3705, PT_LONG),
                                             (0x370B, PT_LONG)], rows)
        bid, values = self.pc(self.message_props(m, when))
        return bid, self.subtree(subs | values)

    def attachment(self, a: Attachment, when: int) -> tuple[tuple[int, int], int]:
        """An attachment's PC and subnode tree (holding the embedded message, if any), and its size."""
        subs: dict[int, tuple[int, int]] = {}
        if a.message is not None:
            nid = self.nid(NID_LTP)
            bid, sub = self.message(a.message, when)
            subs[nid], size = (bid, sub), self.sizes[bid]
            data: Prop = (0x3701, PT_OBJECT, struct.pack("<II", nid, size))
        else:
            size = len(a.data or b"")
            data = (0x3701, PT_BINARY, a.data or b"")
        props = [data, (0x0E20, PT_LONG, struct.pack("<I", size)), self.text(0x3704, a.name),
                 self.text(0x3707, a.name), self.text(0x3001, a.name),
                 (0x3705, PT_LONG, struct.pack("<I", 5 if a.message else 1)), (0x370B, PT_LONG, struct.pack("<i", -1)),
                 (0x3007, PT_SYSTIME, struct.pack("<Q", when)), (0x3008, PT_SYSTIME, struct.pack("<Q", when))]
        bid, values = self.pc(props)
        return (bid, self.subtree(subs | values)), size

    def folder(self, nid: int, parent: int, name: str, folders: list[tuple[int, Folder]],
               messages: list[tuple[int, Message]], container_class: str | None = "IPF.Note") -> None:
        """A folder's PC and its hierarchy, contents and FAI tables (nodes of the same index)."""
        s, count = self.string_type, struct.pack("<I", len(messages))
        props = [self.text(0x3001, name), (0x3602, PT_LONG, count), (0x3603, PT_LONG, bytes(4)),
                 (0x360A, PT_BOOLEAN, b"\1" if folders else b"\0")]
        if container_class:
            props.append(self.text(0x3613, container_class))
        bid, values = self.pc(props)
        self.nodes.append((nid, bid, self.subtree(values), parent))
        hierarchy = [(sub_nid, {0x3001: self.enc(f.name), 0x3602: struct.pack("<I", len(f.messages)),
                                0x3603: bytes(4), 0x360A: b"\1" if f.folders else b"\0",
                                0x3613: self.enc("IPF.Note")}) for sub_nid, f in folders]
        table = self.tc([(0x3001, s), (0x3602, PT_LONG), (0x3603, PT_LONG), (0x360A, PT_BOOLEAN), (0x3613, s)],
                        hierarchy)
        self.nodes.append((nid & ~0x1F | NID_HIERARCHY, *table, 0))
        contents = [(msg_nid, {0x001A: self.enc(m.message_class), 0x0037: self.enc(m.subject),
                               0x0C1A: self.enc(m.sender_name), 0x0E06: struct.pack("<Q", FILETIME_2024),
                               0x0E07: struct.pack("<I", 1 | (0x10 if m.attachments else 0)),
                               0x0E08: struct.pack("<I", len(m.body))}) for msg_nid, m in messages]
        table = self.tc([(0x001A, s), (0x0037, s), (0x0C1A, s), (0x0E06, PT_SYSTIME), (0x0E07, PT_LONG),
                         (0x0E08, PT_LONG)], contents)
        self.nodes.append((nid & ~0x1F | NID_CONTENTS, *table, 0))
        self.nodes.append((nid & ~0x1F | NID_FAI, *self.tc([(0x001A, s)], []), 0))

    def tree(self, nid: int, parent: int, f: Folder) -> None:
        subfolders = [(self.nid(NID_FOLDER), sub) for sub in f.folders]
        messages = [(self.nid(NID_MESSAGE), m) for m in f.messages]
        self.folder(nid, parent, f.name, subfolders, messages)
        for n, (msg_nid, m) in enumerate(messages):
            when = FILETIME_2024 + n * 10_000_000
            self.nodes.append((msg_nid, *self.message(m, when), nid))
        for sub_nid, sub in subfolders:
            self.tree(sub_nid, nid, sub)

    def store(self, folders: list[Folder]) -> None:
        """The message store, the name-to-id map, the root folder and the IPM subtree beneath it."""
        ipm = self.nid(NID_FOLDER)
        entry_id = bytes(4) + STORE_UID + struct.pack("<I", ipm)
        bid, values = self.pc([(0x0FF9, PT_BINARY, STORE_UID), self.text(0x3001, "Personal Folders"),
                               (0x35DF, PT_LONG, struct.pack("<I", 0x89)), (0x35E0, PT_BINARY, entry_id),
                               (0x67FF, PT_LONG, bytes(4))])
        self.nodes.append((NID_STORE, bid, self.subtree(values), 0))
        bid, values = self.pc(_name_map())
        self.nodes.append((NID_NAME_MAP, bid, self.subtree(values), 0))
        self.folder(NID_ROOT, NID_ROOT, "", [(ipm, Folder("Top of Personal Folders"))], [], None)
        self.tree(ipm, NID_ROOT, Folder("Top of Personal Folders", [], folders))

    # file layout: blocks, B-tree pages, maps, header

    def layout(self) -> bytes:
        alloc = _Allocator(self.four_k)
        placed: list[tuple[int, bytes]] = []
        trailer = "<HHIQHHI" if self.four_k else "<HHIQ" if self.unicode else "<HHII"
        align = 512 if self.four_k else 64
        bbt = []
        for bid, data, inflated in self.blocks:
            size = -(-(len(data) + struct.calcsize(trailer)) // align) * align
            ib = alloc.take(size, align)
            fields = (crc32(data), bid) if self.unicode else (bid, crc32(data))
            tail = struct.pack(trailer, len(data), signature(ib, bid), *fields, *((0, inflated, 0) if self.four_k else ()))
            placed.append((ib, data.ljust(size - len(tail), b"\0") + tail))
            bbt.append((bid, ib, len(data)))
        bbt_fmt, nbt_fmt = ("<QQHHI", "<QQQII") if self.unicode else ("<IIHH", "<IIII")
        bbt_root, self.stats.bbt_levels = self.btree(alloc, placed, 0x80, [
            (bid, struct.pack(bbt_fmt, bid, ib, cb, 1, *([0] if self.unicode else []))) for bid, ib, cb in sorted(bbt)])
        nbt_root, self.stats.nbt_levels = self.btree(alloc, placed, 0x81, [
            (node[0], struct.pack(nbt_fmt, *node, *([0] if self.unicode else []))) for node in sorted(self.nodes)])
        maps, free, last = self.maps(alloc.cursor, placed)
        image = bytearray(max(alloc.cursor, *(ib + len(data) for ib, data in maps)))
        for ib, data in placed + maps:
            image[ib:ib + len(data)] = data
        header = self.header(len(image), last, free, nbt_root, bbt_root)
        image[:len(header)] = header
        return bytes(image)

    def page(self, ptype: int, body: bytes, ib: int, bid: int) -> bytes:
        """A 512-byte page (4 KiB with `four_k`): `body` and a PAGETRAILER (BT pages are signed,
        map pages not)."""
        sig = signature(ib, bid) if ptype in (0x80, 0x81) else 0
        if self.four_k:
            return body + struct.pack("<BBHIQQ", ptype, ptype, sig, crc32(body), bid, 0)
        if self.unicode:
            return body + struct.pack("<BBHIQ", ptype, ptype, sig, crc32(body), bid)
        return body + struct.pack("<BBHII", ptype, ptype, sig, bid, crc32(body))

    def btree(self, alloc: _Allocator, placed: list[tuple[int, bytes]], ptype: int,
              entries: list[tuple[int, bytes]]) -> tuple[tuple[int, int], int]:
        """The BT pages of sorted `entries` (key, entry), level by level; the root BREF and level count."""
        region, level = (4056 if self.four_k else 488 if self.unicode else 496), 0
        page = 4096 if self.four_k else 512
        while True:
            size = len(entries[0][1]) if entries else 32 if self.unicode else 16
            per = region // size
            refs = []
            for i in range(0, max(len(entries), 1), per):
                chunk = entries[i:i + per]
                bid, ib = self.next_bid, alloc.take(page, page)
                self.next_bid += 4
                body = b"".join(e for _, e in chunk).ljust(region, b"\0")
                if self.four_k:
                    body += struct.pack("<HHBB", len(chunk), per, size, level) + bytes(10)
                else:
                    body += bytes((len(chunk), per, size, level)) + bytes(4 if self.unicode else 0)
                placed.append((ib, self.page(ptype, body, ib, bid)))
                refs.append((chunk[0][0] if chunk else 0, bid, ib))
            if len(refs) == 1:
                return refs[0][1:], level + 1
            fmt = "<QQQ" if self.unicode else "<III"
            entries, level = [(key, struct.pack(fmt, key, bid, ib)) for key, bid, ib in refs], level + 1

    def maps(self, end: int, placed: list[tuple[int, bytes]]) -> tuple[list[tuple[int, bytes]], int, int]:
        """AMap pages (one bit per 64 bytes in use) and PMap pages (all set, as they are deprecated);
        a 4 KiB file's AMaps map 512-byte units and it has no PMaps."""
        if self.four_k:
            return self._maps_4k(end, placed)
        count = (end - _AMAP_BASE - 1) // _AMAP_SPAN + 1
        if count > 128:
            raise ValueError("files of more than 128 AMaps (31 MB) need FMap pages, which are not written")
        bits = [bytearray(496) for _ in range(count)]
        ranges = [(ib, len(data)) for ib, data in placed]
        ranges += [(_AMAP_BASE + k * _AMAP_SPAN, 1024 if k % 8 == 0 else 512) for k in range(count)]
        for ib, size in ranges:
            for unit in range((ib - _AMAP_BASE) // 64, (ib + size - _AMAP_BASE + 63) // 64):
                bits[unit // 3968][unit % 3968 // 8] |= 0x80 >> unit % 8
        pad = b"" if self.unicode else bytes(4)
        pages = []
        for k, amap in enumerate(bits):
            ib = _AMAP_BASE + k * _AMAP_SPAN
            pages.append((ib, self.page(0x84, pad + bytes(amap), ib, ib)))
            if k % 8 == 0:
                pages.append((ib + 512, self.page(0x83, pad + b"\xff" * 496, ib + 512, ib + 512)))
        self.stats.amaps, self.stats.pmaps = count, (count + 7) // 8
        free = sum(64 * (8 - bin(byte).count("1")) for amap in bits for byte in amap)
        return pages, free, _AMAP_BASE + (count - 1) * _AMAP_SPAN

    def _maps_4k(self, end: int, placed: list[tuple[int, bytes]]) -> tuple[list[tuple[int, bytes]], int, int]:
        count = (end - _AMAP_BASE_4K - 1) // _AMAP_SPAN_4K + 1
        bits = [bytearray(4072) for _ in range(count)]
        for ib, size in [(ib, len(data)) for ib, data in placed] + [(_AMAP_BASE_4K + k * _AMAP_SPAN_4K, 4096)
                                                                    for k in range(count)]:
            for unit in range((ib - _AMAP_BASE_4K) // 512, (ib + size - _AMAP_BASE_4K + 511) // 512):
                bits[unit // 32576][unit % 32576 // 8] |= 0x80 >> unit % 8
        pages = [(_AMAP_BASE_4K + k * _AMAP_SPAN_4K, self.page(0x84, bytes(amap), _AMAP_BASE_4K + k * _AMAP_SPAN_4K,
                                                                _AMAP_BASE_4K + k * _AMAP_SPAN_4K))
                 for k, amap in enumerate(bits)]
        self.stats.amaps = count
        free = sum(512 * (8 - bin(byte).count("1")) for amap in bits for byte in amap)
        return pages, free, _AMAP_BASE_4K + (count - 1) * _AMAP_SPAN_4K

    def header(self, eof: int, amap_last: int, amap_free: int, nbt: tuple[int, int], bbt: tuple[int, int]) -> bytes:
        """The HEADER with its ROOT and CRCs ([MS-PST] 2.2.2.6)."""
        rgnid = [self.next_index.get(t, 0x400) for t in range(32)]
        rgnid[3] = 0x4000
        if self.unicode:
            h = bytearray(564)
            struct.pack_into("<IIHHHBBIIQQI32I", h, 0, 0x4E444221, 0, 0x4F53 if self.four_k else 0x4D53,
                             36 if self.four_k else 23, 19, 1, 1, 0, 0, 0, self.next_bid, 1, *rgnid)
            struct.pack_into("<IQQQQQQQQBBH", h, 180, 0, eof, amap_last, amap_free, 0, *nbt, *bbt, 2, 0, 0)
            h[256:512] = b"\xff" * 256
            struct.pack_into("<BBHQ", h, 512, 0x80, self.crypt, 0, self.next_bid)
            struct.pack_into("<I", h, 524, crc32(bytes(h[8:524])))
        else:
            h = bytearray(512)
            struct.pack_into("<IIHHHBBIIIII32I", h, 0, 0x4E444221, 0, 0x4D53, 14, 19, 1, 1, 0, 0,
                             self.next_bid, self.next_bid, 1, *rgnid)
            struct.pack_into("<IIIIIIIIIBBH", h, 164, 0, eof, amap_last, amap_free, 0, *nbt, *bbt, 2, 0, 0)
            h[204:460] = b"\xff" * 256
            struct.pack_into("<BB", h, 460, 0x80, self.crypt)
        struct.pack_into("<I", h, 4, crc32(bytes(h[8:479])))
        return bytes(h)


def _name_map() -> list[Prop]:
    """The name-to-id map ([MS-PST] 2.4.7) with one named property, as no real map is empty (and
    libpff rejects an empty entry stream): PidLidReminderDelta (PSETID_Common, LID 0x8501) as 0x8000."""
    guid = bytes.fromhex("0820060000000000c000000000000046")  # {00062008-0000-0000-C000-000000000046}
    lid, guid_field, index = 0x8501, 3 << 1, 0  # wGuid 3: the first GUID of the GUID stream; N = 0
    entry = struct.pack("<IHH", lid, guid_field, index)
    props: list[Prop] = [(0x0001, PT_LONG, struct.pack("<I", 251)), (0x0002, PT_BINARY, guid),
                         (0x0003, PT_BINARY, entry), (0x0004, PT_BINARY, b"")]
    bucket = (lid ^ guid_field) % 251
    return props + [(0x1000 + n, PT_BINARY, entry if n == bucket else b"") for n in range(251)]


class _Allocator:
    """Hands out file offsets from 0x4800 on, stepping over the AMap and PMap pages (in a 4 KiB
    file, from 0x23000 on, stepping over its AMap pages)."""

    def __init__(self, four_k: bool = False) -> None:
        self.base, self.span = (_AMAP_BASE_4K, _AMAP_SPAN_4K) if four_k else (_AMAP_BASE, _AMAP_SPAN)
        self.four_k = four_k
        self.cursor = self.base + self._maps(0)

    def _maps(self, k: int) -> int:
        """Bytes of map pages at the start of span `k`."""
        return 4096 if self.four_k else 1024 if k % 8 == 0 else 512

    def take(self, size: int, align: int) -> int:
        ib = -(-self.cursor // align) * align
        moved = True
        while moved:
            moved = False
            for k in {(ib - self.base) // self.span, (ib + size - 1 - self.base) // self.span}:
                start = self.base + k * self.span
                stop = start + self._maps(k)
                if ib < stop and ib + size > start:
                    ib, moved = -(-stop // align) * align, True
        self.cursor = ib + size
        return ib
