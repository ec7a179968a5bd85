"""Decide what kind of content a byte string is: magic numbers first, then the file name."""

from __future__ import annotations

import zipfile
import zlib
from io import BytesIO

from rules.extract.images import image_kind
from rules.extract.odf import is_flat_odf, is_odf_zip
from rules.extract.outlook import is_outlook_message

_EXTENSIONS = {
    "txt": "text", "log": "text", "csv": "text", "tsv": "text", "md": "text", "markdown": "text",
    "json": "text", "jsonl": "text", "yaml": "text", "yml": "text", "ini": "text", "conf": "text",
    "py": "text", "js": "text", "ts": "text", "java": "text", "go": "text", "c": "text", "h": "text",
    "cpp": "text", "rs": "text", "sh": "text", "sql": "text", "env": "text", "pem": "text", "key": "text",
    "xml": "xml", "svg": "xml", "fodt": "xml", "fods": "xml", "fodp": "xml", "html": "html", "htm": "html", "xhtml": "html", "eml": "eml",
    "docx": "docx", "docm": "docx", "xlsx": "xlsx", "xlsm": "xlsx", "pptx": "pptx", "pptm": "pptx",
    "pdf": "pdf", "zip": "zip", "jar": "zip", "7z": "7z", "rar": "rar", "tar": "tar", "tgz": "tar", "gz": "gz",
}
#: What a compressed stream's content is called, by the stream's file name ending.
STREAM_NAMES = {".gz": "", ".tgz": ".tar", ".bz2": "", ".tbz2": ".tar", ".tbz": ".tar", ".xz": "", ".txz": ".tar"}
_BINARY_MAGIC = {
    b"Rar!": "RAR archive of an unknown version", b"\x7fELF": "executable", b"MZ": "executable", b"(\xb5/\xfd": "zstd stream",
}


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
    if "ppt/presentation.xml" in names:
        return "pptx"
    return "zip"


def _text_or_binary(data: bytes, ext: str) -> str:
    kind = _EXTENSIONS.get(ext, "")
    if kind in ("text", "xml", "html", "eml"):
        return kind
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" not in head:
        stripped = head.lstrip()[:64].lower()
        if stripped.startswith((b"<!doctype html", b"<html")):
            return "html"
        return "xml" if stripped.startswith(b"<?xml") else "text"
    return "binary"


def sniff(data: bytes, name: str) -> str:
    """One of text, xml, html, rtf, eml, msg, docx, xlsx, pptx, odf, pdf, zip, 7z, rar, tar, gz, bz2, xz, cfb, image/<format>
    (png, jpeg, gif, bmp, tiff, webp), binary:<what>."""
    ext = extension(name)
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _zip_kind(data)
    if data.startswith(b"%PDF-") or (ext == "pdf" and b"%PDF-" in data[:1024]):
        return "pdf"
    if data.startswith(b"\x1f\x8b"):
        return "gz"
    if data.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if data.startswith((b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01\x00")):
        return "rar"
    if data.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if data[:3] == b"BZh" and data[3:4] in b"123456789" and data[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return "bz2"  # a block, or the end of an empty stream
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "msg" if is_outlook_message(data) else "cfb"
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar"
    if data[:6] == b"{\\rtf1" or (data[:1] in b" \t\r\n" and data.lstrip()[:6] == b"{\\rtf1"):
        return "rtf"
    image = image_kind(data)
    if image is not None:
        return image
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            return f"binary:{what}"
    kind = _text_or_binary(data, ext)
    return "odf" if kind == "xml" and is_flat_odf(data) else kind


def stream_content_name(path: str) -> str:
    """The name of what a compressed stream at `path` holds: `a.csv.xz` -> `a.csv`, `a.tgz` -> `a.tar`."""
    for ending, becomes in STREAM_NAMES.items():
        if path.lower().endswith(ending):
            return path[: -len(ending)] + becomes
    return path
