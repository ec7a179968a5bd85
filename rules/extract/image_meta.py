"""Text kept in an image's metadata: a place to hide words that OCR never sees.

A camera, Windows Explorer's Properties dialog, a photo editor or `exiftool` can write any text
into a picture without changing a pixel: a JPEG comment, EXIF's description, artist, copyright
and user comment, Windows' title, comment, author, keywords and subject (XP tags, UTF-16), IPTC
captions and keywords, XMP packets, PNG's text chunks (tEXt, zTXt compressed, iTXt in UTF-8,
anywhere in the file), a GIF comment. All of them are read here, without decoding a pixel, and
go beside what OCR reads of the image.

Nothing here trusts the file: Pillow reads the headers, PNG chunks are walked with their lengths
checked, compressed text is inflated to `MAX_METADATA` at most, and damage gives what could be
read (the OCR path names a corrupt image), never an exception.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from collections.abc import Iterator
from io import BytesIO
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

#: Bytes of metadata text read from one image, at most.
MAX_METADATA = 1 << 20
#: EXIF tags of the first IFD that hold text a person typed, and Windows' XP tags (UTF-16).
_EXIF_TEXT = (0x010E, 0x013B, 0x8298, 0x9C9B, 0x9C9C, 0x9C9D, 0x9C9E, 0x9C9F)
_EXIF_IFD, _USER_COMMENT = 0x8769, 0x9286
#: IPTC datasets of record 2 that hold text: object name, keywords, headline, caption and more.
_IPTC_TEXT = frozenset({5, 15, 20, 25, 40, 55, 80, 85, 90, 92, 95, 100, 101, 103, 105, 110, 115, 116, 118, 120,
                        122})
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def image_metadata(data: bytes) -> str:
    """The text of an image's metadata, one value a line, each once ("" when it has none)."""
    values: list[str] = []
    size = 0
    for value in _values(data):
        value = value.replace("\0", " ").strip()
        if value and value not in values:
            values.append(value)
            size += len(value)
            if size >= MAX_METADATA:
                break
    return "\n".join(values)[:MAX_METADATA]


def _values(data: bytes) -> Iterator[str]:
    if data.startswith(_PNG_SIGNATURE):
        yield from _png_text(data)
    from PIL import Image, UnidentifiedImageError

    from rules.extract.images import DECODED_FOR_OCR, image_kind

    if image_kind(data) in DECODED_FOR_OCR:
        return  # parsed only in the OCR worker (`images.open_heif`)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(BytesIO(data)) as img:
                yield from _pillow_values(img)
    except (Image.DecompressionBombError, UnidentifiedImageError, OSError, ValueError, SyntaxError, struct.error,
            IndexError, KeyError, TypeError, AttributeError, ZeroDivisionError, RecursionError, EOFError):
        return  # what was read stays; OCR names a corrupt image


def _pillow_values(img: Image.Image) -> Iterator[str]:
    from PIL import IptcImagePlugin

    for key in ("comment", "Comment", "Description"):  # JPEG's COM, GIF's comment extension
        value = img.info.get(key)
        if isinstance(value, bytes | str):
            yield _text(value)
    xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
    if isinstance(xmp, bytes | str):
        yield from _xmp_text(xmp if isinstance(xmp, bytes) else xmp.encode("utf-8", "replace"))
    exif = img.getexif()
    for tag in _EXIF_TEXT:
        value = exif.get(tag)
        if value is not None:
            yield _xp_text(value) if tag >= 0x9C9B else _text(value)
    comment = exif.get_ifd(_EXIF_IFD).get(_USER_COMMENT)
    if isinstance(comment, bytes | str):
        yield _user_comment(comment)
    if img.format in ("JPEG", "TIFF"):
        for (record, dataset), value in (IptcImagePlugin.getiptcinfo(img) or {}).items():  # type: ignore[arg-type]
            if record == 2 and dataset in _IPTC_TEXT:
                yield from (_text(v) for v in (value if isinstance(value, list) else [value]))


def _png_text(data: bytes) -> Iterator[str]:
    """tEXt, zTXt and iTXt chunks wherever they lie, and an XMP packet in iTXt."""
    at = len(_PNG_SIGNATURE)
    while at + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        body = data[at + 8 : at + 8 + length]
        at += 12 + length
        if len(body) < length or kind == b"IEND":
            return
        keyword, _, rest = body.partition(b"\0")
        if kind == b"tEXt":
            yield rest.decode("latin-1")
        elif kind == b"zTXt" and rest[:1] == b"\0":
            yield _inflated(rest[1:]).decode("latin-1")
        elif kind == b"iTXt" and len(rest) >= 2:
            compressed, _, tail = rest[0], rest[1], rest[2:]
            text = tail.split(b"\0", 2)[-1] if tail.count(b"\0") >= 2 else b""
            text = _inflated(text) if compressed else text
            if keyword == b"XML:com.adobe.xmp":
                yield from _xmp_text(text)
            else:
                yield text.decode("utf-8", "replace")


def _inflated(data: bytes) -> bytes:
    try:
        return zlib.decompressobj().decompress(data, MAX_METADATA)
    except zlib.error:
        return b""


def _xmp_text(packet: bytes) -> Iterator[str]:
    """The text of an XMP packet's elements and attributes (its values: a title, a description,
    keywords), not its names."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    start = packet.find(b"<x:xmpmeta")
    end = packet.find(b"</x:xmpmeta>")
    if start < 0 or end < 0:
        return
    try:
        root = ElementTree.fromstring(packet[start : end + len(b"</x:xmpmeta>")])
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        return
    for element in root.iter():
        if element.text and element.text.strip():
            yield element.text
        yield from (value for name, value in element.attrib.items() if not name.startswith("{http://www.w3.org/"))


def _text(value: object) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    return value if isinstance(value, str) else ""


def _xp_text(value: object) -> str:
    """Windows' XP tags: UTF-16 little-endian, as bytes or as a tuple of byte values."""
    raw = bytes(value) if isinstance(value, tuple) and all(isinstance(v, int) and 0 <= v < 256 for v in value) else value
    return raw.decode("utf-16-le", "replace") if isinstance(raw, bytes) else _text(raw)


def _user_comment(value: bytes | str) -> str:
    """EXIF's user comment: an 8-byte character code, then the text in it."""
    if isinstance(value, str):
        return value
    code, text = value[:8], value[8:]
    if code.startswith(b"UNICODE"):
        big = text[:1] == b"\0" and text[1:2] != b"\0"
        return text.decode("utf-16-be" if big else "utf-16-le", "replace")
    return _text(text)
