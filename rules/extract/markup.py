"""Plain text, HTML and XML to text."""

from __future__ import annotations

import base64
import binascii
import codecs
import mimetypes
import re
import urllib.parse
from html.parser import HTMLParser
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from rules.extract.budget import Unscannable
from rules.extract.grid import TableStack

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def known_encoding(encoding: str) -> bool:
    """Whether Python has a codec of that name (a code page a file names may not exist)."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        return False
    return True


def utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" when `data` looks like UTF-16 text written without a byte-order
    mark (SQL Server's `bcp -w`, some Windows exports): in its first 4 KiB, at least 30 % of the
    code units have a zero high byte on one side and almost none on the other, and 95 % of the
    characters are printable. Else None."""
    head = data[:4096]
    units = len(head) // 2
    if units < 8:
        return None
    even, odd = head[0 : units * 2 : 2].count(0), head[1 : units * 2 : 2].count(0)
    if odd >= 0.3 * units and even <= 0.02 * units:
        guess = "utf-16-le"
    elif even >= 0.3 * units and odd <= 0.02 * units:
        guess = "utf-16-be"
    else:
        return None
    # and it reads as text: 16-bit samples of quiet audio have the same zero bytes, not the letters
    text = head[: units * 2].decode(guess, errors="replace")
    readable = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t")
    return guess if readable >= 0.95 * len(text) else None


def decode_text(data: bytes) -> str:
    """Bytes to text: BOM, then UTF-16 without one, then UTF-8, then GB18030 (Chinese Windows),
    then Latin-1."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    wide = utf16_without_bom(data) if b"\x00" in data[:4096] else None
    if wide is not None:
        return data.decode(wide, errors="replace")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


class _HtmlText(HTMLParser):
    """Visible text; tables as rows of tab-separated cells (`rules.extract.grid`)."""

    _SKIP = frozenset({"script", "style", "template", "noscript"})
    _BLOCK = frozenset({"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "section",
                        "caption"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tables = TableStack()
        self.data_uris: list[str] = []
        self._skipping = 0

    def parse_marked_section(self, i: int, report: bool = True) -> int:
        """`<![KEYWORD[...`: Python's parser raises an AssertionError on a keyword it does not
        know (or none), which would end the extraction of the page; a browser reads it as a bogus
        comment up to the next `>`, and so does this."""
        try:
            return int(super().parse_marked_section(i, report))
        except AssertionError:
            end = self.rawdata.find(">", i + 3)
            return -1 if end < 0 else end + 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag == "table":
            self.tables.open()
        elif tag == "tr" and self.tables.active:
            self.tables.row()
        elif tag in ("td", "th") and self.tables.active:
            spans = dict(attrs)
            self.tables.cell(_span(spans.get("colspan")), _span(spans.get("rowspan")))
        elif tag in self._BLOCK:
            self._emit("\n")
        for name, value in attrs:
            if not value:
                continue
            if name in ("href", "src", "data") and value[:5].lower() == "data:":
                if len(self.data_uris) < MAX_DATA_URIS:
                    self.data_uris.append(value)  # a file inlined in the page: read as a file
            elif name in ("href", "title", "alt", "value"):
                self._emit(f" {value} ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag == "table":
            self._table(self.tables.close())
        elif tag == "tr" and self.tables.active:
            self.tables.end_row()
        elif tag in ("td", "th") and self.tables.active:
            self.tables.end_cell()
        elif tag in self._BLOCK:
            self._emit("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._emit(data)

    def finish(self) -> str:
        self.close()
        self._table(self.tables.flush())
        return "".join(self.parts)

    def _emit(self, text: str) -> None:
        if not self.tables.text(text):
            self.parts.append(text)

    def _table(self, rendered: str | None) -> None:
        if rendered:
            self.parts.append("\n" + rendered + "\n")


def _span(value: str | None) -> int:
    return int(value) if value is not None and value.strip().isdigit() and len(value.strip()) < 6 else 1


def html_text(markup: str) -> str:
    """Visible text plus link targets and alt/title attributes (where data hides too)."""
    return html_content(markup)[0]


#: Files inlined as `data:` URIs in one page that are read, at most.
MAX_DATA_URIS = 100


def html_content(markup: str) -> tuple[str, list[tuple[str, bytes]]]:
    """`html_text`, and the files the page inlines as `data:` URIs in links, images, objects and
    frames (a CSV as a download link, a screenshot as an image), decoded, by a name made of their
    media type, for the caller to extract in turn."""
    parser = _HtmlText()
    parser.feed(markup)
    text = parser.finish()
    files = []
    for number, uri in enumerate(parser.data_uris, 1):
        decoded = _data_uri(uri)
        if decoded is not None:
            media, content = decoded
            extension = mimetypes.guess_extension(media, strict=False) or ".bin"
            files.append((f"data-uri-{number}{extension}", content))
    return text, files


def _data_uri(uri: str) -> tuple[str, bytes] | None:
    """(media type, bytes) of a `data:` URI, or None when it does not decode."""
    header, comma, payload = uri[5:].partition(",")
    if not comma:
        return None
    parameters = [p.strip().lower() for p in header.split(";")]
    media = parameters[0] or "text/plain"
    try:
        if "base64" in parameters[1:]:
            return media, base64.b64decode("".join(payload.split()) + "==", validate=False)
        return media, urllib.parse.unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        return None


def parse_xml(data: bytes, what: str) -> Element:
    """Parse without entity expansion or external references (billion laughs, XXE)."""
    try:
        root: Element = SafeET.fromstring(data, forbid_dtd=False)
        return root
    except DefusedXmlException as exc:
        raise Unscannable(f"{what}: forbidden XML construct ({type(exc).__name__})") from None
    except SafeET.ParseError as exc:
        raise Unscannable(f"{what}: malformed XML ({exc})") from None


def element_text(root: Element, paragraph_tags: frozenset[str] = frozenset()) -> str:
    """All text nodes in document order; a newline after each paragraph-like element."""
    out: list[str] = []
    _walk(root, paragraph_tags, out)
    return "".join(out)


def _walk(element: Element, paragraph_tags: frozenset[str], out: list[str]) -> None:
    stack: list[tuple[Element, bool]] = [(element, False)]
    while stack:
        node, closing = stack.pop()
        if closing:
            if local_name(node.tag) in paragraph_tags:
                out.append("\n")
            if node.tail:
                out.append(node.tail)
            continue
        if node.text:
            out.append(node.text)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(list(node)))
        if not paragraph_tags and len(node) == 0:
            out.append(" ")


def local_name(tag: object) -> str:
    """An element's tag without its namespace (``{http://...}row`` -> ``row``)."""
    return str(tag).rsplit("}", 1)[-1]


_ASCII_RUN = re.compile(rb"[\x20-\x7e]{4,}")
_UTF16_RUN = re.compile(rb"(?:\x00[\x20-\x7e]){4,}")


def printable_runs(data: bytes) -> str:
    """The runs of at least four printable characters in binary data, ASCII and UTF-16BE (as
    `strings` finds them), a run per line: the names and attribute values of file metadata."""
    runs = [run.decode("ascii") for run in _ASCII_RUN.findall(data)]
    runs += [run.decode("utf-16-be") for run in _UTF16_RUN.findall(data)]
    return "\n".join(runs)
