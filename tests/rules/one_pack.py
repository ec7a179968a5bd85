"""A writer of OneNote sections (.one, the [MS-ONESTORE] revision store of OneNote 2010 and later)
for the tests of our own OneNote reader.

OneNote writes no file on demand whose every structure is known, so this writer builds one from
the specification ([MS-ONESTORE] for the store, [MS-ONE] for what the objects mean):

* the 1024-byte Header, and the transaction log: one transaction per page (a page with an earlier
  revision gets a second one later) and a last one for the section, each ending in a sentinel
  entry with the CRC ([MS-ONESTORE] 2.1.2: zlib's CRC-32) of its entries;
* file node lists as FileNodeListFragments chained by nextFragment (with `fragment_size`, several
  per list, placed last fragment first so that a reader must follow the chain), FileNodes with
  8-byte or compressed FileNodeChunkReferences (`compact_refs`);
* the root file node list, one object space per page plus the section's own, their object space
  manifest lists, revision manifest lists, revision manifests and object group lists, each group
  with its own global id table; the revision-wide GUID indices are shuffled per revision, so a
  CompactID only resolves through the table of its own revision;
* ObjectSpaceObjectPropSets (OIDs and OSIDs streams, PropertySet) for [MS-ONE] nodes: section,
  page series, page manifest, page, title, outline, outline element, rich text, embedded file;
* the file data store: FileDataStoreObjects referenced by ObjectDeclarationFileData3RefCountFND
  through "<ifndf>{GUID}".

`one_pack` also returns `Stats`, the counts of the structures it wrote, so that a test can assert
that the structure it is about really occurs. It is checked against an independent reader,
pyOneNote, in test_one_pack.py.
"""

from __future__ import annotations

import hashlib
import random
import struct
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

GUID_ONE = uuid.UUID("7B5C52E4-D88C-4DA7-AEB1-5378D02996D3")
GUID_ONETOC2 = uuid.UUID("43FF2FA1-EFD9-4C76-9EE2-10EA5722765F")
GUID_FILE_FORMAT = uuid.UUID("109ADD3F-911B-49F5-A5D0-1791EDC8AED8")
FDSO_HEADER = uuid.UUID("BDE316E7-2665-4511-A4C4-8D4D0B7A9EAC")
FDSO_FOOTER = uuid.UUID("71FBA722-0F79-4A0B-BB13-899256426B24")
LIST_MAGIC, LIST_FOOTER = 0xA4567AB1F5F7F4C4, 0x8BC215C38233BA4B
KEY_HEADER, KEY_FOOTER = 0xFB6BA385DAD1A067, 0x2649294F8E198B3C
FCR_NIL = (0xFFFFFFFFFFFFFFFF, 0)

# FileNodeIDs ([MS-ONESTORE] 2.4.3)
OSM_ROOT, OSML_REF, OSML_START, RML_REF, RML_START = 0x004, 0x008, 0x00C, 0x010, 0x014
REV_START6, REV_END, GIT_START2, GIT_ENTRY, GIT_END = 0x01E, 0x01C, 0x022, 0x024, 0x028
ROOT_REF3, ROLE_DECL, FILE_DATA3, FILE_DATA3_LARGE, ENCRYPTION_KEY = 0x05A, 0x05C, 0x072, 0x073, 0x07C
FDS_REF, FDS_OBJECT_REF, DECL2, DECL2_LARGE = 0x090, 0x094, 0x0A4, 0x0A5
GROUP_REF, GROUP_START, GROUP_END, RO_DECL2, RO_DECL2_LARGE = 0x0B0, 0x0B4, 0x0B8, 0x0C4, 0x0C5

# JCIDs and property ids ([MS-ONE] 2.1.13, 2.1.12); a property id carries its type in bits 26-30
JCID_SECTION, JCID_SECTION_META, JCID_PAGE_SERIES = 0x00060007, 0x00020031, 0x00060008
JCID_PAGE_MANIFEST, JCID_PAGE, JCID_PAGE_META, JCID_TITLE = 0x00060037, 0x0006000B, 0x00020030, 0x0006002C
JCID_OUTLINE, JCID_OE, JCID_RICH_TEXT = 0x0006000C, 0x0006000D, 0x0006000E
JCID_EMBEDDED_FILE, JCID_EMBEDDED_FILE_CONTAINER = 0x00060035, 0x00080001
JCID_TABLE, JCID_TABLE_ROW, JCID_TABLE_CELL = 0x00060022, 0x00060023, 0x00060024
ROW_COUNT, COLUMN_COUNT = 0x14001D57, 0x14001D58
ELEMENT_CHILD_NODES, CONTENT_CHILD_NODES, STRUCTURE_CHILD_NODES = 0x24001C20, 0x24001C1F, 0x24001D5F
CHILD_GRAPH_SPACES, ENTITY_GUID = 0x2C001D63, 0x1C001C30
RICH_TEXT_UNICODE, TEXT_EXTENDED_ASCII, RICH_TEXT_LANG = 0x1C001C22, 0x1C003498, 0x10001CFE
CACHED_TITLE, PAGE_LEVEL, PAGE_WIDTH, LAST_MODIFIED = 0x1C001CF3, 0x14001DFF, 0x14001C01, 0x18001D77
IS_TITLE_TEXT, OE_CHILD_LEVEL, OFFSET_HORIZ = 0x08001CB4, 0x0C001C03, 0x14001C14
EMBEDDED_CONTAINER, EMBEDDED_NAME = 0x20001D9B, 0x1C001D9C
ROLE_CONTENT, ROLE_METADATA = 1, 2  # [MS-ONE] 2.1.8 root object roles
FILETIME_2024 = 133_485_408_000_000_000


@dataclass
class Embedded:
    """A file inserted into a page (jcidEmbeddedFileNode)."""

    name: str
    data: bytes
    extension: str = ""


@dataclass
class Page:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    ascii_paragraphs: list[str] = field(default_factory=list)  # TextExtendedAscii, cp1252
    files: list[Embedded] = field(default_factory=list)
    old_paragraphs: list[str] = field(default_factory=list)  # an earlier revision, later replaced
    tables: list[list[list[str]]] = field(default_factory=list)  # rows of cells, after the paragraphs


@dataclass
class Stats:
    """How many of each structure a file holds, so tests can check they are not vacuous."""

    file_node_lists: int = 0
    extra_fragments: int = 0  # fragments beyond the first of their list
    object_spaces: int = 0
    revisions: int = 0
    object_groups: int = 0
    declarations: Counter[int] = field(default_factory=Counter)  # committed, by FileNodeID
    global_id_entries: int = 0
    file_data_objects: int = 0
    stp_formats: Counter[int] = field(default_factory=Counter)
    cb_formats: Counter[int] = field(default_factory=Counter)
    property_types: Counter[int] = field(default_factory=Counter)
    uncommitted_nodes: int = 0
    transactions: int = 0
    log_fragments: int = 0
    encryption_keys: int = 0
    tables: int = 0


@dataclass(frozen=True)
class ExtendedGuid:
    guid: uuid.UUID
    n: int

    def pack(self) -> bytes:
        return self.guid.bytes_le + struct.pack("<I", self.n)


NIL = ExtendedGuid(uuid.UUID(int=0), 0)
Value = bool | bytes | ExtendedGuid | list[ExtendedGuid]


@dataclass
class _Object:
    oid: ExtendedGuid
    jcid: int
    props: list[tuple[int, Value]] = field(default_factory=list)
    file_data: tuple[uuid.UUID, str] | None = None  # a file data object: (store object, extension)

    def references(self) -> list[ExtendedGuid]:
        out: list[ExtendedGuid] = []
        for _, value in self.props:
            out += value if isinstance(value, list) else [value] if isinstance(value, ExtendedGuid) else []
        return out


@dataclass
class _Chunk:
    data: bytes
    ref: tuple[int, int] | None = None


@dataclass
class _Node:
    fnid: int
    body: bytes = b""
    target: _Chunk | _List | None = None
    txn: int | None = 0  # the transaction that commits it; None: never committed


@dataclass
class _List:
    nodes: list[_Node]
    ident: int = 0
    ref: tuple[int, int] | None = None  # its first fragment, once placed


def one_bytes(pages: list[Page], **options: Any) -> bytes:
    """A .one section holding `pages` (options as for `one_pack`)."""
    return one_pack(pages, **options)[0]


def one_pack(pages: list[Page], *, fragment_size: int | None = None, compact_refs: bool = False,
             large_refcounts: bool = False, read_only_objects: bool = False,
             uncommitted_garbage: bool = False, encrypted: bool = False, onetoc2: bool = False,
             file_name: str = "Section.one", seed: int = 1) -> tuple[bytes, Stats]:
    """The section file and the counts of the structures written into it.

    `fragment_size` splits file node lists into fragments of at most that many bytes (a fragment
    holds at least one FileNode); `compact_refs` writes FileNodeChunkReferences in their shortest
    forms, rotating between the forms a value allows; `large_refcounts` and `read_only_objects`
    choose the declaration FileNodes (0x0A5, 0x0C4, both: 0x0C5); `uncommitted_garbage` appends
    well-formed FileNodes that no transaction commits; `encrypted` marks every page object space
    as encrypted (its texts and file bytes are then random); `onetoc2` writes the table of
    contents' guidFileType and ffv values over the same content.
    """
    if fragment_size is not None and fragment_size < 64:
        raise ValueError("fragment_size must be at least 64 bytes")
    opts = _Options(fragment_size, compact_refs, large_refcounts, read_only_objects, uncommitted_garbage,
                    encrypted, onetoc2, file_name, seed)
    writer = _Writer(opts)
    return writer.write(pages), writer.stats


def storage_string(text: str) -> bytes:
    """A StringInStorageBuffer: a count of UTF-16 code units, then the UTF-16LE text."""
    data = text.encode("utf-16-le")
    return struct.pack("<I", len(data) // 2) + data


def crc(data: bytes) -> int:
    """[MS-ONESTORE] 2.1.2, .one files: polynomial 0x04C11DB7 reflected, register initialised to all
    ones and inverted at the end, which is zlib's CRC-32."""
    return zlib.crc32(data)


@dataclass(frozen=True)
class _Options:
    fragment_size: int | None
    compact_refs: bool
    large_refcounts: bool
    read_only_objects: bool
    uncommitted_garbage: bool
    encrypted: bool
    onetoc2: bool
    file_name: str
    seed: int


class _Ids:
    """Object ids for one object group: (GUID, n) with n from 1 to 255, then a fresh GUID."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.guid, self.n = rng, uuid.UUID(bytes=rng.randbytes(16)), 0

    def next(self) -> ExtendedGuid:
        if self.n == 255:
            self.guid, self.n = uuid.UUID(bytes=self.rng.randbytes(16)), 0
        self.n += 1
        return ExtendedGuid(self.guid, self.n)


class _Writer:
    def __init__(self, opts: _Options) -> None:
        self.opts, self.stats = opts, Stats()
        self.rng = random.Random(opts.seed)
        self.out = bytearray(1024)
        self.next_list_id, self.turn, self.placed = 0x10, 0, 0
        self.log: dict[int, list[tuple[int, int]]] = {}

    def guid(self) -> uuid.UUID:
        return uuid.UUID(bytes=self.rng.randbytes(16))

    # -- layout ---------------------------------------------------------------------------------

    def place(self, data: bytes) -> tuple[int, int]:
        self.out += bytes(-len(self.out) % 8)
        stp = len(self.out)
        self.out += data
        return stp, len(data)

    def ref_of(self, target: _Chunk | _List) -> tuple[int, int]:
        if isinstance(target, _List):
            return self.emit_list(target)
        if target.ref is None:
            self.placed += 1
            self.out += bytes(-len(self.out) % 8)
            if self.opts.compact_refs and self.placed % 3 == 0:  # a stp that only StpFormat 0 or 1 holds
                self.out += bytes(4)
            target.ref = (len(self.out), len(target.data))
            self.out += target.data
        return target.ref

    def chunk_ref(self, stp: int, cb: int) -> tuple[int, int, bytes]:
        """StpFormat, CbFormat and the FileNodeChunkReference bytes ([MS-ONESTORE] 2.2.4.2)."""
        stp_format = cb_format = 0
        if self.opts.compact_refs:
            self.turn += 1
            stp_format = 1 if stp % 8 else 3 if stp >> 3 > 0xFFFF or self.turn % 2 else 2
            cb_format = 0 if cb % 8 or cb >> 3 > 0xFFFF else 3 if cb >> 3 > 0xFF or self.turn % 3 == 0 else 2
        self.stats.stp_formats[stp_format] += 1
        self.stats.cb_formats[cb_format] += 1
        stp_bytes = struct.pack(("<Q", "<I", "<H", "<I")[stp_format], stp >> 3 if stp_format >= 2 else stp)
        cb_bytes = struct.pack(("<I", "<Q", "<B", "<H")[cb_format], cb >> 3 if cb_format >= 2 else cb)
        return stp_format, cb_format, stp_bytes + cb_bytes

    def encode_node(self, node: _Node) -> bytes:
        base_type = stp_format = cb_format = 0
        ref = b""
        if node.target is not None:
            base_type = 2 if isinstance(node.target, _List) else 1
            stp_format, cb_format, ref = self.chunk_ref(*self.ref_of(node.target))
        size = 4 + len(ref) + len(node.body)
        header = node.fnid | size << 10 | stp_format << 23 | cb_format << 25 | base_type << 27 | 1 << 31
        return struct.pack("<I", header) + ref + node.body

    def split(self, encoded: list[bytes]) -> list[list[bytes]]:
        if self.opts.fragment_size is None:
            return [encoded]
        budget = self.opts.fragment_size - 36  # header 16, nextFragment 12, footer 8
        groups: list[list[bytes]] = [[]]
        for node in encoded:
            if groups[-1] and sum(map(len, groups[-1])) + len(node) > budget:
                groups.append([])
            groups[-1].append(node)
        return groups

    def emit_list(self, lst: _List) -> tuple[int, int]:
        """Places the list's fragments (children first, last fragment first); its first fragment's
        reference. A fragment before the last is exactly as long as its FileNodes, so a reader
        stops for lack of room; the last one is padded to 8 bytes."""
        if lst.ref is not None:
            return lst.ref
        encoded = [self.encode_node(node) for node in lst.nodes]
        lst.ident, self.next_list_id = self.next_list_id, self.next_list_id + 1
        groups = self.split(encoded)
        ref = FCR_NIL
        for seq in reversed(range(len(groups))):
            body = struct.pack("<QII", LIST_MAGIC, lst.ident, seq) + b"".join(groups[seq])
            pad = -(len(body) + 20) % 8 if seq == len(groups) - 1 else 0
            ref = self.place(body + bytes(pad) + struct.pack("<QIQ", *ref, LIST_FOOTER))
        lst.ref = ref
        self.stats.file_node_lists += 1
        self.stats.extra_fragments += len(groups) - 1
        self.record_commits(lst)
        return ref

    def record_commits(self, lst: _List) -> None:
        committed = [node.txn for node in lst.nodes if node.txn is not None]
        self.stats.uncommitted_nodes += len(lst.nodes) - len(committed)
        if committed != sorted(committed) or any(node.txn is not None for node in lst.nodes[len(committed):]):
            raise RuntimeError("a list's committed FileNodes must come first, in transaction order")
        for txn in sorted(set(committed)):
            self.log.setdefault(txn, []).append((lst.ident, sum(1 for t in committed if t <= txn)))

    # -- file ------------------------------------------------------------------------------------

    def write(self, pages: list[Page]) -> bytes:
        root = self.root_list(pages)
        root_ref = self.emit_list(root)
        log_ref = self.transaction_log()
        self.out[:1024] = self.header(root_ref, log_ref)
        return bytes(self.out)

    def transaction_log(self) -> tuple[int, int]:
        """TransactionLogFragments ([MS-ONESTORE] 2.3.3), whole transactions per fragment; each
        fragment is padded to 8 bytes after nextFragment as OneNote does."""
        transactions = []
        for txn in sorted(self.log):
            entries = b"".join(struct.pack("<II", ident, count) for ident, count in self.log[txn])
            transactions.append(entries + struct.pack("<II", 1, crc(entries)))
        self.stats.transactions = len(transactions)
        limit = self.opts.fragment_size or 1 << 30
        fragments: list[bytes] = [b""]
        for transaction in transactions:
            if fragments[-1] and len(fragments[-1]) + len(transaction) + 16 > limit:
                fragments.append(b"")
            fragments[-1] += transaction
        ref = FCR_NIL
        for table in reversed(fragments):
            ref = self.place(table + struct.pack("<QI", *ref) + bytes(4))
        self.stats.log_fragments = len(fragments)
        return ref

    def header(self, root: tuple[int, int], log: tuple[int, int]) -> bytes:
        ffv = 0x1B if self.opts.onetoc2 else 0x2A
        name_crc = crc((self.opts.file_name + "\0").encode("utf-16-le"))
        out = struct.pack("<16s16s16s16s4I", (GUID_ONETOC2 if self.opts.onetoc2 else GUID_ONE).bytes_le,
                          self.guid().bytes_le, bytes(16), GUID_FILE_FORMAT.bytes_le, ffv, ffv, ffv, ffv)
        out += struct.pack("<IIIIII8sIII4s", 0, 0, 0xFFFFFFFF, 0, self.stats.transactions, 0, bytes(8),
                           0xFFFFFFFF, 0, 0, bytes(4))
        out += bytes(16) + struct.pack("<I", name_crc)
        out += struct.pack("<QIQIQIQI", 0, 0, *log, *root, 0, 0)  # hashed chunk list, ..., free chunk list
        out += struct.pack("<QQ", len(self.out), 0) + self.guid().bytes_le
        out += struct.pack("<Q", self.stats.transactions) + self.guid().bytes_le + struct.pack("<I", 0)
        out += struct.pack("<QIQI4I", 0, 0, 0, 0, 0, 0, 0, 0)  # debug log, alloc verification, bn*
        return out + bytes(1024 - len(out))

    # -- object spaces ----------------------------------------------------------------------------

    def root_list(self, pages: list[Page]) -> _List:
        """Transactions 1..n add the pages, the next ones their later revisions, the last one the
        section: the root list, like the file data store list, grows in that order."""
        nodes: list[_Node] = []
        store: list[_Node] = []
        spaces: list[tuple[Page, list[_Node]]] = []
        for txn, page in enumerate(pages, start=1):
            gosid = ExtendedGuid(self.guid(), 1)
            rml = [_Node(RML_START, gosid.pack() + bytes(4), txn=txn)]
            first = Page(page.title, page.old_paragraphs) if page.old_paragraphs else page
            rml += self.page_revision(first, txn, store)[0]
            spaces.append((page, rml))
            nodes.append(_Node(OSML_REF, gosid.pack(), self.space(gosid, rml, txn), txn))
        txn = len(pages)
        for page, rml in spaces:
            if page.old_paragraphs:
                txn += 1
                revision, rid = self.page_revision(page, txn, store)
                rml += revision + [_Node(ROLE_DECL, rid.pack() + struct.pack("<I", ROLE_CONTENT), txn=txn)]
            if self.opts.uncommitted_garbage:
                rml += self.torn_revision(page)
        txn += 1
        section = ExtendedGuid(self.guid(), 1)
        gosids = [ExtendedGuid(uuid.UUID(bytes_le=node.body[:16]), 1) for node in nodes]
        nodes += [_Node(OSML_REF, section.pack(), self.section_space(section, gosids, txn), txn),
                  _Node(OSM_ROOT, section.pack(), txn=txn)]
        if store:
            store.sort(key=lambda node: node.txn or 0)
            nodes.append(_Node(FDS_REF, target=_List(store), txn=store[0].txn))
            nodes.sort(key=lambda node: node.txn or 0)
        return _List(nodes)

    def space(self, gosid: ExtendedGuid, rml: list[_Node], txn: int) -> _List:
        self.stats.object_spaces += 1
        return _List([_Node(OSML_START, gosid.pack(), txn=txn), _Node(RML_REF, target=_List(rml), txn=txn)])

    def section_space(self, gosid: ExtendedGuid, pages: list[ExtendedGuid], txn: int) -> _List:
        ids, series_ids = _Ids(self.rng), _Ids(self.rng)
        section, meta, series = ids.next(), ids.next(), series_ids.next()
        groups = [
            [_Object(section, JCID_SECTION, [(ELEMENT_CHILD_NODES, [series]), (ENTITY_GUID, self.guid().bytes_le)]),
             _Object(meta, JCID_SECTION_META)],
            [_Object(series, JCID_PAGE_SERIES, [(CHILD_GRAPH_SPACES, pages), (ENTITY_GUID, self.guid().bytes_le)])],
        ]
        rml = [_Node(RML_START, gosid.pack() + bytes(4), txn=txn)]
        rml += self.revision(groups, [(section, ROLE_CONTENT), (meta, ROLE_METADATA)], txn, False)[0]
        return self.space(gosid, rml, txn)

    def revision(self, groups: list[list[_Object]], roots: list[tuple[ExtendedGuid, int]], txn: int,
                 encrypted: bool, garbage: list[_Object] | None = None) -> tuple[list[_Node], ExtendedGuid]:
        """A revision manifest ([MS-ONESTORE] 2.1.9), with no dependency revision."""
        rid = ExtendedGuid(self.guid(), 1)
        nodes = [_Node(REV_START6, rid.pack() + NIL.pack() + struct.pack("<IH", ROLE_CONTENT, 2 if encrypted else 0),
                       txn=txn)]
        if encrypted:
            self.stats.encryption_keys += 1
            key = struct.pack("<Q", KEY_HEADER) + self.rng.randbytes(32) + struct.pack("<Q", KEY_FOOTER)
            nodes.append(_Node(ENCRYPTION_KEY, target=_Chunk(key), txn=txn))
        index = self.index_map(groups + [garbage or []])
        for number, objects in enumerate(groups):
            group_id = ExtendedGuid(self.guid(), 1)
            extra = garbage if number == 0 and garbage else []
            group = self.group_list(group_id, objects, index, txn, extra)
            nodes.append(_Node(GROUP_REF, group_id.pack(), group, txn))
        nodes += [_Node(ROOT_REF3, oid.pack() + struct.pack("<I", role), txn=txn) for oid, role in roots]
        self.stats.revisions += 1
        return nodes + [_Node(REV_END, txn=txn)], rid

    def index_map(self, groups: list[list[_Object]]) -> dict[uuid.UUID, int]:
        """The revision's GUID -> global id table index, in an order of its own."""
        guids = list(dict.fromkeys(g.guid for objects in groups for obj in objects
                                   for g in [obj.oid, *obj.references()]))
        self.rng.shuffle(guids)
        return {guid: number for number, guid in enumerate(guids)}

    def group_list(self, group_id: ExtendedGuid, objects: list[_Object], index: dict[uuid.UUID, int],
                   txn: int | None, garbage: list[_Object]) -> _List:
        """An object group ([MS-ONESTORE] 2.1.13): its global id table holds the GUIDs its objects
        use, at the revision's indices; `garbage` follows ObjectGroupEndFND, uncommitted."""
        used = dict.fromkeys(g.guid for obj in objects + garbage for g in [obj.oid, *obj.references()])
        nodes = [_Node(GROUP_START, group_id.pack(), txn=txn), _Node(GIT_START2, txn=txn)]
        nodes += [_Node(GIT_ENTRY, struct.pack("<I", index[g]) + g.bytes_le, txn=txn)
                  for g in sorted(used, key=index.__getitem__)]
        nodes.append(_Node(GIT_END, txn=txn))
        nodes += [self.declaration(obj, index, txn) for obj in objects]
        nodes.append(_Node(GROUP_END, txn=txn))
        nodes += [self.declaration(obj, index, None) for obj in garbage]
        if txn is not None:
            self.stats.object_groups += 1
            self.stats.global_id_entries += len(used)
        return _List(nodes)

    def declaration(self, obj: _Object, index: dict[uuid.UUID, int], txn: int | None) -> _Node:
        large = self.opts.large_refcounts
        ref_count = struct.pack("<I" if large else "<B", 1)
        if obj.file_data is not None:
            store, extension = obj.file_data
            fnid = FILE_DATA3_LARGE if large else FILE_DATA3
            body = struct.pack("<II", _compact(obj.oid, index), obj.jcid) + ref_count
            body += storage_string(f"<ifndf>{{{str(store).upper()}}}") + storage_string(extension)
            node = _Node(fnid, body, txn=txn)
        else:
            blob = self.property_set(obj, index)
            kinds = {prid >> 26 & 0x1F for prid, _ in obj.props}
            flags = (1 if kinds & {8, 9} else 0) | (2 if kinds & {0xA, 0xB} else 0)  # fHasOid/OsidReferences
            body = struct.pack("<IIB", _compact(obj.oid, index), obj.jcid, flags) + ref_count
            if self.opts.read_only_objects:
                fnid, body = (RO_DECL2_LARGE if large else RO_DECL2), body + hashlib.md5(blob).digest()
            else:
                fnid = DECL2_LARGE if large else DECL2
            node = _Node(fnid, body, _Chunk(blob), txn)
        if txn is not None:
            self.stats.declarations[node.fnid] += 1
        return node

    def property_set(self, obj: _Object, index: dict[uuid.UUID, int]) -> bytes:
        """An ObjectSpaceObjectPropSet ([MS-ONESTORE] 2.6.1), padded to 8 bytes."""
        oids: list[ExtendedGuid] = []
        osids: list[ExtendedGuid] = []
        prids: list[int] = []
        data = bytearray()
        for prid, value in obj.props:
            kind = prid >> 26 & 0x1F
            self.stats.property_types[kind] += 1
            prids.append(prid | (1 << 31 if value is True else 0))
            if isinstance(value, bytes):
                data += struct.pack("<I", len(value)) + value if kind == 7 else value
            elif isinstance(value, ExtendedGuid):
                (oids if kind == 8 else osids).append(value)
            elif isinstance(value, list):
                data += struct.pack("<I", len(value))
                (oids if kind == 9 else osids).extend(value)
        out = struct.pack("<I", len(oids) | (0 if osids else 1 << 31))
        out += b"".join(struct.pack("<I", _compact(g, index)) for g in oids)
        if osids:
            out += struct.pack("<I", len(osids)) + b"".join(struct.pack("<I", _compact(g, index)) for g in osids)
        out += struct.pack(f"<H{len(prids)}I", len(prids), *prids) + data
        return out + bytes(-len(out) % 8)

    # -- pages ----------------------------------------------------------------------------------

    def text(self, value: str, encoding: str = "utf-16-le") -> bytes:
        data = value.encode(encoding)
        return self.rng.randbytes(len(data)) if self.opts.encrypted else data

    def page_revision(self, page: Page, txn: int, store: list[_Node]) -> tuple[list[_Node], ExtendedGuid]:
        """A page object space revision ([MS-ONE] 2.1.10): page manifest -> page -> title and a
        content outline of one outline element per paragraph or embedded file."""
        head, title_ids, body_ids, file_ids = (_Ids(self.rng) for _ in range(4))
        manifest, node, meta, title = head.next(), head.next(), head.next(), head.next()
        title_objects = self.outline(title_ids, [self.rich_text(title_ids.next(), page.title, title=True)])
        content = [self.rich_text(body_ids.next(), text) for text in page.paragraphs]
        content += [self.rich_text(body_ids.next(), text, ascii=True) for text in page.ascii_paragraphs]
        grids = [self.table(body_ids, rows) for rows in page.tables]
        content += [grid[0] for grid in grids]
        files = [obj for item in page.files for obj in self.embedded(file_ids, item, txn, store)]
        body = self.outline(body_ids, content + files[0::2]) if content or files else []
        body += [obj for grid in grids for obj in grid[1:]]
        page_props: list[tuple[int, Value]] = [(STRUCTURE_CHILD_NODES, [title]), (PAGE_WIDTH, struct.pack("<f", 8.5)),
                                               (LAST_MODIFIED, struct.pack("<Q", FILETIME_2024 + txn))]
        if body:
            page_props.insert(0, (ELEMENT_CHILD_NODES, [body[0].oid]))
        groups = [
            [_Object(manifest, JCID_PAGE_MANIFEST, [(CONTENT_CHILD_NODES, [node])]),
             _Object(node, JCID_PAGE, page_props),
             _Object(meta, JCID_PAGE_META, [(CACHED_TITLE, self.text(page.title)), (PAGE_LEVEL, struct.pack("<I", 1))]),
             _Object(title, JCID_TITLE, [(ELEMENT_CHILD_NODES, [title_objects[0].oid])])],
            title_objects, [obj for obj in body if obj not in files], files[1::2] + files[0::2],
        ]
        garbage = [self.rich_text(head.next(), f"UNCOMMITTED {page.title}")] if self.opts.uncommitted_garbage else []
        roots = [(manifest, ROLE_CONTENT), (meta, ROLE_METADATA)]
        return self.revision([g for g in groups if g], roots, txn, self.opts.encrypted, garbage)

    def rich_text(self, oid: ExtendedGuid, text: str, *, title: bool = False, ascii: bool = False) -> _Object:
        value = (TEXT_EXTENDED_ASCII, self.text(text, "cp1252")) if ascii else (RICH_TEXT_UNICODE, self.text(text))
        props: list[tuple[int, Value]] = [value, (RICH_TEXT_LANG, struct.pack("<H", 0x0409))]
        return _Object(oid, JCID_RICH_TEXT, props + ([(IS_TITLE_TEXT, True)] if title else []))

    def table(self, ids: _Ids, rows: list[list[str]]) -> list[_Object]:
        """[table, rows..., cells..., their outline elements and rich texts...] ([MS-ONE]
        jcidTableNode: ElementChildNodes are its rows, a row's are its cells, a cell's are the
        outline elements holding its text)."""
        out: list[_Object] = []
        row_objects = []
        for cells in rows:
            cell_objects = []
            for text in cells:
                rich = self.rich_text(ids.next(), text)
                element = _Object(ids.next(), JCID_OE, [(CONTENT_CHILD_NODES, [rich.oid]), (OE_CHILD_LEVEL, b"\x01")])
                cell_objects.append(_Object(ids.next(), JCID_TABLE_CELL, [(ELEMENT_CHILD_NODES, [element.oid])]))
                out += [element, rich]
            row_objects.append(_Object(ids.next(), JCID_TABLE_ROW, [(ELEMENT_CHILD_NODES, [c.oid for c in cell_objects])]))
            out += cell_objects
        table = _Object(ids.next(), JCID_TABLE, [(ELEMENT_CHILD_NODES, [r.oid for r in row_objects]),
                                                 (ROW_COUNT, struct.pack("<I", len(rows))),
                                                 (COLUMN_COUNT, struct.pack("<I", max(map(len, rows), default=0)))])
        self.stats.tables += 1
        return [table, *reversed(row_objects), *reversed(out)]  # declared children first, as no reader may rely on

    def outline(self, ids: _Ids, children: list[_Object]) -> list[_Object]:
        """An outline with one outline element per child: [outline, elements..., own children...]."""
        outline = _Object(ids.next(), JCID_OUTLINE, [(OFFSET_HORIZ, struct.pack("<f", 1.0))])
        elements = [_Object(ids.next(), JCID_OE, [(CONTENT_CHILD_NODES, [child.oid]),
                                                  (OE_CHILD_LEVEL, b"\x01")]) for child in children]
        outline.props.insert(0, (ELEMENT_CHILD_NODES, [element.oid for element in elements]))
        return [outline, *elements, *children]

    def embedded(self, ids: _Ids, item: Embedded, txn: int, store: list[_Node]) -> list[_Object]:
        """[node, container]: a jcidEmbeddedFileNode and the file data object it references, whose
        bytes are a FileDataStoreObject ([MS-ONESTORE] 2.6.13) in the file data store list."""
        reference = self.guid()
        data = self.rng.randbytes(len(item.data)) if self.opts.encrypted else item.data
        stored = FDSO_HEADER.bytes_le + struct.pack("<QI8s", len(data), 0, bytes(8)) + data
        stored += bytes(-len(data) % 8) + FDSO_FOOTER.bytes_le
        store.append(_Node(FDS_OBJECT_REF, reference.bytes_le, _Chunk(stored), txn))
        self.stats.file_data_objects += 1
        container = _Object(ids.next(), JCID_EMBEDDED_FILE_CONTAINER, file_data=(reference, item.extension))
        node = _Object(ids.next(), JCID_EMBEDDED_FILE, [(EMBEDDED_CONTAINER, container.oid),
                                                         (EMBEDDED_NAME, self.text(item.name))])
        return [node, container]

    def torn_revision(self, page: Page) -> list[_Node]:
        """A revision that a crash interrupted: its start and an object group, neither committed."""
        ids = _Ids(self.rng)
        text = self.rich_text(ids.next(), f"UNCOMMITTED revision of {page.title}")
        rid, group_id = ExtendedGuid(self.guid(), 1), ExtendedGuid(self.guid(), 1)
        group = self.group_list(group_id, [], self.index_map([[text]]), None, [text])
        start = rid.pack() + NIL.pack() + struct.pack("<IH", ROLE_CONTENT, 0)
        return [_Node(REV_START6, start, txn=None), _Node(GROUP_REF, group_id.pack(), group, None)]


def _compact(oid: ExtendedGuid, index: dict[uuid.UUID, int]) -> int:
    """A CompactID ([MS-ONESTORE] 2.2.2): n in the low byte, the global id table index above."""
    return oid.n | index[oid.guid] << 8
