"""RTF documents as plain text: Word's and WordPad's .rtf, and Outlook's rich-text bodies.

RTF was read as if it were plain text, control words and all: Latin digits survived, but every
character RTF escapes was lost, which is every Chinese character (`\\'c9\\'ed` in the font's code
page, or `\\u36523?`) and every accented one. Here the control words are interpreted (the
Microsoft RTF 1.9.1 specification):

- text in the code page of its font (`\\fcharset` in the font table: 134 GB2312, 136 Big5, 128
  Shift-JIS...) or of the document (`\\ansicpg`), multi-byte `\\'hh` sequences decoded together;
  `\\uN` with its `\\ucN` fallback characters skipped;
- `\\par`, `\\line`, `\\row`, `\\page` and `\\sect` end lines, `\\tab` and `\\cell` give tabs (a table
  comes out a row per line, its cells tab-separated, so that column headers count as in a docx);
- destinations that hold no text are skipped (font, colour and style tables, pictures, objects,
  document information, revision tables, `{\\*\\...}` destinations); field instructions
  (`HYPERLINK "..."`) are kept, as the .doc reader keeps them; `\\binN` data is skipped.

The tokenizer is one regular expression without nested repetition, run token by token (linear in
the input); nesting is bounded by `MAX_DEPTH`.

Outlook keeps a rich-text body compressed ([MS-OXRTFCP]: LZ77 over a 4 KiB window that starts
with a fixed RTF preamble): `decompressed_rtf`. A body converted from HTML (`\\fromhtml`) carries
its RTF-only renderings between `\\htmlrtf` and `\\htmlrtf0`, which are left out.
"""

from __future__ import annotations

import re
import struct

from rules.extract.budget import Budget, Unscannable
from rules.extract.markup import known_encoding

MAX_DEPTH = 1000
_TOKEN = re.compile(rb"\\([a-zA-Z]{1,32})(-?[0-9]{1,10})? ?|\\'([0-9a-fA-F]{2})|\\([^a-zA-Z'])|([{}])|([^\\{}\r\n]+)|[\r\n]+|\\")
_SKIPPED = frozenset({
    b"fonttbl", b"colortbl", b"stylesheet", b"info", b"pict", b"object", b"objdata", b"themedata",
    b"colorschememapping", b"datastore", b"latentstyles", b"listtable", b"listoverridetable", b"rsidtbl",
    b"generator", b"xmlnstbl", b"mmathPr", b"filetbl", b"revtbl", b"pgdsc", b"listtext", b"pntext", b"bkmkstart",
    b"bkmkend", b"nonshppict", b"shppict", b"userprops", b"docvar", b"template", b"falt", b"panose", b"fname",
})
_KEPT_STARRED = frozenset({b"fldinst", b"shptxt", b"annotation", b"atnid", b"atnauthor"})
_CHARSETS = {
    128: "cp932", 129: "cp949", 130: "johab", 134: "cp936", 136: "cp950", 161: "cp1253", 162: "cp1254",
    163: "cp1258", 177: "cp1255", 178: "cp1256", 186: "cp1257", 204: "cp1251", 222: "cp874", 238: "cp1250",
    77: "mac_roman",
}
_TEXT = {
    b"par": "\n", b"line": "\n", b"row": "\n", b"page": "\n", b"sect": "\n", b"tab": "\t", b"cell": "\t",
    b"emdash": "\u2014", b"endash": "\u2013", b"bullet": "\u2022", b"lquote": "\u2018", b"rquote": "\u2019",
    b"ldblquote": "\u201c", b"rdblquote": "\u201d", b"emspace": " ", b"enspace": " ", b"qmspace": " ",
}
_SYMBOLS = {b"~": "\u00a0", b"-": "", b"_": "\u2011", b"\\": "\\", b"{": "{", b"}": "}", b"\t": "\t", b"\n": "\n",
            b"\r": "\n"}


class _Group:
    __slots__ = ("codepage", "fonts", "skip", "uc")

    def __init__(self, skip: bool, uc: int, codepage: str, fonts: bool) -> None:
        self.skip, self.uc, self.codepage, self.fonts = skip, uc, codepage, fonts


def is_rtf(data: bytes) -> bool:
    return data.lstrip()[:5] == b"{\\rtf"


def rtf_text(data: bytes, budget: Budget, what: str) -> str:
    """The text of an RTF document."""
    out: list[str] = []
    pending = bytearray()  # bytes of the current code page, decoded together (multi-byte text)
    document = "cp1252"
    font_pages: dict[int, str] = {}
    font = -1
    group = _Group(False, 1, document, False)
    stack: list[_Group] = []
    first_in_group = False
    starred = False
    html_only = False  # between \htmlrtf and \htmlrtf0: RTF that stands in for HTML markup
    skip_chars = 0
    pos, tokens = 0, 0

    def flush() -> None:
        if pending:
            out.append(bytes(pending).decode(group.codepage, errors="replace"))
            pending.clear()

    while pos < len(data):
        match = _TOKEN.match(data, pos)
        if match is None:  # a lone backslash at the very end
            break
        pos = match.end()
        tokens += 1
        if tokens & 0xFFF == 0:
            budget.check_time()
        word, number, hexbyte, symbol, brace, text = match.groups()
        if text is not None:
            if skip_chars:
                dropped = min(skip_chars, len(text))
                text, skip_chars = text[dropped:], skip_chars - dropped
            if not group.skip and not html_only:
                pending += text.replace(b"\0", b"")  # padding after the document, not text
            first_in_group = starred = False
            continue
        if hexbyte is not None:
            if skip_chars:
                skip_chars -= 1
            elif not group.skip and not html_only:
                pending.append(int(hexbyte, 16))
            first_in_group = starred = False
            continue
        if word is None and symbol is None and brace is None:
            continue  # line breaks of the file, or a lone backslash at its end: not text
        skip_chars = 0
        if brace == b"{":
            flush()
            if len(stack) >= MAX_DEPTH:
                raise Unscannable(f"{what}: RTF groups nested deeper than {MAX_DEPTH}")
            stack.append(group)
            group = _Group(group.skip, group.uc, group.codepage, group.fonts)
            first_in_group, starred = True, False
            continue
        if brace == b"}":
            flush()
            if stack:
                group = stack.pop()
            first_in_group = starred = False
            continue
        if symbol is not None:
            if symbol == b"*" and first_in_group:
                starred = True
                continue
            if not group.skip and not html_only and symbol in _SYMBOLS:
                flush()
                out.append(_SYMBOLS[symbol])
            first_in_group = starred = False
            continue
        if word is None:
            continue
        value = int(number) if number is not None else None
        if first_in_group and (word in _SKIPPED or (starred and word not in _KEPT_STARRED)):
            group.skip = True  # no text in it; a font table is still read for its code pages
            group.fonts = word == b"fonttbl"
        first_in_group = starred = False
        if word == b"bin" and value is not None and value > 0:
            pos += value  # binary data: not text
            continue
        if word == b"ansicpg" and value is not None and known_encoding(f"cp{value}"):
            flush()
            document = group.codepage = f"cp{value}"
            continue
        if word == b"f" and value is not None:
            if group.fonts:
                font = value
            else:
                flush()
                group.codepage = font_pages.get(value, document)
            continue
        if word == b"fcharset" and value is not None and group.fonts and font >= 0:
            page = _CHARSETS.get(value)
            if page is not None and known_encoding(page):
                font_pages[font] = page
            continue
        if word == b"htmlrtf":
            flush()
            html_only = value != 0
            continue
        if word == b"uc" and value is not None:
            group.uc = max(0, min(value, 8))
            continue
        if word == b"u" and value is not None:
            if not group.skip and not html_only:
                flush()
                code = value + 65536 if value < 0 else value
                out.append(chr(code) if 0 < code < 0xD800 or 0xE000 <= code < 0x110000 else "\ufffd")
            skip_chars = group.uc
            continue
        if not group.skip and not html_only and word in _TEXT:
            flush()
            if word == b"row" and out and out[-1] == "\t":
                out.pop()  # the last cell's tab: a row ends with its last cell
            out.append(_TEXT[word])
    flush()
    text = "".join(out)
    budget.spend(len(text), what)
    return text



_PREAMBLE = (b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript "
             b"\\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par "
             b"\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx")
_COMPRESSED, _UNCOMPRESSED = b"LZFu", b"MELA"


def decompressed_rtf(data: bytes, limit: int, what: str) -> bytes:
    """The RTF of an Outlook compressed-RTF stream ([MS-OXRTFCP]), at most `limit` bytes."""
    if len(data) < 16:
        raise Unscannable(f"{what}: compressed RTF shorter than its header")
    _, raw_size, kind, _ = struct.unpack_from("<II4sI", data)
    if kind == _UNCOMPRESSED:
        return data[16 : 16 + min(raw_size, limit)]
    if kind != _COMPRESSED:
        raise Unscannable(f"{what}: compressed RTF of an unknown kind ({kind!r})")
    if raw_size > limit:
        raise Unscannable(f"{what}: compressed RTF expands to {raw_size} bytes, beyond the limit")
    window = bytearray(4096)
    window[: len(_PREAMBLE)] = _PREAMBLE
    at, pos, out = len(_PREAMBLE), 16, bytearray()
    while pos < len(data) and len(out) < raw_size:
        control = data[pos]
        pos += 1
        for bit in range(8):
            if pos >= len(data):
                break
            if not control >> bit & 1:  # a literal byte
                window[at] = data[pos]
                out.append(data[pos])
                at, pos = (at + 1) & 0xFFF, pos + 1
                continue
            if pos + 1 >= len(data):
                break
            reference = data[pos] << 8 | data[pos + 1]
            pos += 2
            offset, length = reference >> 4, (reference & 0xF) + 2
            if offset == at:  # the end mark
                return bytes(out[:raw_size])
            for step in range(length):
                byte = window[(offset + step) & 0xFFF]
                window[at] = byte
                out.append(byte)
                at = (at + 1) & 0xFFF
    return bytes(out[:raw_size])
