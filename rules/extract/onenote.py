"""OneNote sections (.one) and tables of contents (.onetoc2): the revision store of
[MS-ONESTORE], with the properties of [MS-ONE].

A section is a tree of file node lists, each a chain of fragments: the root list names the
object spaces (the section and each page), their revision manifest lists name object group
lists, and those declare the objects, each a property set stored elsewhere in the file. The
text of a page is in the properties of its rich text nodes (`RichEditTextUnicode`, or
`TextExtendedAscii`); titles, alternative text and hyperlinks are strings too. Files inserted
into a page are file data objects, each found through the embedded file node that names it.

What is read: every file node list reachable from the root (fragments followed, a list counted
no further than the transaction log commits it, so nodes written but never committed are left
out, as OneNote leaves them), every object declared in them (all five declaration forms), every
string property of every object, each distinct text once (old revisions of a page are text
that is still in the file, so they are read too), and every file data object, named by the
embedded file node that points to it and read in turn by `extract`. A section protected by a
password is `encrypted`. Everything is checked against the file before it is used: a chain of
fragments that loops, a reference outside the file or a property set that claims more than it
holds makes that part unscannable, named, with what was read before kept.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from rules.extract.budget import Budget, EncryptedContent, Unscannable

SECTION = uuid.UUID("7B5C52E4-D88C-4DA7-AEB1-5378D02996D3").bytes_le
TABLE_OF_CONTENTS = uuid.UUID("43FF2FA1-EFD9-4C76-9EE2-10EA5722765F").bytes_le
_REVISION_STORE = uuid.UUID("109ADD3F-911B-49F5-A5D0-1791EDC8AED8").bytes_le
_FILE_DATA_HEADER = uuid.UUID("BDE316E7-2665-4511-A4C4-8D4D0B7A9EAC").bytes_le
_FILE_DATA_FOOTER = uuid.UUID("71FBA722-0F79-4A0B-BB13-899256426B24").bytes_le
_LIST_MAGIC, _LIST_FOOTER = 0xA4567AB1F5F7F4C4, 0x8BC215C38233BA4B
_HEADER_SIZE = 1024
_SENTINEL = 0x00000001  # a transaction log entry that ends a transaction

# FileNodeIDs ([MS-ONESTORE] 2.4.3)
_TABLE_START_X, _TABLE_START2, _TABLE_ENTRY, _TABLE_ENTRY2, _TABLE_ENTRY3 = 0x021, 0x022, 0x024, 0x025, 0x026
_TABLE_END = 0x028
_DECLARATION_X, _DECLARATION2_X, _REVISION_X, _REVISION2_X = 0x02D, 0x02E, 0x041, 0x042
_FILE_DATA3, _FILE_DATA3_LARGE, _ENCRYPTION_KEY = 0x072, 0x073, 0x07C
_FILE_DATA_STORE_OBJECT = 0x094
_DECLARATION2, _DECLARATION2_LARGE, _READ_ONLY2, _READ_ONLY2_LARGE = 0x0A4, 0x0A5, 0x0C4, 0x0C5
_TERMINATOR = 0x0FF
#: Declarations whose reference is an object's property set.
_PROPERTY_SETS = frozenset({_DECLARATION_X, _DECLARATION2_X, _REVISION_X, _REVISION2_X,
                            _DECLARATION2, _DECLARATION2_LARGE, _READ_ONLY2, _READ_ONLY2_LARGE})

# PropertyIDs of [MS-ONE] 2.1.12 (id and type together)
_RICH_TEXT, _ASCII_TEXT = 0x1C001C22, 0x1C003498
_EMBEDDED_NAME, _EMBEDDED_CONTAINER = 0x1C001D9C, 0x20001D9B
_PICTURE_CONTAINER, _IMAGE_NAME = 0x20001C3F, 0x1C001DD7
_OBJECT_ID, _OBJECT_IDS, _SPACE_ID, _SPACE_IDS, _CONTEXT_ID, _CONTEXT_IDS = 0x8, 0x9, 0xA, 0xB, 0xC, 0xD
_PROPERTY_VALUES, _PROPERTY_SET = 0x10, 0x11
_ELEMENT_CHILDREN, _CONTENT_CHILDREN = 0x24001C20, 0x24001C1F
#: jcidTableNode, jcidTableRowNode ([MS-ONE] 2.2): a table's ElementChildNodes are its rows, a
#: row's its cells, a cell's the outline elements holding its text.
_TABLE, _TABLE_ROW = 0x00060022, 0x00060023
#: Declarations whose body (after the reference) starts with the object's CompactID and JCID.
_WITH_JCID = frozenset({_DECLARATION2, _DECLARATION2_LARGE, _READ_ONLY2, _READ_ONLY2_LARGE})
_FIXED = {0x1: 0, 0x2: 0, 0x3: 1, 0x4: 2, 0x5: 4, 0x6: 8}
#: Property sets nested deeper than this are taken for damage.
_MAX_NESTING = 16

ExtendedGuid = tuple[bytes, int]


def is_onenote(data: bytes) -> bool:
    """A OneNote section or table of contents in the revision store format."""
    return len(data) >= 64 and data[:16] in (SECTION, TABLE_OF_CONTENTS)


@dataclass(slots=True)
class _Object:
    """What one property set gave: its strings, and the objects its properties point to."""

    strings: list[tuple[int, str]] = field(default_factory=list)  # (property id, text)
    references: list[tuple[int, ExtendedGuid]] = field(default_factory=list)  # (property id, object)
    oid: ExtendedGuid | None = None
    jcid: int | None = None


@dataclass(slots=True)
class _Tables:
    """The global id table in force in a file node list (index -> GUID), and the one being built
    between a GlobalIdTableStart and its End ([MS-ONESTORE] 2.4.3, 2.5.9-2.5.13)."""

    current: dict[int, bytes]
    building: dict[int, bytes] | None = None


@dataclass(slots=True)
class _Section:
    data: bytes
    budget: Budget
    what: str
    committed: dict[int, int]
    lists_seen: set[int] = field(default_factory=set)
    sets_seen: set[int] = field(default_factory=set)
    by_oid: dict[ExtendedGuid, _Object] = field(default_factory=dict)
    order: list[_Object] = field(default_factory=list)
    file_refs: dict[ExtendedGuid, tuple[str, str]] = field(default_factory=dict)  # oid -> (reference, extension)
    stores: dict[bytes, tuple[int, int]] = field(default_factory=dict)  # GUID -> (offset, size) of its data
    problems: list[str] = field(default_factory=list)
    encrypted: bool = False


def onenote_content(data: bytes, budget: Budget, what: str) -> tuple[str, list[tuple[str, bytes]], list[str]]:
    """The text of a OneNote section, the files inserted into its pages (name, bytes) and what
    could not be read; `EncryptedContent` for a section protected by a password."""
    if not is_onenote(data) or len(data) < _HEADER_SIZE:
        raise Unscannable(f"{what}: OneNote file cut short in its header")
    if data[48:64] != _REVISION_STORE:
        raise Unscannable(f"{what}: OneNote file in a format other than the revision store (a packaged file "
                          "from a web service?), which is not read")
    count = struct.unpack_from("<I", data, 96)[0]
    log, root = _reference64x32(data, 160), _reference64x32(data, 172)
    if root is None:
        raise Unscannable(f"{what}: OneNote file without a root file node list")
    committed, damage = _transactions(data, log, count)
    section = _Section(data, budget, what, committed)
    if damage:  # the lists are then read to their end, committed or not
        section.problems.append(f"{what}: OneNote file with a damaged transaction log")
    try:
        _read_list(section, root, {}, 0)
    except Unscannable as exc:
        section.problems.append(str(exc))
    if section.encrypted:
        raise EncryptedContent(f"{what}: OneNote section protected by a password")
    texts = _texts(section)
    files = list(_files(section))
    if not texts and not files and section.problems:
        raise Unscannable(section.problems[0])
    return "\n".join(texts), files, section.problems


def _reference64x32(data: bytes, offset: int) -> tuple[int, int] | None:
    """A FileChunkReference64x32 (stp, cb); None when it is fcrNil or fcrZero."""
    stp, cb = struct.unpack_from("<QI", data, offset)
    return None if cb == 0 or stp == 0xFFFFFFFFFFFFFFFF else (stp, cb)


def _transactions(data: bytes, log: tuple[int, int] | None, count: int) -> tuple[dict[int, int], bool]:
    """How many file nodes each file node list holds after the last committed transaction
    ([MS-ONESTORE] 2.3.3): entries (list id, node count) up to each sentinel, `count` of them;
    and whether the log was damaged (what it gave before the damage is kept)."""
    committed: dict[int, int] = {}
    pending: dict[int, int] = {}
    seen: set[int] = set()
    done = 0
    while log is not None and done < count:
        stp, cb = log
        if stp in seen or stp + cb > len(data) or cb < 12:
            return committed, True
        seen.add(stp)
        for index in range((cb - 12) // 8):
            source, value = struct.unpack_from("<II", data, stp + 8 * index)
            if source == 0:
                continue
            if source == _SENTINEL:
                committed.update(pending)
                pending.clear()
                done += 1
                if done == count:
                    break
            else:
                pending[source] = value
        log = _reference64x32(data, stp + 8 * ((cb - 12) // 8))
    return committed, False


def _read_list(section: _Section, start: tuple[int, int], table: dict[int, bytes], depth: int) -> None:
    """Every file node of the list whose first fragment is `start`, following fragments, and the
    lists and objects they refer to. `table` is the global id table in force where the list is
    referred to (an object group list brings its own)."""
    data, what = section.data, section.what
    if depth > 32:
        raise Unscannable(f"{what}: OneNote file node lists nested too deeply")
    tables = _Tables(dict(table))
    list_id: int | None = None
    read = 0
    fragment: tuple[int, int] | None = start
    while fragment is not None:
        stp, cb = fragment
        if stp in section.lists_seen:
            if list_id is None:
                return  # a list already read through another reference
            raise Unscannable(f"{what}: OneNote file whose file node list loops (fragment at {stp})")
        section.lists_seen.add(stp)
        if cb < 36 or stp + cb > len(data):
            raise Unscannable(f"{what}: OneNote file with a file node list outside it (at {stp})")
        magic, fragment_list, _ = struct.unpack_from("<QII", data, stp)
        if magic != _LIST_MAGIC or struct.unpack_from("<Q", data, stp + cb - 8)[0] != _LIST_FOOTER:
            raise Unscannable(f"{what}: OneNote file with a damaged file node list at {stp}")
        if list_id is None:
            list_id = fragment_list
        elif fragment_list != list_id:
            raise Unscannable(f"{what}: OneNote file with a damaged file node list at {stp}")
        limit = section.committed.get(list_id)
        position, end = stp + 16, stp + cb - 20
        section.budget.check_time()
        while end - position >= 4 and (limit is None or read < limit):
            header = struct.unpack_from("<I", data, position)[0]
            node_id, size = header & 0x3FF, (header >> 10) & 0x1FFF
            if node_id == 0 and size == 0:
                break  # zeros: the rest of the fragment is padding
            if size < 4 or position + size > end + 4 or node_id == _TERMINATOR:
                read += node_id == _TERMINATOR
                break
            read += 1
            _node(section, header, position, size, tables, depth)
            position += size
        if limit is not None and read >= limit:
            return
        fragment = _reference64x32(data, stp + cb - 20)


def _node(section: _Section, header: int, position: int, size: int, tables: _Tables, depth: int) -> None:
    """One file node: a global id table's start, entry or end, a reference to another list, an
    object declaration, a file data object or an encryption key."""
    data = section.data
    node_id, stp_format, cb_format, base_type = header & 0x3FF, (header >> 23) & 3, (header >> 25) & 3, (header >> 27) & 0xF
    body = data[position + 4 : position + size]
    table = tables.current
    if node_id in (_TABLE_START_X, _TABLE_START2):
        tables.building = {}
    elif node_id in (_TABLE_ENTRY, _TABLE_ENTRY2, _TABLE_ENTRY3) and tables.building is not None:
        _table_entry(node_id, body, table, tables.building)
    elif node_id == _TABLE_END and tables.building is not None:
        tables.current, tables.building = tables.building, None
    elif node_id == _ENCRYPTION_KEY:
        section.encrypted = True
    elif base_type == 0:
        if node_id in (_FILE_DATA3, _FILE_DATA3_LARGE):
            _file_data_declaration(section, node_id, body, table)
    else:
        _reference_node(section, node_id, body, (stp_format, cb_format, base_type), table, depth)


def _reference_node(section: _Section, node_id: int, body: bytes, formats: tuple[int, int, int],
                    table: dict[int, bytes], depth: int) -> None:
    """A file node with a reference: to a file node list (read in turn), to an object's property
    set, or to a file data store object."""
    stp_format, cb_format, base_type = formats
    ref, rest = _chunk_reference(body, stp_format, cb_format)
    if ref is None:
        return
    if base_type == 2:
        _read_list(section, ref, table, depth + 1)
    elif node_id in _PROPERTY_SETS:
        oid = _resolve(struct.unpack_from("<I", rest)[0], table) if len(rest) >= 4 else None
        jcid = struct.unpack_from("<I", rest, 4)[0] if node_id in _WITH_JCID and len(rest) >= 8 else None
        _property_set(section, ref, table, oid, jcid)
    elif node_id == _FILE_DATA_STORE_OBJECT and len(rest) >= 16:
        _store_object(section, ref, bytes(rest[:16]))


def _table_entry(node_id: int, body: bytes, previous: dict[int, bytes], building: dict[int, bytes]) -> None:
    """GlobalIdTableEntryFNDX (an index and its GUID), GlobalIdTableEntry2FNDX (an entry of the
    previous table under a new index) and GlobalIdTableEntry3FNDX (a run of them)."""
    if node_id == _TABLE_ENTRY and len(body) >= 20:
        building[struct.unpack_from("<I", body)[0]] = bytes(body[4:20])
    elif node_id == _TABLE_ENTRY2 and len(body) >= 8:
        source, target = struct.unpack_from("<II", body)
        if source in previous:
            building[target] = previous[source]
    elif node_id == _TABLE_ENTRY3 and len(body) >= 12:
        source, count, target = struct.unpack_from("<III", body)
        for step in range(min(count, 1 << 16)):
            if source + step in previous:
                building[target + step] = previous[source + step]


_STP = {0: ("<Q", 1), 1: ("<I", 1), 2: ("<H", 8), 3: ("<I", 8)}
_CB = {0: ("<I", 1), 1: ("<Q", 1), 2: ("<B", 8), 3: ("<H", 8)}


def _chunk_reference(body: bytes, stp_format: int, cb_format: int) -> tuple[tuple[int, int] | None, bytes]:
    """A FileNodeChunkReference at the start of `body` and what follows it; None for fcrNil or
    an empty one."""
    (stp_code, stp_scale), (cb_code, cb_scale) = _STP[stp_format], _CB[cb_format]
    width = struct.calcsize(stp_code) + struct.calcsize(cb_code)
    if len(body) < width:
        return None, b""
    raw_stp = struct.unpack_from(stp_code, body)[0]
    cb = struct.unpack_from(cb_code, body, struct.calcsize(stp_code))[0] * cb_scale
    nil = raw_stp == (1 << (8 * struct.calcsize(stp_code))) - 1
    return (None if nil or cb == 0 else (raw_stp * stp_scale, cb)), body[width:]


def _resolve(compact: int, table: dict[int, bytes]) -> ExtendedGuid:
    """A CompactID (n, guid index) as the ExtendedGUID it stands for; an index missing from the
    table keeps the index itself, so the object is still read, only not linked."""
    n, index = compact & 0xFF, compact >> 8
    return table.get(index, index.to_bytes(16, "little")), n


def _property_set(section: _Section, ref: tuple[int, int], table: dict[int, bytes], oid: ExtendedGuid | None,
                  jcid: int | None) -> None:
    stp, cb = ref
    if stp in section.sets_seen:
        return
    section.sets_seen.add(stp)
    if stp + cb > len(section.data):
        raise Unscannable(f"{section.what}: OneNote file with an object outside it (at {stp})")
    reader = _PropSetReader(section.data[stp : stp + cb], table)
    try:
        found = reader.read()
    except (struct.error, IndexError, ValueError):
        section.problems.append(f"{section.what}: OneNote object at {stp} damaged")
        found = reader.found
    found.oid, found.jcid = oid, jcid
    if oid is not None:
        section.by_oid[oid] = found
    section.order.append(found)


class _PropSetReader:
    """An ObjectSpaceObjectPropSet ([MS-ONESTORE] 2.6.1): the streams of object, object space
    and context ids, then the property set, whose properties take those ids in order."""

    def __init__(self, data: bytes, table: dict[int, bytes]) -> None:
        self.data, self.table, self.position = data, table, 0
        self.found = _Object()
        self.oids: list[int] = []
        self.next_oid = 0

    def read(self) -> _Object:
        self.oids, extended, osids_absent = self._ids()
        if not osids_absent:
            self._ids()
        if extended:  # the ContextIDs stream
            self._ids()
        self._property_set(0)
        return self.found

    def _ids(self) -> tuple[list[int], bool, bool]:
        header = self._take("<I")
        count = header & 0xFFFFFF
        if 4 * count > len(self.data) - self.position:
            raise ValueError("id stream longer than the object")
        ids = list(struct.unpack_from(f"<{count}I", self.data, self.position))
        self.position += 4 * count
        return ids, bool(header >> 30 & 1), bool(header >> 31)

    def _take(self, code: str) -> int:
        value: int = struct.unpack_from(code, self.data, self.position)[0]
        self.position += struct.calcsize(code)
        return value

    def _property_set(self, depth: int) -> None:
        if depth > _MAX_NESTING:
            raise ValueError("property sets nested too deeply")
        count = self._take("<H")
        if 4 * count > len(self.data) - self.position:
            raise ValueError("more properties than the object holds")
        prids = struct.unpack_from(f"<{count}I", self.data, self.position)
        self.position += 4 * count
        for prid in prids:
            self._property(prid, depth)

    def _property(self, prid: int, depth: int) -> None:
        kind = prid >> 26 & 0x1F
        if kind in _FIXED:
            self.position += _FIXED[kind]
        elif kind == 0x7:
            size = self._take("<I")
            if size > len(self.data) - self.position:
                raise ValueError("property longer than the object")
            value = self.data[self.position : self.position + size]
            self.position += size
            text = _string(prid, value)
            if text:
                self.found.strings.append((prid, text))
        elif kind == _OBJECT_ID:
            self._reference(prid)
        elif kind == _OBJECT_IDS:
            for _ in range(min(self._take("<I"), len(self.oids))):
                self._reference(prid)
        elif kind in (_SPACE_IDS, _CONTEXT_IDS):
            self.position += 4  # their ids are in the other streams, which text does not need
        elif kind in (_SPACE_ID, _CONTEXT_ID):
            pass
        elif kind == _PROPERTY_VALUES:
            count = self._take("<I")
            if count:
                self.position += 4  # the PropertyID of the sets that follow
                for _ in range(min(count, len(self.data))):
                    self._property_set(depth + 1)
        elif kind == _PROPERTY_SET:
            self._property_set(depth + 1)
        else:
            raise ValueError(f"unknown property type {kind}")
        if self.position > len(self.data):
            raise ValueError("property set longer than the object")

    def _reference(self, prid: int) -> None:
        if self.next_oid < len(self.oids):
            self.found.references.append((prid, _resolve(self.oids[self.next_oid], self.table)))
            self.next_oid += 1


def _string(prid: int, value: bytes) -> str:
    """The text of a string property: UTF-16 ([MS-ONE]'s wz strings), except TextExtendedAscii;
    other byte values only when they read as text (GUIDs and formatting do not)."""
    if prid == _ASCII_TEXT:
        return value.decode("cp1252", "replace").rstrip("\0")
    if len(value) % 2 or not value:
        return ""
    try:
        text = value.decode("utf-16-le").rstrip("\0")
    except UnicodeDecodeError:
        return ""
    if prid in (_RICH_TEXT, _EMBEDDED_NAME, _IMAGE_NAME):
        return text
    return text if _reads_as_text(text) else ""


#: Code points text is written in: ASCII and Latin to Cyrillic, Hebrew and Arabic, punctuation,
#: CJK punctuation, kana, CJK ideographs, Hangul and full-width forms. Random bytes read as
#: UTF-16 fall outside them about half the time, so a GUID or a formatting run is not taken for
#: text.
_SCRIPTS = ((0x20, 0x7E), (0xA0, 0x6FF), (0x2000, 0x206F), (0x3000, 0x30FF), (0x4E00, 0x9FFF),
            (0xAC00, 0xD7A3), (0xFF00, 0xFFEF))


def _reads_as_text(text: str) -> bool:
    """Whether a property value that no listed id says is text reads as text: at least two
    characters, all printable, one a letter or digit, and nine in ten in a script's range."""
    if len(text) < 2 or not any(ch.isalnum() for ch in text):
        return False
    if not all(ch.isprintable() or ch in "\t\r\n\x0b" for ch in text):
        return False
    usual = sum(ch in "\t\r\n\x0b" or any(low <= ord(ch) <= high for low, high in _SCRIPTS) for ch in text)
    return usual * 10 >= len(text) * 9


def _file_data_declaration(section: _Section, node_id: int, body: bytes, table: dict[int, bytes]) -> None:
    """ObjectDeclarationFileData3(Large)RefCountFND: an object that is a file, "<ifndf>{GUID}"
    naming the file data store object holding it (or "<file>name", a file beside the section)."""
    offset = 9 if node_id == _FILE_DATA3 else 12
    try:
        oid = _resolve(struct.unpack_from("<I", body)[0], table)
        reference, offset = _storage_string(body, offset)
        extension, _ = _storage_string(body, offset)
    except (struct.error, ValueError):
        section.problems.append(f"{section.what}: OneNote file data declaration damaged")
        return
    section.file_refs[oid] = (reference, extension)


def _storage_string(body: bytes, offset: int) -> tuple[str, int]:
    """A StringInStorageBuffer: a count of UTF-16 code units, then the units."""
    count = struct.unpack_from("<I", body, offset)[0]
    end = offset + 4 + 2 * count
    if end > len(body):
        raise ValueError("string longer than its file node")
    return body[offset + 4 : end].decode("utf-16-le", "replace"), end


def _store_object(section: _Section, ref: tuple[int, int], guid: bytes) -> None:
    """A FileDataStoreObject: header GUID, the data's length, the data, padding, footer GUID."""
    stp, cb = ref
    data = section.data
    if stp + cb > len(data) or cb < 52 or data[stp : stp + 16] != _FILE_DATA_HEADER:
        section.problems.append(f"{section.what}: OneNote file data object damaged (at {stp})")
        return
    length = struct.unpack_from("<Q", data, stp + 16)[0]
    if 36 + length + 16 > cb or data[stp + cb - 16 : stp + cb] != _FILE_DATA_FOOTER:
        section.problems.append(f"{section.what}: OneNote file data object damaged (at {stp})")
        return
    section.stores[guid] = (stp + 36, length)


def _texts(section: _Section) -> list[str]:
    """Each distinct string once, in the order the objects were declared; a table as rows of
    tab-separated cells where the table is declared (its header row then names its columns for
    the detectors, as in a spreadsheet), its cells' text not again on its own."""
    in_tables: set[int] = set()
    grids = {id(found): _grid(section, found, in_tables) for found in section.order if found.jcid == _TABLE}
    seen: set[str] = set()
    out = []
    for found in section.order:
        if id(found) in grids:
            if grids[id(found)]:
                out.append(grids[id(found)])
            continue
        if id(found) in in_tables:
            continue
        for _, text in found.strings:
            if text not in seen:
                seen.add(text)
                out.append(text)
    return out


def _grid(section: _Section, table: _Object, used: set[int]) -> str:
    """A table's text: a line per row, its cells' text joined by tabs (a cell's own lines by
    spaces); "" for a table already read as part of another's cell."""
    if id(table) in used:
        return ""
    used.add(id(table))
    lines = []
    for row in _children(section, table, _ELEMENT_CHILDREN):
        if row.jcid not in (_TABLE_ROW, None):
            continue
        cells = [" ".join(_descendant_text(section, cell, used)) for cell in _children(section, row, _ELEMENT_CHILDREN)]
        lines.append("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in cells))
    return "\n".join(lines)


def _children(section: _Section, parent: _Object, prid: int) -> list[_Object]:
    return [section.by_oid[oid] for key, oid in parent.references if key == prid and oid in section.by_oid]


def _descendant_text(section: _Section, node: _Object, used: set[int]) -> list[str]:
    """The strings of `node` and of what it holds (outline elements, their content), each object
    once, marked `used`."""
    out: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if id(current) in used:
            continue
        used.add(id(current))
        out += [text for _, text in current.strings]
        stack += reversed(_children(section, current, _ELEMENT_CHILDREN) + _children(section, current, _CONTENT_CHILDREN))
    return out


def _files(section: _Section) -> Iterator[tuple[str, bytes]]:
    """Every file data object, named by the embedded file (or picture) node pointing to it."""
    names: dict[ExtendedGuid, str] = {}
    for found in section.order:
        named = dict(found.strings)
        for prid, target in found.references:
            if prid == _EMBEDDED_CONTAINER and _EMBEDDED_NAME in named:
                names.setdefault(target, named[_EMBEDDED_NAME])
            elif prid == _PICTURE_CONTAINER:
                names.setdefault(target, named.get(_IMAGE_NAME, ""))
    given: dict[bytes, str] = {}
    for oid, (reference, extension) in section.file_refs.items():
        guid = _guid_of(reference)
        if guid is not None and guid in section.stores:
            given.setdefault(guid, names.get(oid) or f"file {uuid.UUID(bytes_le=guid)}{extension}")
    used: set[str] = set()
    for guid, (offset, length) in section.stores.items():
        name = given.get(guid) or f"file {uuid.UUID(bytes_le=guid)}"
        while name in used:
            name = f"{name} ({uuid.UUID(bytes_le=guid)})"
        used.add(name)
        section.budget.enter(f"{section.what}/{name}")
        section.budget.spend(length, f"{section.what}/{name}")  # store objects may overlap: counted as expansion
        yield name, section.data[offset : offset + length]


def _guid_of(reference: str) -> bytes | None:
    if not reference.startswith("<ifndf>{") or not reference.endswith("}"):
        return None
    try:
        return uuid.UUID(reference[8:-1]).bytes_le
    except ValueError:
        return None
