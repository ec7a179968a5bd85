"""OpenDocument files (LibreOffice's .odt, .ods, .odp and their flat XML forms .fodt, .fods, .fodp).

They were read as a plain zip: every member's XML as text, the thumbnail picture as an image
(unscannable without OCR, which made every LibreOffice document unscannable, and the medium and
high packs block that), tables without their columns, and a password-protected document read as
its ciphertext and passed `ok`. Now, as OASIS OpenDocument 1.3 lays them out:

- the text of `content.xml` in document order, a line per paragraph or heading, tables (text
  tables, spreadsheet sheets) as rows of tab-separated cells so that column headers count as in
  xlsx and docx; repeated cells (`table:number-columns-repeated`) repeated up to `MAX_REPEAT`,
  repeated rows written once, deleted tracked changes left out;
- a document whose manifest lists encryption data is `encrypted`;
- pictures (`Pictures/`, not the thumbnail) go to OCR as Office files' pictures do
  (`rules.extract.office.office_pictures`);
- since 2026-12-07 (24): objects inserted into the document, a LibreOffice one's sub-document
  (`Object N/content.xml`, a spreadsheet in a report) read with it, a foreign one (`Object N`,
  an OLE file: an Excel sheet, a Word document) handed on as a member; and the document's
  properties (`meta.xml`: title, subject, keywords, description, user-defined properties).
"""

from __future__ import annotations

import re
import zipfile
from io import BytesIO
from xml.etree.ElementTree import Element

from rules.extract.budget import Budget, EncryptedContent, Unscannable
from rules.extract.grid import TableStack
from rules.extract.markup import local_name, parse_xml
from rules.extract.office import ODF_OBJECT, read_member

MIMETYPE = b"application/vnd.oasis.opendocument."
OFFICE_NAMESPACE = b"urn:oasis:names:tc:opendocument:xmlns:office:1.0"
#: Copies of a repeated cell written at most (a sheet's trailing filler repeats 16,000 times).
MAX_REPEAT = 256
_PARAGRAPHS = frozenset({"p", "h"})
_SKIPPED = frozenset({"tracked-changes", "bookmark", "bookmark-start", "bookmark-end", "sequence-decls",
                      "variable-decls", "user-field-decls", "forms", "binary-data", "table-columns", "table-column",
                      # flat files hold what a package keeps in styles.xml, meta.xml and settings.xml
                      "automatic-styles", "styles", "master-styles", "font-face-decls", "settings", "scripts",
                      "meta"})
_CELLS = frozenset({"table-cell", "covered-table-cell"})
#: An object inserted into a document: a LibreOffice one is a sub-document (`Object 1/content.xml`),
#: a foreign one (an Excel sheet, a Word document) the OLE file it came as (`Object 1`).
_SUBDOCUMENT = re.compile(r"Object \d+/content\.xml")
_META_SKIPPED = frozenset({"generator", "document-statistic", "editing-cycles", "editing-duration", "template"})


def is_odf_zip(names: set[str], first: bytes) -> bool:
    """Whether a zip (its member names, and its first member's bytes) is an OpenDocument package."""
    return "content.xml" in names and first.startswith(MIMETYPE)


def is_flat_odf(data: bytes) -> bool:
    return OFFICE_NAMESPACE in data[:4096] and b"office:document" in data[:4096]


def odf_text(data: bytes, budget: Budget, what: str) -> str:
    """The text of an OpenDocument package (zip) or flat OpenDocument XML."""
    if not data.startswith(b"PK"):
        return _document_text(parse_xml(data, what), budget)
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        members = {info.filename: info for info in archive.infolist()}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise Unscannable(f"{what}: corrupt OpenDocument file ({exc})") from None
    manifest = members.get("META-INF/manifest.xml")
    if manifest is not None and b"encryption-data" in read_member(archive, manifest, budget, what):
        raise EncryptedContent(f"{what}: password-protected OpenDocument file")
    if "content.xml" not in members:
        raise Unscannable(f"{what}: OpenDocument file without content.xml")
    budget.enter(what)
    root = parse_xml(read_member(archive, members["content.xml"], budget, what), f"{what}/content.xml")
    texts = [_document_text(root, budget)]
    for name in sorted(n for n in members if _SUBDOCUMENT.fullmatch(n)):  # objects inserted into it
        budget.enter(what)
        texts.append(_document_text(parse_xml(read_member(archive, members[name], budget, what), f"{what}/{name}"), budget))
    if "meta.xml" in members:  # title, subject, keywords, description, user-defined properties
        texts.append(_meta_text(parse_xml(read_member(archive, members["meta.xml"], budget, what), f"{what}/meta.xml")))
    return "\n".join(text for text in texts if text)


def odf_objects(data: bytes, budget: Budget, what: str) -> list[tuple[str, bytes]]:
    """The foreign objects inserted into an OpenDocument package (an Excel sheet in a Writer
    document is kept as `Object N`, the OLE compound file it came as), for the caller to extract."""
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        infos = [i for i in archive.infolist() if ODF_OBJECT.fullmatch(i.filename)]
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        return []
    objects = []
    for info in infos:
        budget.enter(what)
        objects.append((info.filename, read_member(archive, info, budget, what)))
    return objects


def _meta_text(root: Element) -> str:
    """Each property's own text on a line (the generator and statistics are left out)."""
    lines = []
    for node in root.iter():
        if local_name(node.tag) in _META_SKIPPED:
            continue
        if node.text and node.text.strip() and not list(node):
            lines.append(node.text.strip())
    return "\n".join(lines)


def _document_text(root: Element, budget: Budget) -> str:
    out: list[str] = []
    tables = TableStack()
    names: dict[str, str] = {}
    repeats: list[tuple[int, list[str]]] = []  # per open cell: copies to write, its text so far
    stack: list[tuple[Element, bool]] = [(root, False)]
    steps = 0
    while stack:
        node, closing = stack.pop()
        steps += 1
        if steps & 0xFFF == 0:
            budget.check_time()
        tag = names.get(node.tag) or names.setdefault(node.tag, local_name(node.tag))
        if closing:
            _close(node, tag, tables, repeats, out)
            if node.tail:
                _emit(node.tail, tables, repeats, out)
            continue
        if tag in _SKIPPED:
            if node.tail:
                _emit(node.tail, tables, repeats, out)
            continue
        if tag == "table":
            tables.open()
        elif tag == "table-row" and tables.active:
            tables.row()
        elif tag in _CELLS and tables.active:
            tables.cell(max(1, min(_number(node, "number-columns-spanned"), 1000)))
            repeats.append((min(_number(node, "number-columns-repeated"), MAX_REPEAT), []))
        elif tag in ("line-break", "tab", "s"):
            _emit("\n" if tag == "line-break" else "\t" if tag == "tab" else " " * min(_number(node, "c"), 64),
                  tables, repeats, out)
        if node.text:
            _emit(node.text, tables, repeats, out)
        stack.append((node, True))
        if len(node):
            stack.extend([(child, False) for child in reversed(node)])
    rest = tables.flush()
    if rest:
        out.append("\n" + rest + "\n")
    return "".join(out)


def _close(node: Element, tag: str, tables: TableStack, repeats: list[tuple[int, list[str]]], out: list[str]) -> None:
    if tag == "table":
        rendered = tables.close()
        if rendered:
            out.append(("\n" if out and not out[-1].endswith("\n") else "") + rendered + "\n")
    elif tag == "table-row" and tables.active:
        tables.end_row()
    elif tag in _CELLS and tables.active and repeats:
        tables.end_cell()
        copies, pieces = repeats.pop()
        text = "".join(pieces)
        for _ in range(copies - 1):  # the same cell again, as the file repeats it
            tables.cell()
            tables.text(text)
            tables.end_cell()
    elif tag in _PARAGRAPHS:
        _emit("\n", tables, repeats, out)


def _emit(text: str, tables: TableStack, repeats: list[tuple[int, list[str]]], out: list[str]) -> None:
    if repeats:
        repeats[-1][1].append(text)
    if not tables.text(text):
        out.append(text)


def _number(node: Element, name: str) -> int:
    for key, value in node.attrib.items():
        if local_name(key) == name:
            try:
                return max(1, int(value))
            except ValueError:
                return 1
    return 1
