"""Turn any uploaded or copied file into text for the detectors, safely.

`extract` never raises on bad input: bombs, truncated or malformed files and limits give status
``unscannable`` with a reason; password-protected content gives ``encrypted`` so that policy can
block it. Whatever could be read before a problem is still returned in `text`.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import BinaryIO, cast

from rules.extract.access import access_content, is_access
from rules.extract.archive import TruncatedStream, tar_members, unpack_stream_cut, zip_members
from rules.extract.avro import avro_content
from rules.extract.budget import DEFAULT_LIMITS, Budget, EncryptedContent, Limits, Unscannable
from rules.extract.cab import cab_members
from rules.extract.dbase import dbase_content, is_dbase, memo_content
from rules.extract.disc import disc_members, is_disc_image
from rules.extract.documents import email_content, mbox_messages, pdf_content
from rules.extract.encoded import encoded_blocks
from rules.extract.image_meta import image_metadata
from rules.extract.images import image_text
from rules.extract.iwork import iwork_text
from rules.extract.legacy import legacy_text
from rules.extract.markup import decode_text, element_text, html_content, html_text, parse_xml, printable_runs
from rules.extract.odf import odf_objects, odf_text
from rules.extract.office import flat_office_text, office_embeddings, office_pictures, office_text
from rules.extract.onenote import is_onenote, onenote_content
from rules.extract.orc import is_orc, orc_content
from rules.extract.outlook import outlook_content
from rules.extract.parquet import is_parquet, parquet_content
from rules.extract.pst import is_pst, pst_messages
from rules.extract.rar import rar_members
from rules.extract.rtf import rtf_text
from rules.extract.sealed import detached_signature, openpgp_literal, sealed, sealed_blocks, signed_content
from rules.extract.sevenzip import later_part, seven_zip_members
from rules.extract.sniff import sniff, stream_content_name
from rules.extract.sqlite import sqlite_content
from rules.extract.tnef import tnef_content
from rules.extract.unix import ar_members, cpio_members
from rules.extract.volume import disk_members, is_virtual_disk, is_volume_or_partitioned
from rules.extract.xlsb import xlsb_content
from rules.extract.xmlsheet import is_spreadsheet_2003, spreadsheet_2003_text
from rules.extract.zip_local import later_volume, volume_members

__all__ = ["DEFAULT_LIMITS", "Extraction", "Limits", "Part", "extract", "extract_path"]

_STATUS_RANK = {"ok": 0, "unscannable": 1, "encrypted": 2}


@dataclass(frozen=True, slots=True)
class Part:
    """One file inside the input (the input itself, or an archive member / attachment).

    `start`/`end` locate its text inside `Extraction.text`.
    """

    path: str
    kind: str
    start: int
    end: int
    status: str = "ok"
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Extraction:
    text: str
    status: str  # "ok" | "unscannable" | "encrypted"
    reason: str | None
    parts: tuple[Part, ...]
    file_type: str


class _Collector:
    def __init__(self, limits: Limits, size: int) -> None:
        self.budget = Budget(limits, size)
        self.texts: list[str] = []
        self.length = 0
        self.parts: list[Part] = []

    def add(self, path: str, kind: str, text: str) -> None:
        room = self.budget.limits.max_text_chars - self.length
        if len(text) > room:
            text = text[: max(room, 0)]
            self.parts.append(Part(path, kind, self.length, self.length, "unscannable", "text limit reached"))
        self.parts.append(Part(path, kind, self.length, self.length + len(text)))
        self.texts.append(text + "\n")
        self.length += len(text) + 1

    def fail(self, path: str, kind: str, status: str, reason: str) -> None:
        self.parts.append(Part(path, kind, self.length, self.length, status, reason))


def extract(data: bytes, filename: str, *, limits: Limits = DEFAULT_LIMITS) -> Extraction:
    """Extract the text of `data` (named `filename`, used only as a hint)."""
    kind = sniff(data, filename)
    if len(data) > limits.max_input_bytes:
        return _too_big(filename, kind, f"input of {len(data)} bytes is above the limit of {limits.max_input_bytes}")
    collector = _Collector(_mailbox_limits(limits, len(data)) if kind == "pst" else limits, len(data))
    _extract_into(collector, data, filename, kind, 0)
    return _result(collector, kind)


#: A mailbox file's entry cap grows with its size, one message or attachment per this many bytes:
#: an exported mailbox of years holds tens of thousands of items, each at least a block and a node.
BYTES_PER_MAILBOX_ENTRY = 2048


def _mailbox_limits(limits: Limits, size: int) -> Limits:
    return replace(limits, max_entries=max(limits.max_entries, size // BYTES_PER_MAILBOX_ENTRY))


def extract_path(path: str, *, limits: Limits = DEFAULT_LIMITS) -> Extraction:
    """Extract the text of the file at `path`. A file up to `limits.max_input_bytes` is read and
    handed to `extract`; a larger one is opened as a memory map, and read when it is a disc or disk
    image, an Outlook data file, a OneNote section, an Access database, a Parquet or ORC file or a dBASE
    table of at most
    `limits.max_image_bytes` (an ISO, a VHD, a .pst, a notebook with videos in it or a customer
    table, of a few hundred MB), its files, messages or rows taken out one by one; any other
    large file is `unscannable` without being read."""
    with open(path, "rb") as handle:
        return extract_open(handle, path, limits=limits)


def extract_open(handle: BinaryIO, path: str, *, limits: Limits = DEFAULT_LIMITS) -> Extraction:
    """`extract_path` of a file already open (the agent hands one to a worker that may not open
    it by name)."""
    size = os.fstat(handle.fileno()).st_size
    if size <= limits.max_input_bytes:
        return extract(handle.read(limits.max_input_bytes + 1), path, limits=limits)
    try:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, OverflowError) as exc:  # an address-space cap, a special file
        return _too_big(path, "binary", f"input of {size} bytes cannot be mapped ({exc})")
    with mapped:
        image = cast(bytes, mapped)  # the image readers only slice, compare, search and unpack it
        kind = ("disc" if is_disc_image(image) else "disk" if is_virtual_disk(image) or is_volume_or_partitioned(image)
                else "pst" if is_pst(image) else "onenote" if is_onenote(image)
                else "access" if is_access(image) else "parquet" if is_parquet(image) else "orc" if is_orc(image)
                else "dbase" if is_dbase(image) else None)
        if kind is None or size > limits.max_image_bytes:
            limit = limits.max_input_bytes if kind is None else limits.max_image_bytes
            return _too_big(path, kind or "binary", f"input of {size} bytes is above the limit of {limit}")
        # an image's files and a mailbox's messages are stored: as much may come out as went in
        stored = replace(limits, max_expanded_bytes=max(limits.max_expanded_bytes, size))
        collector = _Collector(_mailbox_limits(stored, size) if kind == "pst" else stored, size)
        _extract_into(collector, image, path, kind, 0)
        return _result(collector, kind)


def _too_big(path: str, kind: str, reason: str) -> Extraction:
    return Extraction("", "unscannable", reason, (Part(path, kind, 0, 0, "unscannable", reason),), kind)


def _result(collector: _Collector, kind: str) -> Extraction:
    # the worst status; among parts equally bad, the outermost (a cut archive's own reason before
    # that of the member it cut), then the first
    worst = max(collector.parts, key=lambda p: (_STATUS_RANK[p.status], -p.path.count("/")), default=None)
    status = worst.status if worst is not None else "ok"
    reason = worst.reason if worst is not None and status != "ok" else None
    return Extraction("".join(collector.texts), status, reason, tuple(collector.parts), kind)


def _extract_into(collector: _Collector, data: bytes, path: str, kind: str, depth: int) -> None:
    try:
        if depth > collector.budget.limits.max_depth:
            raise Unscannable(f"{path}: nested deeper than {collector.budget.limits.max_depth} levels")
        _dispatch(collector, data, path, kind, depth)
    except EncryptedContent as exc:
        collector.fail(path, kind, "encrypted", str(exc))
    except Unscannable as exc:
        collector.fail(path, kind, "unscannable", str(exc))
    except RecursionError:
        collector.fail(path, kind, "unscannable", f"{path}: structure nested too deeply")
    except MemoryError:
        collector.fail(path, kind, "unscannable", f"{path}: too large to hold in memory")


_ARCHIVES: dict[str, Callable[[bytes, Budget, str], Iterable[tuple[str, bytes]]]] = {
    "zip": zip_members, "tar": tar_members, "7z": seven_zip_members, "rar": rar_members,
    "disc": disc_members, "cab": cab_members, "cpio": cpio_members, "ar": ar_members,
    "disk": disk_members,
}


def _dispatch(collector: _Collector, data: bytes, path: str, kind: str, depth: int) -> None:
    budget = collector.budget
    if kind == "mbox":  # a mailbox: each message an e-mail
        for name, message in mbox_messages(data, budget, path):
            _extract_into(collector, message, f"{path}/{name}", "eml", depth + 1)
    elif kind in _ARCHIVES:
        try:
            _members(collector, _ARCHIVES[kind](data, budget, path), path, depth)
        except TruncatedStream as headless:  # no list of files: the start of their contents, as far as it goes
            collector.fail(path, kind, "unscannable", str(headless))
            start_name = f"{path}/start of the packed files"
            _extract_into(collector, headless.partial, start_name, sniff(headless.partial, start_name), depth + 1)
    elif kind in ("gz", "bz2", "xz", "zst", "lzma", "lz", "lz4", "Z"):
        inner, cut = unpack_stream_cut(data, kind, budget, path)
        inner_name = stream_content_name(path)
        if cut is not None:  # cut short: the file unscannable (its reason first), what it held read
            collector.fail(path, kind, "unscannable", f"{cut}, read as far as it goes ({len(inner)} bytes)")
        if inner or cut is None:
            _extract_into(collector, inner, inner_name, sniff(inner, inner_name), depth + 1)
    elif kind == "sqlite":
        text, blobs, problem = sqlite_content(data, budget, path)
        _database(collector, path, kind, (text, blobs, [problem] if problem else []), depth)
    elif kind == "access":
        _database(collector, path, kind, access_content(data, budget, path), depth)
    elif kind == "dbase-memo":
        memo_text, memo_problems = memo_content(data, budget, path, path)
        _database(collector, path, kind, (memo_text, [], memo_problems), depth)
    elif kind in ("parquet", "orc", "dbase", "avro"):
        reader = {"parquet": parquet_content, "orc": orc_content, "dbase": dbase_content, "avro": avro_content}[kind]
        table_text, table_problems = reader(data, budget, path)
        _database(collector, path, kind, (table_text, [], table_problems), depth)
    elif kind == "xlsb":
        text, problem = xlsb_content(data, budget, path)
        collector.add(path, kind, text)
        if problem is not None:
            collector.fail(path, kind, "unscannable", problem)
        _members(collector, office_embeddings(data, budget, path), path, depth)
        if budget.limits.ocr is not None:
            _members(collector, office_pictures(data, budget, path), path, depth)
    elif kind == "pdf":
        text, problem, attached = pdf_content(data, budget, path)
        collector.add(path, kind, text)
        if problem is not None:
            collector.fail(path, kind, "unscannable", problem)
        _members(collector, attached, path, depth)  # files attached to the PDF
    elif kind == "html":
        text, inlined = html_content(decode_text(data))
        collector.add(path, kind, text)
        _sealed_blocks(collector, data, path, kind)
        for _, payload in inlined:  # files inlined as data: URIs
            budget.enter(path)
            budget.spend(len(payload), path)
        _members(collector, inlined, path, depth)
    elif kind in ("eml", "msg", "tnef"):
        problems: list[str] = []
        if kind == "eml":
            text, attachments = email_content(data, budget, path)
        elif kind == "msg":
            text, attachments, problems = outlook_content(data, budget, path)
        else:  # winmail.dat: Outlook's message inside an e-mail
            text, attachments, problems = tnef_content(data, budget, path)
        _message(collector, path, kind, (text, attachments, problems), depth)
    elif kind == "onenote":  # a notebook section: its pages' text, then the files inserted into them
        text, files, problems = onenote_content(data, budget, path)
        _message(collector, path, kind, (text, files, problems), depth)
    elif kind == "pst":  # a mailbox: each message read as an Outlook message is
        for mail in pst_messages(data, budget, path):
            _message(collector, f"{path}/{mail.name}", "msg", (mail.text, mail.attachments, mail.problems), depth + 1)
    elif kind.startswith("image/"):  # what OCR reads, after the metadata's text
        metadata = image_metadata(data)
        try:
            text = image_text(data, path, kind, budget)
        except Unscannable:
            if metadata:
                collector.add(path, kind, metadata)
            raise
        collector.add(path, kind, f"{metadata}\n{text}" if metadata else text)
    elif (kind == "text" or kind.startswith("binary")) and _sealed_or_signed(collector, data, path, kind, depth):
        return
    elif kind.startswith("binary") and later_volume(path):  # a split zip's later part: the entries starting in it
        _members(collector, volume_members(data, budget, path), path, depth)
    else:
        collector.add(path, kind, _document_text(data, path, kind, budget))
        if kind in ("text", "xml"):
            _sealed_blocks(collector, data, path, kind)
            _members(collector, encoded_blocks(data, budget, path), path, depth)  # files written as base64
        if kind in ("docx", "xlsx", "pptx"):  # objects inserted into it
            _members(collector, office_embeddings(data, budget, path), path, depth)
        if kind == "odf" and data.startswith(b"PK"):
            _members(collector, odf_objects(data, budget, path), path, depth)
        if kind in ("docx", "xlsx", "pptx", "odf", "iwork") and budget.limits.ocr is not None:  # screenshots pasted in
            _members(collector, office_pictures(data, budget, path), path, depth)


def _database(collector: _Collector, path: str, kind: str,
              content: tuple[str, list[tuple[str, bytes]], list[str]], depth: int) -> None:
    """A database's tables as text, what could not be read of it, then the files kept in its
    BLOB or OLE columns, extracted in turn (they were stored, not packed: no ratio applies)."""
    text, files, problems = content
    collector.add(path, kind, text)
    for problem in problems:
        collector.fail(path, kind, "unscannable", problem)
    for _, file in files:
        collector.budget.enter(path)
        collector.budget.spend(len(file), path)
    _members(collector, files, path, depth)


def _message(collector: _Collector, path: str, kind: str,
             message: tuple[str, list[tuple[str, bytes]], list[str]], depth: int) -> None:
    """A message's text, what could not be read of it, and its attachments, extracted in turn."""
    text, attachments, problems = message
    collector.add(path, kind, text)
    for problem in problems:
        collector.fail(path, kind, "unscannable", problem)
    _sealed_blocks(collector, text.encode("utf-8", "replace"), path, kind)  # inline PGP
    _members(collector, attachments, path, depth)
    _members(collector, encoded_blocks(text.encode("utf-8", "replace"), budget=collector.budget, what=path), path, depth)


def _members(collector: _Collector, members: Iterable[tuple[str, bytes]], path: str, depth: int) -> None:
    """Extract each (name, bytes) a container gave, named below `path`."""
    for name, member in members:
        _extract_into(collector, member, f"{path}/{name}", sniff(member, name), depth + 1)


def _sealed_or_signed(collector: _Collector, data: bytes, path: str, kind: str, depth: int) -> bool:
    """Whether a text or binary file was an encrypted one (raises `EncryptedContent`), an S/MIME
    signature (no content), or a signed message whose content was extracted in its place."""
    what = sealed(data)
    if what is not None:
        raise EncryptedContent(f"{path}: {what}")
    if kind == "binary" and detached_signature(data):
        return True  # an S/MIME signature: no content of its own
    try:
        literal = openpgp_literal(data, collector.budget.allowance())
    except ValueError:
        raise Unscannable(f"{path}: signed OpenPGP message expands past the limit (decompression bomb?)") from None
    if literal is not None:  # signed, not encrypted: read what was signed
        collector.budget.spend(len(literal), path)
        _members(collector, [("signed content", literal)], path, depth)
        return True
    content = signed_content(data) if kind == "binary" else None
    if content is None:
        return False
    mime = content.lstrip()[:30].lower().startswith((b"content-type:", b"mime-version:", b"content-transfer"))
    _members(collector, [("signed.eml" if mime else "signed content", content)], path, depth)  # S/MIME signs a MIME entity
    return True


def _sealed_blocks(collector: _Collector, data: bytes, path: str, kind: str) -> None:
    """An `encrypted` part for the encrypted blocks armored in a text (its text is kept)."""
    blocks = sealed_blocks(data)
    if len(blocks) == 1:
        collector.fail(path, kind, "encrypted", f"{path}: holds {blocks[0]}")
    elif blocks:
        collector.fail(path, kind, "encrypted", f"{path}: holds {len(blocks)} encrypted blocks ({', '.join(blocks)[:200]})")


def _document_text(data: bytes, path: str, kind: str, budget: Budget) -> str:
    if kind in ("docx", "xlsx", "pptx"):
        return office_text(data, kind, budget, path)
    if kind == "cfb":
        return legacy_text(data, budget, path)
    if kind == "rtf":
        return rtf_text(data, budget, path)
    if kind == "odf":
        return odf_text(data, budget, path)
    if kind == "iwork":
        return iwork_text(data, budget, path)
    if kind == "metadata":  # macOS metadata: names and attributes, no document
        return printable_runs(data)
    if kind.startswith("binary"):
        part = later_part(path)
        if part is not None:
            raise Unscannable(f"{path}: part {part} of a split 7z archive, which starts in the middle of its packed files "
                              "and cannot be read alone (the start of the first part can)")
        raise Unscannable(f"{path}: no text to extract from {kind.partition(':')[2] or 'binary data'}")
    text = decode_text(data)
    if kind == "html":
        return html_text(text)
    if kind != "xml":
        return text
    root = parse_xml(data, path)
    if is_spreadsheet_2003(root):
        return spreadsheet_2003_text(root)
    flat = flat_office_text(root)  # Word 2003 XML, Flat OPC
    return element_text(root) if flat is None else flat
