"""Apple iWork documents (Pages, Numbers and Keynote since 2013): their text.

A document is a zip: `Index/*.iwa` holds its objects (older bundles keep them in an `Index.zip`
inside), `Data/` its pictures (read by OCR when there is OCR, as an Office file's), `Metadata/` a
few property lists. An IWA file is a run of chunks,
each a type byte (0) and a 24-bit little-endian length, then raw Snappy data without the framing
format's checksum; the chunks' output, joined, is a stream of objects: a varint length, an
`ArchiveInfo` protobuf message (the object's id; for each payload its type and length), then the
payloads, each a protobuf message of one of Apple's types.

Apple publishes no schema. The payload types that hold a document's words are known from the
applications' type registry (as dumped by the iWorkFileFormat project): text storages (the body
of a Pages document, text boxes, shapes, slide text and notes, table cells with rich text),
comments, tables' names and the shared string lists that hold Numbers cells. Those payloads are
read without a schema: every length-delimited field that is UTF-8 text (letters, digits,
spaces, punctuation; no control characters but line breaks and tabs) is a string of the
document; one that is not is walked as a message when it parses as one; the rest is binary and
left. Strings come out one to a line, the document's own objects (`Document.iwa`) first. The
other payloads (styles, themes, the locale's month names, chart settings) are not read. Numbers
held as numbers (a cell typed as a number, not text) are doubles and are not read back as text.

A password-locked document encrypts its files with AES and carries a password verifier
(`.iwpv2`): it is `EncryptedContent`. Every size is checked before it is used, Snappy output is
spent from the budget as it grows, and nesting is bounded: damage is `Unscannable`.
"""

from __future__ import annotations

import re
import zipfile
from io import BytesIO

from rules.extract.budget import Budget, EncryptedContent, Unscannable
from rules.extract.office import read_member

_MAX_DEPTH = 24  # messages inside messages
#: Payload types with a document's words: TSWP.StorageArchive (2001, 2005), TSD.CommentStorageArchive
#: (3056), TST.TableModelArchive (6001: a table's name), TST.TableDataList (6005, 6201: cell strings).
TEXT_TYPES = frozenset({2001, 2005, 3056, 6001, 6005, 6201})
_TEXT = re.compile(r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]+")
_LINE_BREAKS = str.maketrans({"\u2028": "\n", "\u2029": "\n", "\ufffc": " "})  # breaks, object placeholders


def is_iwork(names: set[str]) -> bool:
    """Whether a zip's member names are an iWork document's."""
    metadata = {"Metadata/DocumentIdentifier", "Metadata/Properties.plist", "Metadata/BuildVersionHistory.plist"}
    return "Index/Document.iwa" in names or ("Index.zip" in names and not metadata.isdisjoint(names))


def iwork_text(data: bytes, budget: Budget, what: str) -> str:
    """The strings of an iWork document, one to a line."""
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        members = {info.filename: info for info in archive.infolist()}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise Unscannable(f"{what}: corrupt iWork document ({exc})") from None
    if any(name.endswith(".iwpv2") for name in members):
        raise EncryptedContent(f"{what}: password-protected iWork document")
    if "Index.zip" in members and "Index/Document.iwa" not in members:
        inner = read_member(archive, members["Index.zip"], budget, what)
        try:
            archive = zipfile.ZipFile(BytesIO(inner))
            members = {info.filename: info for info in archive.infolist()}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
            raise Unscannable(f"{what}/Index.zip: corrupt ({exc})") from None
    names = sorted((n for n in members if n.startswith("Index/") and n.endswith(".iwa")),
                   key=lambda n: (n != "Index/Document.iwa", n))
    if not names:
        raise Unscannable(f"{what}: iWork document without its Index")
    lines: list[str] = []
    for name in names:
        budget.enter(what)
        stream = unsnappy_chunks(read_member(archive, members[name], budget, what), budget, f"{what}/{name}")
        for kind, payload in _payloads(stream, f"{what}/{name}"):
            if kind in TEXT_TYPES:
                _strings(payload, lines, 0)
        budget.check_time()
    return "\n".join(lines)


def unsnappy_chunks(data: bytes, budget: Budget, what: str) -> bytes:
    """The bytes an IWA file's Snappy chunks stand for."""
    out = bytearray()
    pos = 0
    while pos < len(data):
        if pos + 4 > len(data) or data[pos] != 0:
            raise Unscannable(f"{what}: damaged IWA (a chunk header at {pos})")
        size = int.from_bytes(data[pos + 1 : pos + 4], "little")
        if pos + 4 + size > len(data):
            raise Unscannable(f"{what}: truncated IWA (a chunk of {size} bytes at {pos})")
        out += unsnappy(data[pos + 4 : pos + 4 + size], budget, what)
        pos += 4 + size
    return bytes(out)


def unsnappy(data: bytes, budget: Budget, what: str) -> bytes:
    """Raw Snappy: a varint of the output's length, then literals and copies."""
    size, pos = _varint(data, 0, what)
    if size > budget.allowance():
        budget.spend(size, what)
    out = bytearray()
    while pos < len(data):
        tag = data[pos]
        kind, pos = tag & 3, pos + 1
        if kind == 0:  # a literal: its length in the tag, or in 1-4 bytes after it
            length = tag >> 2
            if length >= 60:
                width = length - 59
                length = int.from_bytes(data[pos : pos + width], "little")
                pos += width
            length += 1
            if pos + length > len(data):
                raise Unscannable(f"{what}: damaged Snappy data (a literal runs past the end)")
            out += data[pos : pos + length]
            pos += length
            continue
        if kind == 1:
            length, offset = 4 + (tag >> 2 & 7), (tag >> 5) << 8 | (data[pos] if pos < len(data) else 0)
            pos += 1
        else:
            width = 2 if kind == 2 else 4
            length, offset = (tag >> 2) + 1, int.from_bytes(data[pos : pos + width], "little")
            pos += width
        if not 0 < offset <= len(out) or pos > len(data):
            raise Unscannable(f"{what}: damaged Snappy data (a copy {offset} bytes back, {len(out)} written)")
        start = len(out) - offset
        out += (out[start:] * (length // offset + 1))[:length] if offset < length else out[start : start + length]
        if len(out) > size:
            break
    if len(out) != size:
        raise Unscannable(f"{what}: damaged Snappy data ({len(out)} bytes, {size} said)")
    budget.spend(size, what)
    return bytes(out)


def _payloads(stream: bytes, what: str) -> list[tuple[int, bytes]]:
    """(type, payload) of each object's payloads, in order."""
    payloads = []
    pos = 0
    while pos < len(stream):
        size, pos = _varint(stream, pos, what)
        if pos + size > len(stream):
            raise Unscannable(f"{what}: damaged IWA (an object header runs past the end)")
        header = protobuf_fields(stream[pos : pos + size])
        if header is None:
            raise Unscannable(f"{what}: damaged IWA (an object header at {pos})")
        infos = [_message_info(info, what) for field, info in header if field == 2 and isinstance(info, bytes)]
        pos += size
        for kind, length in infos:
            if pos + length > len(stream):
                raise Unscannable(f"{what}: damaged IWA (a payload runs past the end)")
            payloads.append((kind, stream[pos : pos + length]))
            pos += length
    return payloads


def _message_info(info: bytes, what: str) -> tuple[int, int]:
    """(type, length) of a MessageInfo."""
    values = {field: value for field, value in protobuf_fields(info) or [] if isinstance(value, int)}
    if 3 not in values:
        raise Unscannable(f"{what}: damaged IWA (a payload without its length)")
    return values.get(1, 0), values[3]


def _strings(message: bytes, lines: list[str], depth: int) -> bool:
    """Adds a message's strings to `lines`; False when `message` does not parse as one."""
    fields = protobuf_fields(message)
    if fields is None:
        return False
    for _, value in fields:
        if not isinstance(value, bytes) or not value:
            continue
        text = _as_text(value)
        if text is not None:
            lines.append(text)
        elif depth < _MAX_DEPTH:
            _strings(value, lines, depth + 1)
    return True


def _as_text(value: bytes) -> str | None:
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not _TEXT.fullmatch(text) or not any(ch.isalnum() for ch in text):
        return None
    return text.translate(_LINE_BREAKS).strip() or None


def protobuf_fields(message: bytes) -> list[tuple[int, int | bytes]] | None:
    """(field number, value) of each field: an int for varints and fixed numbers, bytes for
    length-delimited ones; None when the bytes are not a protobuf message."""
    fields: list[tuple[int, int | bytes]] = []
    pos = 0
    try:
        while pos < len(message):
            key, pos = _varint(message, pos, "")
            field, wire = key >> 3, key & 7
            if field == 0:
                return None
            if wire == 0:
                value, pos = _varint(message, pos, "")
            elif wire == 1 or wire == 5:
                width = 8 if wire == 1 else 4
                if pos + width > len(message):
                    return None
                value, pos = int.from_bytes(message[pos : pos + width], "little"), pos + width
            elif wire == 2:
                size, pos = _varint(message, pos, "")
                if pos + size > len(message):
                    return None
                fields.append((field, message[pos : pos + size]))
                pos += size
                continue
            else:
                return None
            fields.append((field, value))
    except Unscannable:
        return None
    return fields


def _varint(data: bytes, pos: int, what: str) -> tuple[int, int]:
    value = 0
    for shift in range(0, 70, 7):
        if pos >= len(data):
            break
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
    raise Unscannable(f"{what}: damaged IWA (a number runs past its end)")
