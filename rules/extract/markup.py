"""Plain text, HTML and XML to text."""

from __future__ import annotations

import codecs
from html.parser import HTMLParser
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from rules.extract.budget import Unscannable

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode_text(data: bytes) -> str:
    """Bytes to text: BOM, then UTF-8, then GB18030 (Chinese Windows), then Latin-1."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


class _HtmlText(HTMLParser):
    _SKIP = frozenset({"script", "style", "template", "noscript"})
    _BLOCK = frozenset({"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "section"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        for name, value in attrs:
            if name in ("href", "title", "alt", "value") and value:
                self.parts.append(f" {value} ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_text(markup: str) -> str:
    """Visible text plus link targets and alt/title attributes (where data hides too)."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


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
            if _local(node.tag) in paragraph_tags:
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


def _local(tag: object) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1]


def xml_text(data: bytes, what: str) -> str:
    return element_text(parse_xml(data, what))
