"""Office Open XML (docx, xlsx, pptx) text, and legacy/encrypted compound files."""

from __future__ import annotations

import lzma
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from io import BytesIO
from typing import Any
from xml.etree.ElementTree import Element

from rules.extract.budget import Budget, EncryptedContent, Unscannable
from rules.extract.grid import TableStack
from rules.extract.markup import element_text, local_name, parse_xml, printable_runs
from rules.extract.numfmt import Render, formats_by_style

_PARAGRAPHS = frozenset({"p", "tr", "row", "si", "br", "tab", "c"})
_TABLE_TAGS = frozenset({"tbl", "tr", "tc"})
_PARTS = {
    "docx": re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml"),
    "xlsx": re.compile(r"xl/(worksheets/sheet\d+|comments\d*|threadedComments/threadedComment\d+)\.xml"),
    "pptx": re.compile(r"ppt/(slides/slide\d+|notesSlides/notesSlide\d+|comments/(comment\d+|modernComment_[^/]+))\.xml"),
}


def _part_order(name: str) -> tuple[int, str]:
    digits = "".join(ch for ch in name if ch.isdigit())
    return (int(digits) if digits else 0, name)


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget, what: str) -> bytes:
    """Read one zip member without ever producing more bytes than the budget allows."""
    if info.flag_bits & 0x1:
        raise EncryptedContent(f"{what}: encrypted zip entry {info.filename}")
    allowance = budget.allowance()
    if info.file_size > allowance:
        budget.spend(info.file_size, f"{what}/{info.filename}")
    try:
        with archive.open(info) as stream:
            data = stream.read(allowance + 1)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, zlib.error, lzma.LZMAError) as exc:
        raise Unscannable(f"{what}/{info.filename}: corrupt entry ({exc})") from None
    budget.spend(len(data), f"{what}/{info.filename}")
    return data


def office_text(data: bytes, kind: str, budget: Budget, what: str) -> str:
    """Text of a docx/xlsx/pptx in reading order (slides and sheets by number)."""
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise Unscannable(f"{what}: corrupt {kind} ({exc})") from None
    pattern = _PARTS[kind]
    members = sorted((i for i in archive.infolist() if pattern.fullmatch(i.filename)),
                     key=lambda i: _part_order(i.filename))
    if not members:
        raise Unscannable(f"{what}: {kind} without any text part")
    shared = _shared_strings(archive, budget, what) if kind == "xlsx" else []
    formats = _number_formats(archive, budget, what) if kind == "xlsx" else []
    texts = []
    for info in members:
        budget.enter(what)
        root = parse_xml(read_member(archive, info, budget, what), f"{what}/{info.filename}")
        is_sheet = kind == "xlsx" and "worksheets/" in info.filename
        if is_sheet:
            texts.append(_sheet_text(root, shared, formats))
        else:
            texts.append(element_text(root, _PARAGRAPHS) if kind == "xlsx" else _text_with_tables(root, kind == "docx"))
    if kind == "xlsx":
        texts.extend(_pivot_caches(archive, budget, what))
    texts.extend(hidden_parts_text(archive, budget, what))
    return ("\n\n" if kind == "xlsx" else "\n").join(texts)  # each sheet its own table


_WORD_2003 = "{http://schemas.microsoft.com/office/word/2003/wordml}wordDocument"
_FLAT_OPC = "{http://schemas.microsoft.com/office/2006/xmlPackage}"


def flat_office_text(root: Element) -> str | None:
    """The text of a Word or PowerPoint document saved as one XML file, or None for other XML:
    Word 2003 XML (`w:wordDocument`), read as a docx's body; Flat OPC (`pkg:package`, Word's and
    PowerPoint's "XML Document"), whose parts (`pkg:part`, `pkg:xmlData`) are read as a docx's or
    pptx's would be, hidden parts too. Its binary parts (`pkg:binaryData`, base64) are left to the
    encoded-file pass (`rules.extract.encoded`)."""
    if root.tag == _WORD_2003:
        return _text_with_tables(root, True)
    if root.tag != f"{_FLAT_OPC}package":
        return None
    parts = {}
    for part in root.iter(f"{_FLAT_OPC}part"):
        data = part.find(f"{_FLAT_OPC}xmlData")
        if data is not None and len(data):
            parts[part.get(f"{_FLAT_OPC}name", "").lstrip("/")] = data[0]
    texts = []
    for kind, pattern in _PARTS.items():
        for name in sorted((n for n in parts if pattern.fullmatch(n)), key=_part_order):
            texts.append(element_text(parts[name], _PARAGRAPHS) if kind == "xlsx" else _text_with_tables(parts[name], kind == "docx"))
    texts += [_leaf_lines(parts[name]) for name in sorted(n for n in parts if _HIDDEN_PARTS.fullmatch(n))]
    return "\n".join(texts)


def hidden_parts_text(archive: zipfile.ZipFile, budget: Budget, what: str) -> list[str]:
    """The text of an Office package's parts that the document does not show (`_HIDDEN_PARTS`)."""
    return [_leaf_lines(parse_xml(part, f"{what}/{name}"))
            for name, part in _matching(archive, _HIDDEN_PARTS, budget, what, key=_part_order)]


#: Parts that hold text the document does not show: the properties (title, subject, keywords,
#: authors, custom properties; not `app.xml`, the application's name, version and counts),
#: custom XML data stores, the values charts and external links keep cached, and Word's building
#: blocks.
_HIDDEN_PARTS = re.compile(r"docProps/(core|custom)\.xml|customXml/item\d+\.xml|"
                           r"(word|xl|ppt)/charts/chart\d+\.xml|xl/externalLinks/externalLink\d+\.xml|"
                           r"word/glossary/document\.xml")


def _leaf_lines(root: Element) -> str:
    """Each element's own text on a line of its own (`<Pages>1</Pages><Words>3</Words>` is two
    numbers, not 13), and attribute values that are no markup (`<cell v="...">` in caches)."""
    lines = []
    for node in root.iter():
        if node.text and node.text.strip():
            lines.append(node.text.strip())
        lines.extend(value for key, value in node.attrib.items()
                     if local_name(key) in ("v", "val", "name") and value.strip() and not value.startswith("http"))
    return "\n".join(lines)


_PIVOT_DEFINITION = re.compile(r"xl/pivotCache/pivotCacheDefinition(\d+)\.xml")


def _pivot_caches(archive: zipfile.ZipFile, budget: Budget, what: str) -> list[str]:
    """The source data a workbook's pivot tables keep (`xl/pivotCache`), a table per cache with
    the source's column names as its header: a pivot table's cache holds every row it was built
    from, also after the source sheet was deleted and whatever the pivot table shows."""
    tables = []
    names = {info.filename: info for info in archive.infolist()}
    for name in sorted((n for n in names if _PIVOT_DEFINITION.fullmatch(n)), key=_part_order):
        budget.enter(what)
        definition = parse_xml(read_member(archive, names[name], budget, what), f"{what}/{name}")
        fields = [(field.get("name") or "", [item.get("v") or "" for item in _children(field, "sharedItems")])
                  for field in definition.iter() if local_name(field.tag) == "cacheField"]
        rows = ["\t".join(_cell(header) for header, _ in fields)]
        records = names.get(name.replace("pivotCacheDefinition", "pivotCacheRecords"))
        if records is not None:
            budget.enter(what)
            root = parse_xml(read_member(archive, records, budget, what), f"{what}/{records.filename}")
            for record in root:
                values = []
                for column, value in enumerate(record):
                    raw = value.get("v") or ""
                    if local_name(value.tag) == "x" and column < len(fields):  # an index into the shared items
                        shared = fields[column][1]
                        index = _int(raw, -1)
                        raw = shared[index] if 0 <= index < len(shared) else ""
                    values.append(_cell(raw))
                rows.append("\t".join(values))
        tables.append("\n".join(rows))
    return tables


def _children(parent: Element, name: str) -> list[Element]:
    found = next((child for child in parent if local_name(child.tag) == name), None)
    return list(found) if found is not None else []


def _cell(text: str) -> str:
    return " ".join(text.split())  # a cell stays one cell of its row


#: Pictures in an Office file's media folder; smaller ones (icons, bullets) hold no text to read.
_MEDIA = re.compile(r"((word|xl|ppt)/media|Pictures|Data)/[^/]+\.(png|jpe?g|gif|bmp|tiff?|webp)", re.IGNORECASE)


def office_pictures(data: bytes, budget: Budget, what: str) -> list[tuple[str, bytes]]:
    """The pictures of a docx/xlsx/pptx, OpenDocument or iWork file (a screenshot pasted into a slide) whose sides are both
    at least `MIN_PICTURE_SIDE` pixels, by name, for OCR; read within the budget."""
    from rules.extract.images import MIN_PICTURE_SIDE, image_kind, image_size

    pictures = []
    for name, picture in _members(data, _MEDIA, budget, what):
        kind = image_kind(picture)
        try:
            small = kind is None or min(image_size(picture, name, kind)) < MIN_PICTURE_SIDE
        except Unscannable:
            small = False  # a broken picture is reported by the image pass
        if not small:
            pictures.append((name, picture))
    return pictures


def _members(data: bytes, pattern: re.Pattern[str], budget: Budget, what: str) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of the members of an Office file whose names match `pattern`, by name, each
    counted and read within the budget; none when the file is no zip (the text pass says so)."""
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        return
    yield from _matching(archive, pattern, budget, what, key=lambda name: name)


def _matching(archive: zipfile.ZipFile, pattern: re.Pattern[str], budget: Budget, what: str,
              key: Callable[[str], Any]) -> Iterator[tuple[str, bytes]]:
    """`_members` of an open archive, in the order `key` gives their names."""
    for info in sorted((i for i in archive.infolist() if pattern.fullmatch(i.filename)),
                       key=lambda i: key(i.filename)):
        budget.enter(what)
        yield info.filename, read_member(archive, info, budget, what)


#: Files embedded in an Office document (Insert > Object): OOXML packages as they are, anything
#: else as an OLE object (`oleObjectN.bin`), which `embedded_files` unwraps; and the HTML, MHT, RTF
#: or text that Word shows as part of the document (`w:altChunk`, `word/afchunk.htm`).
_EMBEDDINGS = re.compile(r"(word|xl|ppt)/embeddings/[^/]+|word/[^/]+\.(htm|html|xhtml|mht|mhtml|rtf|txt)",
                         re.IGNORECASE)  # the second: Word's alternative-format chunks (altChunk)
ODF_OBJECT = re.compile(r"Object \d+")  # an OpenDocument file's foreign object (rules.extract.odf)
_OLE_NATIVE = "\x01Ole10Native"
_DOCUMENT_STREAMS = ("WordDocument", "Workbook", "Book", "PowerPoint Document")  # read as legacy Office


def has_embeddings(data: bytes) -> bool:
    """Whether an Office or OpenDocument package holds embedded objects (`office_embeddings` and
    `odf_objects` would hand some on to other readers); False for anything that is no readable zip."""
    try:
        return any(_EMBEDDINGS.fullmatch(name) or ODF_OBJECT.fullmatch(name)
                   for name in zipfile.ZipFile(BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        return False


def office_embeddings(data: bytes, budget: Budget, what: str) -> list[tuple[str, bytes]]:
    """The files embedded in a docx/xlsx/pptx (a spreadsheet inserted as an object into a report),
    by name, for the caller to extract in turn: an embedded OOXML package as it is, an OLE object
    as the file it wraps (its `Package` stream, or the file inside `\x01Ole10Native`, [MS-OLEDS]),
    a Word, Excel or PowerPoint object as the compound file it is, any other object (a formula, a
    chart) as the strings of its streams; read within the budget."""
    return [_unwrapped(name, content, what) for name, content in _members(data, _EMBEDDINGS, budget, what)]


def _unwrapped(name: str, content: bytes, what: str) -> tuple[str, bytes]:
    """An OLE object's inner file (name, bytes), or the object itself when it wraps none."""
    if not content.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return name, content
    import olefile

    try:
        ole = olefile.OleFileIO(content)
        if ole.exists("Package") and ole.get_size("Package") <= len(content):
            return f"{name}/package", ole.openstream("Package").read()
        if ole.exists(_OLE_NATIVE) and ole.get_size(_OLE_NATIVE) <= len(content):
            return _ole_native(name, ole.openstream(_OLE_NATIVE).read())
        if not any(ole.exists(stream) for stream in _DOCUMENT_STREAMS):
            # an object that is no file (an Equation Editor formula, a chart of MS Graph): the
            # strings of its streams, which is all the text it has
            streams = [ole.openstream(path).read() for path in ole.listdir(streams=True, storages=False)
                       if ole.get_size(path) <= len(content)]
            return f"{name}/strings.txt", printable_runs(b"\n".join(streams)).encode()
    except (OSError, ValueError, IndexError, struct.error, RecursionError):
        pass  # a damaged object: read as the compound file it claims to be
    return name, content


def _ole_native(name: str, stream: bytes) -> tuple[str, bytes]:
    """The file an `\x01Ole10Native` stream wraps (Windows' Packager): size, flags, label, path,
    two reserved bytes, temporary path, then the file's size and bytes."""
    at = 6
    label_end = stream.index(b"\0", at)
    label = stream[at:label_end].decode("cp1252", errors="replace")
    at = stream.index(b"\0", label_end + 1) + 1 + 4  # the source path, then 4 bytes
    at = stream.index(b"\0", at) + 1  # the temporary path
    size = struct.unpack_from("<I", stream, at)[0]
    content = stream[at + 4 : at + 4 + size]
    if len(content) != size:
        raise IndexError("an embedded file cut short")
    return f"{name}/{label.replace('/', '_') or 'file'}", content


def _text_with_tables(root: Element, spans: bool) -> str:
    """Text in document order, a newline after each paragraph-like element, and each table as
    rows of tab-separated cells (`rules.extract.grid`). `spans`: a cell's ``gridSpan`` stands for
    grid cells the file leaves out (docx); pptx keeps the covered cells (``hMerge``)."""
    out: list[str] = []
    tables = TableStack()
    names: dict[str, str] = {}  # tag -> local name
    stack: list[tuple[Element, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        tag = names.get(node.tag) or names.setdefault(node.tag, local_name(node.tag))
        if closing:
            if tag in _TABLE_TAGS or tag in _PARAGRAPHS:
                _close(tag, tables, out)
            if node.tail:
                _emit(node.tail, tables, out)
            continue
        if tag == "tbl":
            tables.open()
        elif tag == "tr" and tables.active:
            tables.row(_grid_value(node, "trPr", "gridBefore", 0) if spans else 0)
        elif tag == "tc" and tables.active:
            tables.cell(_grid_value(node, "tcPr", "gridSpan", 1) if spans else 1)
        if node.text:
            _emit(node.text, tables, out)
        stack.append((node, True))
        if len(node):
            stack.extend([(child, False) for child in reversed(node)])
    _emit_table(tables.flush(), out)
    return "".join(out)


def _close(tag: str, tables: TableStack, out: list[str]) -> None:
    if tag == "tbl":
        _emit_table(tables.close(), out)
    elif tag == "tr" and tables.active:
        tables.end_row()
    elif tag == "tc" and tables.active:
        tables.end_cell()
    elif tag in _PARAGRAPHS:
        _emit("\n", tables, out)


def _emit(text: str, tables: TableStack, out: list[str]) -> None:
    if not tables.text(text):
        out.append(text)


def _emit_table(rendered: str | None, out: list[str]) -> None:
    """A table on lines of its own."""
    if rendered:
        out.append(("\n" if out and not out[-1].endswith("\n") else "") + rendered + "\n")


def _grid_value(node: Element, properties: str, name: str, default: int) -> int:
    """``w:val`` of a row's or cell's property (``<w:tcPr><w:gridSpan w:val="2"/>``), which the
    schema puts first in the row or cell."""
    if not len(node) or local_name(node[0].tag) != properties:
        return default
    for item in node[0]:
        if local_name(item.tag) == name:
            return _int(next((v for k, v in item.attrib.items() if local_name(k) == "val"), None), default)
    return default


def _shared_strings(archive: zipfile.ZipFile, budget: Budget, what: str) -> list[str]:
    try:
        info = archive.getinfo("xl/sharedStrings.xml")
    except KeyError:
        return []
    root = parse_xml(read_member(archive, info, budget, what), f"{what}/xl/sharedStrings.xml")
    return [element_text(item).strip() for item in root if local_name(item.tag) == "si"]


def _number_formats(archive: zipfile.ZipFile, budget: Budget, what: str) -> list[Render | None]:
    """How each cell style shows an integer (`rules.extract.numfmt`): a routing number stored as
    21000021 in a ``000000000`` column reads 021000021, as on screen."""
    try:
        info = archive.getinfo("xl/styles.xml")
    except KeyError:
        return []
    data = read_member(archive, info, budget, what)  # within the size budget like every part
    try:
        return formats_by_style(parse_xml(data, f"{what}/xl/styles.xml"))
    except Unscannable:  # a broken styles part costs the formats, not the workbook's text
        return []


#: Empty cells a sheet may have filled in: this many plus 8 per stored cell, so that its text stays
#: within a few times its XML (a cell at column XFD must not turn 20 bytes into 16,384 tabs).
_FILL_CELLS = 1024
_FILL_PER_CELL = 8


def _sheet_text(root: Element, shared: list[str], formats: list[Render | None]) -> str:
    """A worksheet's rows (`sheet_text`), shared strings resolved and numbers shown through their
    cell's number format where it pads or punctuates digits (`formats`)."""

    def rows() -> Iterator[tuple[int, list[tuple[int, str]]]]:
        for row in root.iter():
            if local_name(row.tag) == "row":
                cells = ((_column_index(cell.get("r")), _cell_value(cell, shared, formats)) for cell in row)
                yield _int(row.get("r"), 0), [(column, value) for column, value in cells if value is not None]

    return sheet_text(rows())


def sheet_text(rows: Iterable[tuple[int, list[tuple[int, str]]]]) -> str:
    """Rows (1-based number, 0 when unknown: the next one) of (column, value) cells as lines,
    cells separated by tabs, each cell in its column (empty cells are not stored in the file, so
    gaps are filled; a column of -1 follows the last cell). Skipped rows become one blank line,
    which ends a table (`rules.tables`) as it does on screen; a row with one cell in a wider sheet
    keeps a tab, as a CSV export keeps its commas."""
    lines: list[str] = []
    previous, allowance = 0, _FILL_CELLS
    for given, row in rows:
        number = given if given > 0 else previous + 1
        if lines and number > previous + 1:
            lines.append("")
        previous = number
        cells: list[str] = []
        for column, value in row:
            allowance += _FILL_PER_CELL
            gap = column - len(cells)
            if 0 < gap <= allowance:
                cells.extend([""] * gap)
                allowance -= gap
            cells.append(value)
        lines.append("\t".join(cells))
    if any("\t" in line for line in lines):  # a one-cell row of a wider sheet stays a row of its table
        lines = [line + "\t" if line and "\t" not in line else line for line in lines]
    return "\n".join(lines)


def _cell_value(cell: Element, shared: list[str], formats: list[Render | None]) -> str | None:
    kind, value = cell.get("t"), next((c.text for c in cell if local_name(c.tag) == "v"), None)
    if kind == "s" and value is not None and value.isdigit() and int(value) < len(shared):
        return shared[int(value)]
    if kind == "inlineStr":
        return element_text(cell).strip()
    style = _int(cell.get("s"), -1)
    if value is not None and kind in (None, "n") and 0 <= style < len(formats):
        render = formats[style]
        if render is not None:
            return render(value)
    return value


def _column_index(reference: str | None) -> int:
    """0 for ``A7``, 27 for ``AB7``; -1 when the cell has no reference (then it follows the last)."""
    letters = "".join(ch for ch in (reference or "")[:4] if "A" <= ch <= "Z")
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def _int(text: str | None, default: int) -> int:
    return int(text) if text is not None and text.isdigit() and len(text) < 8 else default
