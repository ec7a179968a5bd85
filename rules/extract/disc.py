"""Disc images: ISO 9660 (with Joliet and Rock Ridge names) and UDF.

An `.iso` is a container that Windows opens with a double click (Explorer mounts it), that every
burning tool writes (`genisoimage`, `xorriso`, `oscdimg`, ImgBurn) and that mail and web filters
often pass unread. Before this module a sensitive file inside one was `unscannable` for "no text
to extract from binary data". Files on a disc image are stored, not compressed, so reading one
is a matter of walking its directories.

Formats, as their standards describe them:

- ISO 9660 (ECMA-119): volume descriptors from sector 16 (``CD001``); the primary one (type 1)
  gives the logical block size and the root directory's record. Directory records carry
  both-endian extents and lengths, flags, the identifier and a System Use area. A record never
  crosses a 2048-byte sector; a zero length byte pads to the next one. Files of more than one
  extent (flag 0x80, files over 4 GiB) are joined.
- Joliet: a supplementary descriptor (type 2) whose escape sequence names UCS-2 level 1, 2 or 3;
  its tree carries the same files under UCS-2 big-endian names.
- Rock Ridge (IEEE P1282 over SUSP, IEEE P1281): ``NM`` entries give POSIX names, ``CE``
  continues the System Use area elsewhere, ``SP`` in the root's ``.`` record says how many bytes
  each System Use area skips.
- UDF (ECMA-167 with OSTA UDF 1.02-2.60): the Anchor Volume Descriptor Pointer at block 256 (of
  512 to 4096 bytes), the Volume Descriptor Sequence (partition and logical volume descriptors),
  the File Set Descriptor, File Entries and Extended File Entries with short, long or embedded
  allocation and allocation extent continuations, File Identifier Descriptors; type 1 partition
  maps and the metadata partition of UDF 2.50 and later. Every UDF descriptor's tag is checked:
  its checksum, its CRC (CRC-ITU-T) and its identifier.

An image may carry several trees: a hybrid ISO/UDF image both, most ISO images a Joliet tree
beside the primary one. They normally list the same files, but nothing forces them to, so a
tool could hide a file in the tree a scanner does not read. Every tree is read; a file seen in an
earlier tree (same bytes on the disc) is not read again. Names come from the first tree that
lists a file: UDF, then Rock Ridge, Joliet, and the primary tree's 8.3 names.

Hostile images: every extent is checked against the image's end; a directory is read once (a
loop of directories that point at each other ends), nesting stops at `MAX_DEPTH`, and each file
counts against the budget's entries and expanded bytes before it is read (many records pointing
at one extent are a bomb, as overlapping zip members are).

Not read, and named in an `Unscannable` after everything else was read: files recorded in
interleaved mode (file unit size above 0), zisofs2-compressed files (zisofs, Rock Ridge
``ZF``, is read), UDF
virtual (VAT, CD-R written in sessions) and sparable partitions (CD-RW), UDF files that live in
another partition than the one their entry says.
"""

from __future__ import annotations

import binascii
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from rules.extract.budget import Budget, Unscannable

SECTOR = 2048
#: Where the volume recognition area starts (sector 16 of 2048 bytes, whatever the block size).
_VOLUME_AREA = 16 * SECTOR
_ISO_IDS = (b"CD001",)
_UDF_IDS = (b"BEA01", b"NSR02", b"NSR03", b"TEA01", b"BOOT2", b"CDW02")
MAX_DEPTH = 64
_MAX_DESCRIPTORS = 64
_MAX_CONTINUATIONS = 64
_NAMES_SHOWN = 200

# ISO 9660 directory record flags
_ISO_DIRECTORY, _ISO_MULTI_EXTENT = 0x02, 0x80
_JOLIET_ESCAPES = (b"%/@", b"%/C", b"%/E")

# UDF descriptor tag identifiers (ECMA-167 3/7.2.1, 4/7.2.1)
_AVDP, _VDP, _PARTITION, _LOGICAL_VOLUME, _TERMINATOR = 2, 3, 5, 6, 8
_FILE_SET, _FILE_ID, _ALLOCATION_EXTENT, _FILE_ENTRY, _EXTENDED_FILE_ENTRY = 256, 257, 258, 261, 266
# UDF file characteristics and types
_UDF_DIRECTORY, _UDF_DELETED, _UDF_PARENT = 0x02, 0x04, 0x08
_EXTENT_RECORDED, _EXTENT_NEXT = 0, 3
_METADATA, _VIRTUAL, _SPARABLE = b"*UDF Metadata Partition", b"*UDF Virtual Partition", b"*UDF Sparable Partition"
_VAT_150 = b"*UDF Virtual Alloc Tbl"
_ZISOFS_MAGIC = b"\x37\xe4\x53\x96\xc9\xdb\xd6\x07"


@dataclass
class _File:
    """A file found in a tree: its name and where its bytes lie (`None` offsets read as zeros)."""

    name: str
    pieces: list[tuple[int | None, int]]
    size: int
    problem: str | None = None
    embedded: bytes | None = None
    zisofs: bool = False

    @property
    def key(self) -> tuple[object, ...]:
        """The same file seen in another tree has the same key: its bytes on the disc. A file with
        no bytes there (empty, or unreadable) is known by its name, so that one can never hide
        another."""
        if self.embedded is not None:
            return ("embedded", self.embedded)
        return tuple(self.pieces) if self.pieces and self.problem is None else ("name", self.name, self.problem)


@dataclass
class _Walk:
    """What walking one tree found, and what it could not read."""

    files: list[_File] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    rock_ridge: bool = False


def is_disc_image(data: bytes) -> bool:
    """An ISO 9660 primary descriptor, or a UDF volume recognition sequence (BEA01 then NSR0x)."""
    ids = [data[_VOLUME_AREA + SECTOR * i + 1 : _VOLUME_AREA + SECTOR * i + 6] for i in range(8)]
    if ids[0] in _ISO_IDS and data[_VOLUME_AREA : _VOLUME_AREA + 1] in (b"\x00", b"\x01", b"\x02"):
        return True
    return b"BEA01" in ids and (b"NSR02" in ids or b"NSR03" in ids)


def disc_members(data: bytes, budget: Budget, what: str) -> Iterator[tuple[str, bytes]]:
    """(path, content) of each file of an ISO 9660 or UDF image, every tree read; raises
    `Unscannable` after the readable files for what could not be read, or when the image is
    damaged past reading."""
    walks = []
    if _has_udf(data):
        walks.append(_guarded(lambda: _udf_walk(data, budget, what), what, "UDF"))
    walks.extend(_iso_walks(data, budget, what))
    if not walks:
        raise Unscannable(f"{what}: not an ISO 9660 or UDF image")
    seen: set[tuple[object, ...]] = set()
    unread = []
    problems = [p for walk in walks for p in walk.problems]
    for walk in walks:
        for file in walk.files:
            if file.key in seen:
                continue
            seen.add(file.key)
            if file.problem is not None:
                unread.append(f"{file.name} ({file.problem})")
                continue
            budget.check_time()
            budget.enter(what)
            budget.spend(file.size, what)
            content = _content(data, file)
            if file.zisofs:
                try:
                    content = _unzisofs(content, budget, f"{what}/{file.name}")
                except Unscannable as exc:
                    unread.append(f"{file.name} ({str(exc).removeprefix(f'{what}/{file.name}: ')})")
                    continue
            yield file.name, content
    if unread or problems:
        raise Unscannable(f"{what}: disc image partly read: " + _listed(problems + unread))


def _content(data: bytes, file: _File) -> bytes:
    if file.embedded is not None:
        return file.embedded
    out, left = [], file.size  # no more than the file's size, however long its extents say they are
    for offset, length in file.pieces:
        take = min(length, left)
        out.append(bytes(take) if offset is None else data[offset : offset + take])
        left -= take
    return b"".join(out)


def _listed(names: list[str]) -> str:
    return "; ".join(names)[:_NAMES_SHOWN]


def _guarded(walk: Callable[[], _Walk], what: str, tree: str) -> _Walk:
    """A tree that cannot be read at all becomes a problem of the image, not the end of it: the
    other trees may still be read."""
    try:
        return walk()
    except Unscannable as exc:
        return _Walk(problems=[f"{tree} tree: {str(exc).removeprefix(what + ': ')}"])
    except (struct.error, IndexError, ValueError, OverflowError):  # a field that points past the end
        return _Walk(problems=[f"{tree} tree: damaged (a structure runs past the image's end)"])


# ISO 9660


def _iso_walks(data: bytes, budget: Budget, what: str) -> list[_Walk]:
    """The primary tree (with Rock Ridge names when it has them) and any Joliet tree."""
    primary, joliet = None, None
    for index in range(_MAX_DESCRIPTORS):
        at = _VOLUME_AREA + index * SECTOR
        if at + SECTOR > len(data) or data[at + 1 : at + 6] != b"CD001":
            break
        kind = data[at]
        if kind == 255:  # set terminator
            break
        if kind == 1 and primary is None:
            primary = at
        elif kind == 2 and data[at + 88 : at + 91] in _JOLIET_ESCAPES and joliet is None:
            joliet = at
    walks = []
    if joliet is not None:
        walks.append(_guarded(lambda: _iso_walk(data, joliet, True, budget, what), what, "Joliet"))
    if primary is not None:
        walk = _guarded(lambda: _iso_walk(data, primary, False, budget, what), what, "ISO 9660")
        walks.insert(0 if walk.rock_ridge else len(walks), walk)  # Rock Ridge names before Joliet's, 8.3 ones after
    return walks


@dataclass(frozen=True)
class _Record:
    length: int
    extent: int
    size: int
    flags: int
    interleaved: bool
    name: bytes
    system_use: bytes


def _record(data: bytes, pos: int, end: int, what: str) -> _Record:
    length = data[pos]
    if length < 34 or pos + length > end:
        raise Unscannable(f"{what}: damaged directory record at byte {pos}")
    name_length = data[pos + 32]
    if 33 + name_length > length:
        raise Unscannable(f"{what}: damaged directory record at byte {pos} (its name runs past it)")
    xattr = data[pos + 1]
    extent, size = struct.unpack_from("<I", data, pos + 2)[0], struct.unpack_from("<I", data, pos + 10)[0]
    su_start = pos + 33 + name_length + (1 - name_length % 2)
    return _Record(length, extent + xattr, size, data[pos + 25], data[pos + 26] != 0,
                   data[pos + 33 : pos + 33 + name_length], data[min(su_start, pos + length) : pos + length])


def _iso_walk(data: bytes, descriptor: int, joliet: bool, budget: Budget, what: str) -> _Walk:
    block = struct.unpack_from("<H", data, descriptor + 128)[0]
    if block not in (512, 1024, 2048):
        raise Unscannable(f"{what}: logical block size {block} is not 512, 1024 or 2048")
    root = _record(data, descriptor + 156, descriptor + 156 + 34, what)
    walk = _Walk()
    skip = None if joliet else _susp_skip(data, root, block, what)
    walk.rock_ridge = skip is not None
    visited: set[int] = set()

    def directory(record: _Record, path: str, depth: int) -> None:
        start = record.extent * block
        if record.extent in visited:
            return
        visited.add(record.extent)
        if depth > MAX_DEPTH:
            walk.problems.append(f"{path or '/'}: directories nested deeper than {MAX_DEPTH}")
            return
        if start + record.size > len(data):
            walk.problems.append(f"{path or '/'}: directory lies past the image's end (truncated?)")
            return
        pending: list[tuple[int, int]] = []  # extents of a multi-extent file so far
        for child in _records(data, start, start + record.size, what):
            budget.check_time()
            if child.name in (b"\x00", b"\x01"):  # "." and ".."
                continue
            name = path + "/" + _iso_name(data, child, joliet, skip, block, what)
            if child.flags & _ISO_DIRECTORY:
                directory(child, name, depth + 1)
                continue
            pending.append((child.extent * block, child.size))
            if child.flags & _ISO_MULTI_EXTENT:
                continue
            extents, pending = pending, []
            walk.files.append(_iso_file(data, name.lstrip("/"), extents, child, skip, block))

    directory(root, "", 0)
    return walk


def _records(data: bytes, start: int, end: int, what: str) -> Iterator[_Record]:
    pos = start
    while pos < end:
        if data[pos] == 0:  # padding to the next sector
            pos = start + ((pos - start) // SECTOR + 1) * SECTOR
            continue
        record = _record(data, pos, end, what)
        yield record
        pos += record.length


def _iso_file(data: bytes, name: str, extents: list[tuple[int, int]], last: _Record, skip: int | None,
              block: int) -> _File:
    size = sum(length for _, length in extents)
    file = _File(name, [(offset, length) for offset, length in extents], size)
    if any(offset + length > len(data) for offset, length in extents):
        file.problem = "lies past the image's end"
    elif last.interleaved:
        file.problem = "recorded interleaved"
    elif skip is not None and any(sig == b"ZF" for sig, _ in _susp_entries(data, last.system_use[skip:], block)):
        file.zisofs = True
    return file


def _unzisofs(packed: bytes, budget: Budget, what: str) -> bytes:
    """A zisofs file (Rock Ridge ``ZF``, "pz"), as mkzftree and xorriso write it: a 16-byte header
    (magic, size, header length in words, log2 of the block size), a table of block offsets, then
    each block zlib-compressed (an empty block is zeros)."""
    if packed[:8] != _ZISOFS_MAGIC or len(packed) < 16:
        raise Unscannable(f"{what}: zisofs file without its header (zisofs2 is not read)")
    size, words, shift = struct.unpack_from("<IBB", packed, 8)
    if not 15 <= shift <= 17 or words < 4:
        raise Unscannable(f"{what}: zisofs header with block size 2^{shift}")
    block, count = 1 << shift, -(-size // (1 << shift))
    table = words * 4
    if table + 4 * (count + 1) > len(packed):
        raise Unscannable(f"{what}: truncated zisofs block table")
    budget.spend(size, what)
    offsets = struct.unpack_from(f"<{count + 1}I", packed, table)
    out = []
    for index in range(count):
        budget.check_time()
        start, end = offsets[index], offsets[index + 1]
        want = min(block, size - index * block)
        if start == end:
            out.append(bytes(want))
            continue
        if not table <= start < end <= len(packed):
            raise Unscannable(f"{what}: zisofs block {index} lies outside the file")
        try:
            piece = zlib.decompressobj().decompress(packed[start:end], want)
        except zlib.error as exc:
            raise Unscannable(f"{what}: corrupt zisofs block {index} ({exc})") from None
        out.append(piece)
    return b"".join(out)


def _iso_name(data: bytes, record: _Record, joliet: bool, skip: int | None, block: int, what: str) -> str:
    if joliet:
        name = record.name.decode("utf-16-be", "replace")
    else:
        name = record.name.decode("latin-1")
        if skip is not None:
            alternate = _rock_ridge_name(data, record.system_use[skip:], block, what)
            if alternate:
                return alternate
    name = name.split(";", 1)[0]
    return name[:-1] if name.endswith(".") else name


def _susp_skip(data: bytes, root: _Record, block: int, what: str) -> int | None:
    """The bytes each System Use area skips, when the root's "." record opens SUSP with an SP
    entry (IEEE P1281 5.3); None when the tree has no SUSP (so no Rock Ridge)."""
    start = root.extent * block
    if start + 34 > len(data) or data[start] < 34:
        return None
    dot = _record(data, start, min(len(data), start + data[start]), what)
    area = dot.system_use
    if area[:2] == b"SP" and len(area) >= 7 and area[4:6] == b"\xbe\xef":
        return area[6]
    return None


def _susp_entries(data: bytes, area: bytes, block: int) -> Iterator[tuple[bytes, bytes]]:
    """(signature, entry) of a System Use area, following CE continuations (at most
    `_MAX_CONTINUATIONS` of them) until ST or the end."""
    for _ in range(_MAX_CONTINUATIONS):
        pos, follow = 0, None
        while pos + 4 <= len(area):
            signature, length = area[pos : pos + 2], area[pos + 2]
            if length < 4 or pos + length > len(area):
                break
            entry = area[pos : pos + length]
            if signature == b"ST":
                return
            if signature == b"CE" and length >= 28:
                where, offset, size = (struct.unpack_from("<I", entry, at)[0] for at in (4, 12, 20))
                follow = (where * block + offset, size)
            else:
                yield signature, entry
            pos += length
        if follow is None or follow[0] + follow[1] > len(data):
            return
        area = data[follow[0] : follow[0] + follow[1]]


def _rock_ridge_name(data: bytes, area: bytes, block: int, what: str) -> str | None:
    parts, named = [], False
    for signature, entry in _susp_entries(data, area, block):
        if signature == b"NM" and len(entry) >= 5:
            if entry[4] & 0x06:  # "." or ".."
                return None
            parts.append(entry[5:])
            named = True
            if not entry[4] & 0x01:  # no CONTINUE flag: the name is whole
                break
    return b"".join(parts).decode("utf-8", "replace") if named else None


# UDF


def _has_udf(data: bytes) -> bool:
    ids = {data[_VOLUME_AREA + SECTOR * i + 1 : _VOLUME_AREA + SECTOR * i + 6] for i in range(16)}
    return b"BEA01" in ids and bool(ids & {b"NSR02", b"NSR03"})


def _tag(data: bytes, pos: int, *wanted: int) -> int | None:
    """The identifier of a valid descriptor tag at `pos` (checksum and CRC), if it is one of
    `wanted`; None otherwise."""
    if pos < 0 or pos + 16 > len(data):
        return None
    tag = data[pos : pos + 16]
    if (sum(tag[:4]) + sum(tag[5:])) & 0xFF != tag[4]:
        return None
    ident: int = struct.unpack_from("<H", tag)[0]
    crc, crc_length = struct.unpack_from("<HH", tag, 8)
    if ident not in wanted or pos + 16 + crc_length > len(data):
        return None
    if crc_length and binascii.crc_hqx(data[pos + 16 : pos + 16 + crc_length], 0) != crc:
        return None
    return ident


@dataclass
class _Volume:
    """A UDF logical volume: its block size and how its partitions' blocks map onto the image."""

    data: bytes
    block: int
    what: str
    maps: list[Callable[[int], int | None]] = field(default_factory=list)

    def offset(self, partition: int, lbn: int) -> int:
        if not 0 <= partition < len(self.maps):
            raise Unscannable(f"{self.what}: UDF address in partition {partition}, which the volume does not have")
        at = self.maps[partition](lbn)
        if at is None or at >= len(self.data):
            raise Unscannable(f"{self.what}: UDF block {lbn} of partition {partition} lies past the image's end")
        return at


def _udf_walk(data: bytes, budget: Budget, what: str) -> _Walk:
    volume, file_set = _udf_volume(data, what)
    fsd = volume.offset(*file_set)
    if _tag(data, fsd, _FILE_SET) is None:
        raise Unscannable(f"{what}: no valid UDF file set descriptor")
    root_lbn, root_partition = struct.unpack_from("<IH", data, fsd + 400 + 4)
    walk = _Walk()
    visited: set[int] = set()

    def directory(entry_at: int, partition: int, path: str, depth: int) -> None:
        if entry_at in visited:
            return
        visited.add(entry_at)
        if depth > MAX_DEPTH:
            walk.problems.append(f"{path or '/'}: directories nested deeper than {MAX_DEPTH}")
            return
        entry = _udf_entry(volume, entry_at, partition, budget)
        if entry.problem is not None:
            walk.problems.append(f"{path or '/'}: {entry.problem}")
            return
        budget.spend(entry.size, what)  # a directory is bytes read too
        listing = _content(data, entry)
        for name, characteristics, lbn, part in _file_ids(listing, what):
            budget.check_time()
            child = f"{path}/{name}"
            try:
                at = volume.offset(part, lbn)
            except Unscannable as exc:
                walk.problems.append(f"{child.lstrip('/')}: {str(exc).removeprefix(what + ': ')}")
                continue
            if characteristics & _UDF_DIRECTORY:
                directory(at, part, child, depth + 1)
                continue
            file = _udf_entry(volume, at, part, budget)
            file.name = child.lstrip("/")
            walk.files.append(file)

    directory(volume.offset(root_partition, root_lbn), root_partition, "", 0)
    return walk


def _udf_volume(data: bytes, what: str) -> tuple[_Volume, tuple[int, int]]:
    """The logical volume and the (partition, block) of its file set descriptor."""
    for block in (2048, 512, 1024, 4096):
        anchor = 256 * block
        if _tag(data, anchor, _AVDP) is not None:
            break
    else:
        raise Unscannable(f"{what}: UDF volume without an anchor descriptor at block 256")
    length, location = struct.unpack_from("<II", data, anchor + 16)
    partitions: dict[int, int] = {}  # partition number -> starting block
    logical = None
    for index in range(min(length // block, _MAX_DESCRIPTORS)):
        at = (location + index) * block
        ident = _tag(data, at, _PARTITION, _LOGICAL_VOLUME, _TERMINATOR, _VDP, 1, 4, 7)
        if ident is None or ident == _TERMINATOR:
            break
        if ident == _PARTITION:
            number, start = struct.unpack_from("<H", data, at + 22)[0], struct.unpack_from("<I", data, at + 188)[0]
            partitions[number] = start
        elif ident == _LOGICAL_VOLUME:
            logical = at
    if logical is None or not partitions:
        raise Unscannable(f"{what}: UDF volume descriptor sequence without a logical volume or partition")
    size = struct.unpack_from("<I", data, logical + 212)[0]
    if size != block:
        raise Unscannable(f"{what}: UDF logical block size {size} differs from the anchor's {block}")
    volume = _Volume(data, block, what)
    file_set = struct.unpack_from("<IH", data, logical + 248 + 4)
    table_length, count = struct.unpack_from("<II", data, logical + 264)
    pos, end = logical + 440, min(len(data), logical + 440 + table_length)
    later: list[tuple[int, bytes, bytes]] = []  # maps that need the others first: (index, type, map)
    for index in range(min(count, 64)):
        if pos + 2 > end or data[pos + 1] < 6 or pos + data[pos + 1] > end:
            raise Unscannable(f"{what}: damaged UDF partition map {index}")
        kind, entry = data[pos], data[pos : pos + data[pos + 1]]
        pos += len(entry)
        if kind == 1:
            volume.maps.append(_physical(partitions, struct.unpack_from("<H", entry, 4)[0], block))
            continue
        name = entry[5:28].rstrip(b"\0")
        if kind != 2 or len(entry) < 64 or name not in (_METADATA, _VIRTUAL, _SPARABLE):
            raise Unscannable(f"{what}: UDF partition map of type {name.decode('latin-1') or kind} is not read")
        later.append((index, name, entry))
        volume.maps.append(lambda lbn: None)
    for index, name, entry in later:
        number = struct.unpack_from("<H", entry, 38)[0]
        if name == _SPARABLE:
            volume.maps[index] = _sparable_map(volume, partitions, entry)
        elif name == _VIRTUAL:
            volume.maps[index] = _virtual_map(volume, _physical(partitions, number, block))
        else:
            volume.maps[index] = _metadata_map(volume, partitions, number, struct.unpack_from("<I", entry, 40)[0])
    return volume, (file_set[1], file_set[0])


def _physical(partitions: dict[int, int], number: int, block: int) -> Callable[[int], int | None]:
    start = partitions.get(number)
    return lambda lbn: None if start is None else (start + lbn) * block


def _sparable_map(volume: _Volume, partitions: dict[int, int], entry: bytes) -> Callable[[int], int | None]:
    """A sparable partition (UDF 2.2.11, rewritable discs): a physical one whose packets the
    sparing table may have moved elsewhere on the disc."""
    number, packet = struct.unpack_from("<HH", entry, 38)
    tables = min(entry[42], 4)
    physical = _physical(partitions, number, volume.block)
    moved: dict[int, int] = {}
    for table in struct.unpack_from(f"<{tables}I", entry, 48):
        at = table * volume.block
        if _tag(volume.data, at, 0) is None or volume.data[at + 17 : at + 35] != b"*UDF Sparing Table":
            continue
        length = struct.unpack_from("<H", volume.data, at + 48)[0]
        for pos in range(at + 56, min(len(volume.data) - 7, at + 56 + 8 * length), 8):
            original, mapped = struct.unpack_from("<II", volume.data, pos)
            if original < 0xFFFFFFF0:
                moved[original] = mapped
        break
    if not packet or not moved:
        return physical

    def lookup(lbn: int) -> int | None:
        start = lbn - lbn % packet
        return physical(lbn) if start not in moved else (moved[start] + lbn - start) * volume.block

    return lookup


def _virtual_map(volume: _Volume, physical: Callable[[int], int | None]) -> Callable[[int], int | None]:
    """A virtual partition (UDF 2.2.10, discs written once in sessions): its blocks are looked up
    in the Virtual Allocation Table, a file recorded last on the disc (an entry of file type 248
    from UDF 2.00; of type 0 ending in the "*UDF Virtual Alloc Tbl" identifier in 1.50)."""
    blocks, empty = len(volume.data) // volume.block, bytes(volume.block)
    while blocks > 0 and volume.data[(blocks - 1) * volume.block : blocks * volume.block] == empty:
        blocks -= 1  # an image of a disc not written to its end
    probe = _Volume(volume.data, volume.block, volume.what, [physical])
    for back in range(1, min(blocks, 257)):
        at = (blocks - back) * volume.block
        if _tag(volume.data, at, _FILE_ENTRY, _EXTENDED_FILE_ENTRY) is None or volume.data[at + 27] not in (0, 248):
            continue
        entry = _udf_entry(probe, at, 0, None)
        if entry.problem is not None:
            continue
        table = _content(volume.data, entry)
        if volume.data[at + 27] == 248 and len(table) >= 152:
            table = table[struct.unpack_from("<H", table)[0] :]
        elif table[-35:-12].rstrip(b"\0") == _VAT_150:
            table = table[:-36]
        else:
            continue
        return _vat_lookup(table, physical)
    raise Unscannable(f"{volume.what}: UDF virtual partition without a virtual allocation table")


def _vat_lookup(table: bytes, physical: Callable[[int], int | None]) -> Callable[[int], int | None]:
    """A virtual block's physical one, looked up in the table (not unpacked whole: a table may
    hold millions of entries)."""

    def lookup(lbn: int) -> int | None:
        if not 0 <= lbn < len(table) // 4:
            return None
        entry = struct.unpack_from("<I", table, 4 * lbn)[0]
        return None if entry == 0xFFFFFFFF else physical(entry)

    return lookup


def _metadata_map(volume: _Volume, partitions: dict[int, int], number: int, where: int) -> Callable[[int], int | None]:
    """A metadata partition (UDF 2.50 2.2.10): its blocks are those of the metadata file, a file
    of the physical partition `number` whose entry is at block `where`."""
    physical = _physical(partitions, number, volume.block)
    entry_at = physical(where)
    if entry_at is None:
        raise Unscannable(f"{volume.what}: UDF metadata partition in a partition the volume does not have")
    probe = _Volume(volume.data, volume.block, volume.what, [physical])
    metadata = _udf_entry(probe, entry_at, 0, None)
    if metadata.problem is not None or metadata.embedded is not None:
        raise Unscannable(f"{volume.what}: UDF metadata file unreadable ({metadata.problem or 'embedded'})")
    pieces = metadata.pieces

    def lookup(lbn: int) -> int | None:
        offset = lbn * volume.block
        for at, length in pieces:
            if offset < length:
                return None if at is None else at + offset
            offset -= length
        return None

    return lookup


def _udf_entry(volume: _Volume, at: int, partition: int, budget: Budget | None) -> _File:
    """A File Entry or Extended File Entry: where its bytes lie, or why they cannot be read."""
    data = volume.data
    ident = _tag(data, at, _FILE_ENTRY, _EXTENDED_FILE_ENTRY)
    if ident is None:
        return _File("", [], 0, "no valid UDF file entry")
    flags = struct.unpack_from("<H", data, at + 34)[0]
    size = struct.unpack_from("<Q", data, at + 56)[0]
    ea_length, ad_length = struct.unpack_from("<II", data, at + (168 if ident == _FILE_ENTRY else 208))
    start = at + (176 if ident == _FILE_ENTRY else 216) + ea_length
    if start + ad_length > len(data) or start + ad_length > at + volume.block:
        return _File("", [], size, "damaged UDF file entry")
    allocation = flags & 0x07
    if allocation == 3:  # the data is in the entry itself
        return _File("", [], size, embedded=data[start : start + min(ad_length, size)])
    if allocation not in (0, 1):
        return _File("", [], size, "UDF extended allocation descriptors are not read")
    pieces: list[tuple[int | None, int]] = []
    area = data[start : start + ad_length]
    for _ in range(_MAX_CONTINUATIONS):
        follow = None
        step = 8 if allocation == 0 else 16
        for pos in range(0, len(area) - step + 1, step):
            raw, lbn = struct.unpack_from("<II", area, pos)
            part = partition if allocation == 0 else struct.unpack_from("<H", area, pos + 8)[0]
            kind, length = raw >> 30, raw & 0x3FFFFFFF
            if length == 0:
                break
            if kind == _EXTENT_NEXT:
                follow = (part, lbn, length)
                break
            if kind != _EXTENT_RECORDED:
                pieces.append((None, length))
                continue
            try:
                offset = volume.offset(part, lbn)
            except Unscannable:
                return _File("", [], size, "lies past the image's end")
            if offset + length > len(data):
                return _File("", [], size, "lies past the image's end")
            pieces.append((offset, length))
        if follow is None:
            break
        if budget is not None:
            budget.check_time()
        try:
            next_at = volume.offset(follow[0], follow[1])
        except Unscannable:
            return _File("", [], size, "allocation continues past the image's end")
        if _tag(data, next_at, _ALLOCATION_EXTENT) is None:
            return _File("", [], size, "damaged UDF allocation extent")
        more = struct.unpack_from("<I", data, next_at + 20)[0]
        area = data[next_at + 24 : next_at + 24 + min(more, follow[2])]
    else:
        return _File("", [], size, "too many UDF allocation extents")
    if sum(length for _, length in pieces) < size:
        return _File("", pieces, size, "shorter than its recorded size")
    return _File("", pieces, size)


def _file_ids(listing: bytes, what: str) -> Iterator[tuple[str, int, int, int]]:
    """(name, characteristics, block, partition) of each live entry of a UDF directory."""
    pos = 0
    while pos + 38 <= len(listing):
        if _tag(listing, pos, _FILE_ID) is None:
            raise Unscannable(f"{what}: damaged UDF directory (no file identifier at byte {pos})")
        characteristics, name_length = listing[pos + 18], listing[pos + 19]
        lbn, part = struct.unpack_from("<IH", listing, pos + 24)
        use_length = struct.unpack_from("<H", listing, pos + 36)[0]
        name = listing[pos + 38 + use_length : pos + 38 + use_length + name_length]
        pos += (38 + use_length + name_length + 3) & ~3
        if characteristics & (_UDF_DELETED | _UDF_PARENT):
            continue
        yield _cs0(name), characteristics, lbn, part


def _cs0(name: bytes) -> str:
    """An OSTA CS0 d-string: its first byte says 8 (Latin-1) or 16 bits (UCS-2 big-endian) a character."""
    if name[:1] == b"\x10":
        return name[1:].decode("utf-16-be", "replace")
    return name[1:].decode("latin-1")
