"""Decide what kind of content a byte string is: magic numbers first, then the file name."""

from __future__ import annotations

import zipfile
import zlib
from io import BytesIO

from rules.extract.access import is_access
from rules.extract.avro import is_avro
from rules.extract.dbase import is_dbase, is_memo_file
from rules.extract.disc import is_disc_image
from rules.extract.documents import is_mbox
from rules.extract.images import image_kind
from rules.extract.iwork import is_iwork
from rules.extract.lzw import is_compress
from rules.extract.markup import utf16_without_bom
from rules.extract.odf import is_flat_odf, is_odf_zip
from rules.extract.onenote import is_onenote
from rules.extract.orc import is_orc
from rules.extract.outlook import is_outlook_message
from rules.extract.parquet import is_parquet
from rules.extract.pst import is_pst
from rules.extract.tnef import is_tnef
from rules.extract.unix import AR_MAGIC, AR_THIN, is_cpio
from rules.extract.volume import is_virtual_disk, is_volume_or_partitioned
from rules.extract.xlsb import is_xlsb

_EXTENSIONS = {
    "txt": "text", "log": "text", "csv": "text", "tsv": "text", "md": "text", "markdown": "text",
    "json": "text", "jsonl": "text", "yaml": "text", "yml": "text", "ini": "text", "conf": "text",
    "py": "text", "js": "text", "ts": "text", "java": "text", "go": "text", "c": "text", "h": "text",
    "cpp": "text", "rs": "text", "sh": "text", "sql": "text", "env": "text", "pem": "text", "key": "text",
    "xml": "xml", "svg": "xml", "fodt": "xml", "fods": "xml", "fodp": "xml", "html": "html", "htm": "html", "xhtml": "html", "eml": "eml", "mht": "eml", "mhtml": "eml",
    "docx": "docx", "docm": "docx", "xlsx": "xlsx", "xlsm": "xlsx", "xlsb": "xlsb", "pptx": "pptx", "pptm": "pptx",
    "pdf": "pdf", "zip": "zip", "jar": "zip", "7z": "7z", "rar": "rar", "tar": "tar", "tgz": "tar", "gz": "gz",
}
#: What a compressed stream's content is called, by the stream's file name ending.
STREAM_NAMES = {".gz": "", ".tgz": ".tar", ".bz2": "", ".tbz2": ".tar", ".tbz": ".tar", ".xz": "", ".txz": ".tar",
                ".zst": "", ".tzst": ".tar", ".lzma": "", ".tlz": ".tar", ".lz": "", ".lz4": "", ".z": "", ".taz": ".tar"}
_BINARY_MAGIC = {
    b"Rar!": "RAR archive of an unknown version", b"\x7fELF": "executable", b"MZ": "executable",
}


#: macOS file metadata that Finder puts in every zip it makes (`__MACOSX/._NAME`, `.DS_Store`):
#: AppleDouble (RFC 1740), and the Finder's folder settings. Only files whose whole structure
#: checks count (the magic number alone would let any file pass for metadata).
_APPLE_DOUBLE = b"\x00\x05\x16\x07"
_APPLE_ENTRIES = frozenset({2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15})  # every kind but the data fork
#: A resource fork longer than this is content, not the empty one Finder writes (286 bytes).
MAX_RESOURCE_FORK = 4096
_DS_STORE = b"\x00\x00\x00\x01Bud1"
MAX_DS_STORE = 1 << 20


def _apple_double(data: bytes) -> bool:
    """An AppleDouble file of metadata only: known entries, each inside the file, together
    covering it to its end, no data fork, at most an empty-sized resource fork."""
    if len(data) < 26 or data[:4] != _APPLE_DOUBLE or data[4:8] not in (b"\x00\x01\x00\x00", b"\x00\x02\x00\x00"):
        return False
    count = int.from_bytes(data[24:26], "big")
    if not 0 < count <= 16 or 26 + 12 * count > len(data):
        return False
    end = 26 + 12 * count
    for at in range(26, 26 + 12 * count, 12):
        kind, offset, length = (int.from_bytes(data[at + i : at + i + 4], "big") for i in (0, 4, 8))
        if kind not in _APPLE_ENTRIES or offset + length > len(data) or (kind == 2 and length > MAX_RESOURCE_FORK):
            return False
        end = max(end, offset + length)
    return end == len(data)


def _ds_store(data: bytes) -> bool:
    """A Finder `.DS_Store`: its header's two copies of the root block's offset agree and the
    block lies inside the file, which is no larger than `MAX_DS_STORE`."""
    if len(data) < 36 or data[:8] != _DS_STORE or len(data) > MAX_DS_STORE:
        return False
    offset, size, again = (int.from_bytes(data[i : i + 4], "big") for i in (8, 12, 16))
    return offset == again and 4 + offset + size <= len(data)


def _lzma_alone(data: bytes) -> bool:
    """The header of the LZMA "alone" format (`lzma`, `xz --format=lzma`): it has no magic
    number, so all of it must be plausible: properties lc/lp/pb below 225, a dictionary of 2^n or
    2^n + 2^(n-1) bytes from 4 KiB to 1.5 GiB, a size that is unknown (all ones) or below 1 TiB."""
    if len(data) < 14 or data[0] >= 225:
        return False
    dictionary, size = int.from_bytes(data[1:5], "little"), int.from_bytes(data[5:13], "little")
    if not 1 << 12 <= dictionary <= 3 << 29:
        return False
    top = 1 << (dictionary.bit_length() - 1)
    return dictionary in (top, top + top // 2) and (size == (1 << 64) - 1 or size < 1 << 40)


def extension(name: str) -> str:
    base = name.rsplit("/", 1)[-1].lower()
    return base.rsplit(".", 1)[-1] if "." in base else ""


def _zip_kind(data: bytes) -> str:
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        names = set(archive.namelist())
        if "mimetype" in names and "content.xml" in names and archive.getinfo("mimetype").file_size < 256:
            return "odf" if is_odf_zip(names, archive.read("mimetype")) else "zip"
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, zlib.error, KeyError,
            RuntimeError):  # RuntimeError: a member marked encrypted
        return "zip"
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if is_xlsb(names):
        return "xlsb"
    if "ppt/presentation.xml" in names:
        return "pptx"
    return "iwork" if is_iwork(names) else "zip"


def _text_or_binary(data: bytes, ext: str) -> str:
    kind = _EXTENSIONS.get(ext, "")
    if kind in ("text", "xml", "html", "eml"):
        return kind
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" not in head or utf16_without_bom(head):
        stripped = head.lstrip()[:64].lower()
        if stripped.startswith((b"<!doctype html", b"<html")):
            return "html"
        return "xml" if stripped.startswith(b"<?xml") else "text"
    return "binary"


def sniff(data: bytes, name: str) -> str:
    """One of text, xml, html, rtf, eml, mbox, msg, pst, onenote, tnef, docx, xlsx, xlsb, pptx, odf, iwork, metadata, pdf, zip, 7z, rar, cab, disc, disk, tar, cpio, ar, sqlite, access, parquet, orc, avro, dbase, dbase-memo, gz, bz2, xz, zst, lzma, lz, lz4, Z, cfb, image/<format>
    (png, jpeg, gif, bmp, tiff, webp), binary:<what>."""
    ext = extension(name)
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _zip_kind(data)
    if data.startswith(b"PK\x07\x08PK\x03\x04"):  # the first volume of a split zip
        return "zip"
    if data.startswith(b"%PDF-") or (ext == "pdf" and b"%PDF-" in data[:1024]):
        return "pdf"
    if data.startswith(b"\x1f\x8b\x08") and len(data) > 3 and not data[3] & 0xE0:  # deflate, no reserved flag
        return "gz"
    if is_compress(data):
        return "Z"
    if data.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if data.startswith((b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01\x00")):
        return "rar"
    if data.startswith((b"\x04\x22\x4d\x18", b"\x02\x21\x4c\x18")):
        return "lz4"  # a frame, or the legacy format
    if data.startswith(b"LZIP\x01"):
        return "lz"
    if is_memo_file(data, name):  # named .dbt or .fpt: before the weak test of .lzma's header
        return "dbase-memo"
    if _lzma_alone(data):
        return "lzma"
    if data.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if is_access(data):
        return "access"
    if is_parquet(data):
        return "parquet"
    if is_orc(data):
        return "orc"
    if is_avro(data):
        return "avro"
    if is_cpio(data):
        return "cpio"
    if data.startswith((AR_MAGIC, AR_THIN)):
        return "ar"
    if data.startswith(b"MSCF\x00\x00\x00\x00"):
        return "cab"
    if data.startswith(b"(\xb5/\xfd"):
        return "zst"
    if data.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if data[:3] == b"BZh" and data[3:4] in b"123456789" and data[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return "bz2"  # a block, or the end of an empty stream
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "msg" if is_outlook_message(data) else "cfb"
    if is_pst(data):
        return "pst"
    if is_onenote(data):
        return "onenote"
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar"
    if is_tnef(data):
        return "tnef"
    image = image_kind(data)  # strong magic numbers, before the disk checks' weaker ones
    if image is not None:
        return image
    if is_disc_image(data):
        return "disc"
    if is_virtual_disk(data) or is_volume_or_partitioned(data):
        return "disk"
    if _apple_double(data) or _ds_store(data):
        return "metadata"
    if data[:6] == b"{\\rtf1" or (data[:1] in b" \t\r\n" and data.lstrip()[:6] == b"{\\rtf1"):
        return "rtf"
    if is_dbase(data):  # no magic number: after every format that has one
        return "dbase"
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            return f"binary:{what}"
    kind = _text_or_binary(data, ext)
    if kind == "text" and data[:5] == b"From " and is_mbox(data):
        return "mbox"
    return "odf" if kind == "xml" and is_flat_odf(data) else kind


def stream_content_name(path: str) -> str:
    """The name of what a compressed stream at `path` holds: `a.csv.xz` -> `a.csv`, `a.tgz` -> `a.tar`."""
    for ending, becomes in STREAM_NAMES.items():
        if path.lower().endswith(ending):
            return path[: -len(ending)] + becomes
    return path
