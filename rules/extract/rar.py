"""RAR archives (4.x and 5.0): their headers, stored and compressed files, and encryption.

A password-protected RAR is the classic way to carry data past a content scanner, so the first
job here is to say so: a RAR whose headers are encrypted (`rar -hp`: even the names are hidden),
or any of whose files is, gives `EncryptedContent`, naming the files when their names are
visible. Files stored without compression (`rar -m0`) are read, and so are files RAR 5.0
compressed (`rar5_lz`) and the LZ blocks of RAR 2.9-4.x compression (`rar29_lz`), solid archives
included, each checked against its CRC-32 (or the BLAKE2sp hash WinRAR writes instead when
asked); RAR 2.9's PPMd blocks too (`ppmd`, since 2026-12-07 (39)). RAR 2.9's filters but delta
and x86, and RAR 1.5-2.0 compression, are not read: such files are named `Unscannable`, after the
rest were read.

Formats, as RARLAB documents them: RAR 5.0 (`Rar!\\x1a\\x07\\x01\\x00`; blocks with a CRC-32, a
variable-length header size and type, flags, optional extra and data areas; an archive
encryption block before the main one when headers are encrypted, a file encryption record in a
file's extra area when only data is) and RAR 2.9-4.x (`Rar!\\x1a\\x07\\x00`; blocks with a 16-bit
CRC, type, flags and size; `MHD_PASSWORD` in the main header, `LHD_PASSWORD` in a file's).
Headers are checked against their CRCs; every size is checked against the archive's length
before it is used.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from rules.extract.budget import Budget, EncryptedContent, Unscannable
from rules.extract.rar5_lz import Rar5Stream
from rules.extract.rar29_lz import Rar29Stream

RAR5 = b"Rar!\x1a\x07\x01\x00"
RAR4 = b"Rar!\x1a\x07\x00"
#: A RAR 5.0 header is at most 2 MB (RARLAB's limit).
MAX_HEADER = 2 << 20
_NAMES_SHOWN = 200

# RAR 5.0 header types and flags
_R5_MAIN, _R5_FILE, _R5_SERVICE, _R5_CRYPT, _R5_END = 1, 2, 3, 4, 5
_R5_EXTRA, _R5_DATA = 0x0001, 0x0002
_R5_SPLIT, _R5_CONTINUED = 0x0008 | 0x0010, 0x0008  # data continues from the previous volume, or in the next
_R5_DIRECTORY, _R5_MTIME, _R5_CRC = 0x0001, 0x0002, 0x0004
_R5_FILE_CRYPT, _R5_HASH, _R5_REDIRECT = 0x01, 0x02, 0x05  # extra record types: file encryption, hash, link
_R5_SOLID = 0x0040  # compression information: this file continues the previous one's window

# RAR 4.x block types and flags
_R4_MAIN, _R4_FILE, _R4_SUB, _R4_END = 0x73, 0x74, 0x7A, 0x7B
_R4_ADD_SIZE = 0x8000
_R4_HEADERS_ENCRYPTED = 0x0080
_R4_SPLIT, _R4_CONTINUED, _R4_ENCRYPTED, _R4_LARGE, _R4_UNICODE = 0x0001 | 0x0002, 0x0001, 0x0004, 0x0100, 0x0200
_R4_DIRECTORY = 0x00E0
_R4_STORED = 0x30
_R4_UNIX = 3  # host OS
_R4_SOLID = 0x0010
_RAR29 = (29, 36)  # unpack versions of RAR 2.9-4.x compression


@dataclass(frozen=True)
class _Entry:
    name: str
    start: int  # of its data in the archive
    size: int
    stored: bool
    encrypted: bool
    split: bool
    unpacked: int = 0
    crc: int | None = None
    compression: int | None = None  # RAR 5.0's compression information; None for RAR 4.x
    version: int = 0  # RAR 4.x's unpack version (29: RAR 2.9-4.x compression); 0 for RAR 5.0
    solid: bool = False  # continues the previous file's window
    blake2: bytes | None = None  # RAR 5.0's BLAKE2sp hash of the content, when written instead of a CRC-32
    continued: bool = False  # split: its data starts in the previous volume


def rar_members(data: bytes, budget: Budget, what: str) -> Iterator[tuple[str, bytes]]:
    """(name, content) of each file of a RAR archive, in the archive's order; raises
    `EncryptedContent` when anything is password-protected, `Unscannable` when files could not be
    read (after the others) or the archive is damaged."""
    if data.startswith(RAR5):
        entries = _rar5_entries(data, budget, what)
    elif data.startswith(RAR4):
        entries = _rar4_entries(data, budget, what)
    else:
        raise Unscannable(f"{what}: not a RAR 4 or 5 archive (RAR 1.5 and older are not read)")
    locked = [e.name for e in entries if e.encrypted]
    if locked:
        raise EncryptedContent(f"{what}: password-protected rar archive ({_listed(locked)})")
    old = [e.name for e in entries if _old_method(e)]
    damage: list[str] = []
    parts: list[str] = []
    split: list[str] = []
    stream: Rar5Stream | Rar29Stream | None = None
    for entry in entries:
        packed = data[entry.start : entry.start + entry.size]
        if _old_method(entry):
            continue
        budget.enter(what)
        if entry.split:  # a volume of a set: what this volume holds of the file is read when it can be
            part = _part(entry, packed, budget, what)
            (split if part is None else parts).append(entry.name)
            if part is not None:
                yield entry.name, part
            continue
        if entry.stored:
            budget.spend(entry.size, what)
            yield entry.name, packed
            continue
        if not entry.solid:
            stream = Rar5Stream(budget, what) if entry.compression is not None else Rar29Stream(budget, what)
        elif stream is None:  # continues a file that could not be read
            damage.append(f"{entry.name}: follows a file that could not be read in a solid archive")
            continue
        try:
            content = _unpacked(stream, entry, packed)
        except Unscannable as exc:
            damage.append(str(exc).removeprefix(f"{what}: "))
            stream = None
            continue
        yield entry.name, content
    reasons = [f"{len(damage)} file(s) not read: {'; '.join(damage)[:_NAMES_SHOWN * 2]}"] if damage else []
    if old:
        reasons.append(f"RAR 1.5-2.0 compression is not read: {len(old)} file(s) not scanned ({_listed(old)})")
    if parts:
        reasons.append(f"{len(parts)} file(s) split across volumes read in part, from this volume only "
                       f"({_listed(parts)})")
    if split:
        reasons.append(f"a compressed file continued from another volume is not read: {len(split)} file(s) not "
                       f"scanned ({_listed(split)})")
    if reasons:
        raise Unscannable(f"{what}: " + "; ".join(reasons))


def _part(entry: _Entry, packed: bytes, budget: Budget, what: str) -> bytes | None:
    """What one volume holds of a file split across volumes: its stored bytes, or for a compressed
    file that starts here what its data decodes to as far as it goes (None: a compressed file
    continued from an earlier volume, whose window is not here, or one that could not be read)."""
    if entry.stored:
        budget.spend(len(packed), what)
        return packed
    if entry.continued or entry.solid:
        return None
    try:
        if entry.compression is not None:
            dictionary = 0x20000 << ((entry.compression >> 10) & 0xF)
            return Rar5Stream(budget, what).unpack(packed, entry.unpacked, dictionary, entry.name, partial=True)
        return Rar29Stream(budget, what).unpack(packed, entry.unpacked, entry.name, partial=True)
    except Unscannable:
        return None


def _old_method(entry: _Entry) -> bool:
    """Whether a file is compressed by RAR 1.5-2.0 (unpack versions 15-26), which is not read."""
    return not (entry.split or entry.stored or entry.compression is not None or entry.version in _RAR29)


def _unpacked(stream: Rar5Stream | Rar29Stream, entry: _Entry, packed: bytes) -> bytes:
    """A compressed file's content, checked against its CRC-32."""
    if isinstance(stream, Rar29Stream):
        content = stream.unpack(packed, entry.unpacked, entry.name)
    else:
        compression = entry.compression or 0
        version = compression & 0x3F
        if version != 0:
            raise Unscannable(f"{entry.name}: RAR 7 compression (algorithm version {version}) is not read")
        content = stream.unpack(packed, entry.unpacked, 0x20000 << (compression >> 10 & 0xF), entry.name)
    if entry.crc is not None and zlib.crc32(content) != entry.crc:
        raise Unscannable(f"{entry.name}: damaged rar data (CRC-32 of the unpacked file)")
    if entry.blake2 is not None and blake2sp(content) != entry.blake2:
        raise Unscannable(f"{entry.name}: damaged rar data (BLAKE2sp of the unpacked file)")
    return content


def blake2sp(data: bytes) -> bytes:
    """BLAKE2sp, the hash WinRAR writes instead of a CRC-32 when asked: eight BLAKE2s leaves, leaf i
    taking the 64-byte blocks i, i + 8, i + 16..., and a root hashing their digests."""
    leaves = []
    for leaf in range(8):
        state = hashlib.blake2s(digest_size=32, fanout=8, depth=2, node_offset=leaf, node_depth=0, inner_size=32,
                                last_node=leaf == 7)
        state.update(b"".join(data[at : at + 64] for at in range(64 * leaf, len(data), 512)))
        leaves.append(state.digest())
    root = hashlib.blake2s(digest_size=32, fanout=8, depth=2, node_offset=0, node_depth=1, inner_size=32,
                           last_node=True)
    root.update(b"".join(leaves))
    return root.digest()


def _listed(names: list[str]) -> str:
    return ", ".join(names)[:_NAMES_SHOWN]


# RAR 5.0


class _Cursor:
    """Reads RAR 5.0 fields from `data[pos:end]`; running past `end` is a damaged archive."""

    def __init__(self, data: bytes, pos: int, end: int, what: str) -> None:
        self.data, self.pos, self.end, self.what = data, pos, end, what

    def vint(self) -> int:
        value = 0
        for shift in range(0, 70, 7):
            if self.pos >= self.end:
                break
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
        raise Unscannable(f"{self.what}: damaged rar archive (a number runs past its header)")

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > self.end:
            raise Unscannable(f"{self.what}: damaged rar archive (a field runs past its header)")
        self.pos += size
        return self.data[self.pos - size : self.pos]


def _rar5_entries(data: bytes, budget: Budget, what: str) -> list[_Entry]:
    entries: list[_Entry] = []
    pos = len(RAR5)
    while pos < len(data):
        budget.check_time()
        if pos + 5 > len(data):
            raise Unscannable(f"{what}: truncated rar archive")
        crc = struct.unpack_from("<I", data, pos)[0]
        head = _Cursor(data, pos + 4, min(len(data), pos + 4 + 3), what)
        size = head.vint()
        body = head.pos
        if not 0 < size <= MAX_HEADER or body + size > len(data):
            raise Unscannable(f"{what}: damaged rar archive (a header of {size} bytes at {pos})")
        if zlib.crc32(data[pos + 4 : body + size]) != crc:
            raise Unscannable(f"{what}: damaged rar archive (header checksum at {pos})")
        cursor = _Cursor(data, body, body + size, what)
        kind, flags = cursor.vint(), cursor.vint()
        extra = cursor.vint() if flags & _R5_EXTRA else 0
        data_size = cursor.vint() if flags & _R5_DATA else 0
        data_start = body + size
        if data_size > len(data) - data_start:
            raise Unscannable(f"{what}: truncated rar archive (a file's data runs past the end)")
        if kind == _R5_CRYPT:
            raise EncryptedContent(f"{what}: password-protected rar archive (names hidden too)")
        if kind == _R5_FILE:
            budget.enter(what)
            entry = _rar5_file(cursor, extra, flags, data_start, data_size)
            if entry is not None:
                entries.append(entry)
        elif kind == _R5_END:
            break
        pos = data_start + data_size
    return entries


def _rar5_file(cursor: _Cursor, extra: int, block_flags: int, start: int, size: int) -> _Entry | None:
    """The entry of a RAR 5.0 file header (None for a directory or a link), `cursor` after its
    block fields."""
    flags = cursor.vint()
    unpacked = cursor.vint()
    cursor.vint()  # attributes
    if flags & _R5_MTIME:
        cursor.take(4)
    crc = struct.unpack("<I", cursor.take(4))[0] if flags & _R5_CRC else None
    compression = cursor.vint()
    method = (compression >> 7) & 0x7
    cursor.vint()  # host OS
    name = cursor.take(cursor.vint()).decode("utf-8", "replace")
    if flags & _R5_DIRECTORY:
        return None
    extra_area = _Cursor(cursor.data, cursor.end - extra, cursor.end, cursor.what) if extra else None
    if extra and cursor.end - extra < cursor.pos:
        raise Unscannable(f"{cursor.what}: damaged rar archive (extra area overlaps the name)")
    records: set[int] = set()
    blake2 = None
    while extra_area is not None and extra_area.pos < extra_area.end:
        record = extra_area.vint()
        record_end = extra_area.pos + record
        if record == 0 or record_end > extra_area.end:
            raise Unscannable(f"{cursor.what}: damaged rar archive (an extra record runs past its header)")
        kind = extra_area.vint()
        records.add(kind)
        if kind == _R5_HASH and extra_area.pos < record_end and extra_area.vint() == 0:  # 0: BLAKE2sp
            blake2 = extra_area.take(32) if extra_area.pos + 32 <= record_end else None
        extra_area.pos = record_end
    if _R5_REDIRECT in records:
        return None  # a link: its data is a path, not a file's content
    return _Entry(name, start, size, method == 0, _R5_FILE_CRYPT in records, bool(block_flags & _R5_SPLIT),
                  unpacked, crc, compression, solid=bool(compression & _R5_SOLID), blake2=blake2,
                  continued=bool(block_flags & _R5_CONTINUED))


# RAR 4.x


def _rar4_entries(data: bytes, budget: Budget, what: str) -> list[_Entry]:
    entries: list[_Entry] = []
    pos = len(RAR4)
    while pos + 7 <= len(data):
        budget.check_time()
        crc, kind, flags, size = struct.unpack_from("<HBHH", data, pos)
        if size < 7 or pos + size > len(data):
            raise Unscannable(f"{what}: damaged rar archive (a block of {size} bytes at {pos})")
        header = data[pos : pos + size]
        added = 0
        if flags & _R4_ADD_SIZE or kind == _R4_FILE:
            if size < 11:
                raise Unscannable(f"{what}: damaged rar archive (a file block without its size at {pos})")
            added = struct.unpack_from("<I", header, 7)[0]
        if kind in (_R4_MAIN, _R4_FILE, _R4_SUB, _R4_END) and zlib.crc32(header[2:_rar4_checked(header, kind, flags)]) & 0xFFFF != crc:
            raise Unscannable(f"{what}: damaged rar archive (header checksum at {pos})")
        if kind == _R4_MAIN and flags & _R4_HEADERS_ENCRYPTED:
            raise EncryptedContent(f"{what}: password-protected rar archive (names hidden too)")
        if kind == _R4_FILE:
            budget.enter(what)
            entry = _rar4_file(header, flags, pos + size, what)
            added = entry.size if entry is not None else _rar4_packed(header, flags)
            if entry is not None:
                entries.append(entry)
        elif kind == _R4_END:
            break
        if added > len(data) - pos - size:
            raise Unscannable(f"{what}: truncated rar archive (a block's data runs past the end)")
        pos += size + added
    return entries


def _rar4_checked(header: bytes, kind: int, flags: int) -> int:
    """Where a RAR 4.x block's CRC ends: the whole block, except that RAR 1.5-2.x keep a comment
    inside the main block (flag 0x02) or a file block (flag 0x08), after what the CRC covers."""
    if kind == _R4_MAIN and flags & 0x0002:
        return 13
    if kind == _R4_FILE and flags & 0x0008 and len(header) >= 32:
        name_size: int = struct.unpack_from("<H", header, 26)[0]
        return 32 + (8 if flags & _R4_LARGE else 0) + name_size
    return len(header)


def _rar4_packed(header: bytes, flags: int) -> int:
    packed: int = struct.unpack_from("<I", header, 7)[0]
    if flags & _R4_LARGE and len(header) >= 40:
        packed |= struct.unpack_from("<I", header, 32)[0] << 32
    return packed


def _rar4_file(header: bytes, flags: int, start: int, what: str) -> _Entry | None:
    """The entry of a RAR 4.x file block (None for a directory or a link)."""
    if len(header) < 32:
        raise Unscannable(f"{what}: damaged rar archive (a file block of {len(header)} bytes)")
    method, name_size = header[25], struct.unpack_from("<H", header, 26)[0]
    at = 32 + (8 if flags & _R4_LARGE else 0)
    if at + name_size > len(header):
        raise Unscannable(f"{what}: damaged rar archive (a name runs past its block)")
    if flags & _R4_DIRECTORY == _R4_DIRECTORY:
        return None
    if header[15] == _R4_UNIX and struct.unpack_from("<I", header, 28)[0] & 0xF000 == 0xA000:
        return None  # a symbolic link: its data is the path it points to
    name = _rar4_name(header[at : at + name_size], bool(flags & _R4_UNICODE)).replace("\\", "/")
    unpacked, crc = struct.unpack_from("<I", header, 11)[0], struct.unpack_from("<I", header, 16)[0]
    if flags & _R4_LARGE and len(header) >= 40:
        unpacked |= struct.unpack_from("<I", header, 36)[0] << 32
    return _Entry(name, start, _rar4_packed(header, flags), method == _R4_STORED, bool(flags & _R4_ENCRYPTED),
                  bool(flags & _R4_SPLIT), unpacked, crc, version=header[24], solid=bool(flags & _R4_SOLID),
                  continued=bool(flags & _R4_CONTINUED))


def _rar4_name(raw: bytes, unicode: bool) -> str:
    """A RAR 4.x name: bytes in the packer's code page, or with `unicode` those, a zero byte and
    RAR's compact encoding of the UTF-16 name relative to them (`_decode_unicode`)."""
    if unicode and b"\0" in raw:
        plain, _, encoded = raw.partition(b"\0")
        decoded = _decode_unicode(plain, encoded)
        if decoded:
            return decoded
        raw = plain
    elif unicode:
        return raw.decode("utf-8", "replace")  # newer packers write UTF-8 there
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp437")


def _decode_unicode(plain: bytes, encoded: bytes) -> str:
    """RAR 4.x's encoded Unicode name: a high byte, then groups of four 2-bit opcodes (a flag
    byte each): a low byte alone, a low byte with the high byte, two bytes, or a run copied from
    the plain name (with a correction added to each byte, under the high byte)."""
    if not encoded:
        return ""
    high, pos = encoded[0], 1
    out: list[int] = []
    flags, bits = 0, 0
    limit = max(len(plain), 1) * 4  # no longer than the plain name allows
    while pos < len(encoded) and len(out) < limit:
        if bits == 0:
            flags, bits, pos = encoded[pos], 8, pos + 1
            if pos >= len(encoded):
                break
        op = flags >> 6
        if op == 0:
            out.append(encoded[pos])
            pos += 1
        elif op == 1:
            out.append(encoded[pos] | high << 8)
            pos += 1
        elif op == 2:
            if pos + 1 >= len(encoded):
                break
            out.append(encoded[pos] | encoded[pos + 1] << 8)
            pos += 2
        else:
            length = encoded[pos]
            pos += 1
            if length & 0x80:
                if pos >= len(encoded):
                    break
                correction = encoded[pos]
                pos += 1
                for _ in range((length & 0x7F) + 2):
                    if len(out) >= len(plain):
                        break
                    out.append(((plain[len(out)] + correction) & 0xFF) | high << 8)
            else:
                for _ in range(length + 2):
                    if len(out) >= len(plain):
                        break
                    out.append(plain[len(out)])
        flags = (flags << 2) & 0xFF
        bits -= 2
    return b"".join(c.to_bytes(2, "little") for c in out).decode("utf-16-le", "replace").rstrip("\0")
