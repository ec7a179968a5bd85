"""TNEF (`winmail.dat`, `application/ms-tnef`): how Outlook and Exchange wrap a rich-text
message for the Internet. Any mail client but Outlook sees one opaque attachment; the message's
body and its real attachments are inside, so a reader that stops at `winmail.dat` sees none of
them.

Format ([MS-OXTNEF]): a signature and a key, then attributes, each a level (message or
attachment), an id whose high word is its type, a length, the data and a checksum. Attachment
attributes follow `attAttachRendData`, which starts a new attachment; `attAttachTitle` names it,
`attAttachData` holds its bytes. MAPI properties (`attMsgProps`, `attAttachment`) carry the rest:
the plain, HTML or compressed-RTF body, and for attachments their long file names and, where
`attAttachData` is missing, their data (`PR_ATTACH_DATA_BIN`/`_OBJ`). Every length is checked
against what is left before it is used; property counts are capped.
"""

from __future__ import annotations

import struct

from rules.extract.budget import Budget, Unscannable
from rules.extract.markup import html_text, known_encoding
from rules.extract.rtf import decompressed_rtf, rtf_text

SIGNATURE = b"\x78\x9f\x3e\x22"
MAX_PROPERTIES = 10_000
MAX_VALUES = 10_000
# attribute ids (low word)
_BODY, _TITLE, _DATA, _RENDER, _ATTACHMENT, _MSG_PROPS, _CODEPAGE, _SUBJECT = (
    0x800C, 0x8010, 0x800F, 0x9002, 0x9005, 0x9003, 0x9007, 0x8004)
# MAPI property ids
_PR_BODY, _PR_HTML, _PR_RTF, _PR_SUBJECT = 0x1000, 0x1013, 0x1009, 0x0037
_PR_LONG_NAME, _PR_NAME, _PR_DISPLAY, _PR_DATA = 0x3707, 0x3704, 0x3001, 0x3701
# MAPI property types: fixed sizes, and the variable-length ones
_FIXED = {0x0002: 2, 0x0003: 4, 0x0004: 4, 0x0005: 8, 0x0006: 8, 0x0007: 8, 0x000A: 4, 0x000B: 2, 0x0014: 8,
          0x0040: 8, 0x0048: 16, 0x0001: 0}
_STRING8, _UNICODE, _BINARY, _OBJECT = 0x001E, 0x001F, 0x0102, 0x000D
_MULTIPLE = 0x1000


class _Attachment:
    __slots__ = ("data", "names")

    def __init__(self) -> None:
        self.data: bytes | None = None
        self.names: dict[str, str] = {}  # "long", "title", "short", "display"


def is_tnef(data: bytes) -> bool:
    return data.startswith(SIGNATURE) and len(data) >= 6


def tnef_content(data: bytes, budget: Budget, what: str) -> tuple[str, list[tuple[str, bytes]], list[str]]:
    """The message's subject and body as text, its attachments (name, bytes), and what could not
    be read."""
    if not is_tnef(data):
        raise Unscannable(f"{what}: not a TNEF stream")
    codepage, pos = "cp1252", 6
    subject, body, html, rtf = "", "", b"", b""
    attachments: list[_Attachment] = []
    problems: list[str] = []
    while pos + 9 <= len(data):
        budget.check_time()
        level, attribute, length = struct.unpack_from("<BII", data, pos)
        start = pos + 9
        if length > len(data) - start - 2:
            problems.append(f"{what}: TNEF attribute {attribute:#x} runs past the end")
            break
        value = data[start : start + length]
        pos = start + length + 2  # the checksum is not checked: a wrong one is common and harmless
        kind = attribute & 0xFFFF
        if kind == _CODEPAGE and length >= 4:
            page = f"cp{struct.unpack_from('<I', value)[0]}"
            codepage = page if known_encoding(page) else codepage
        elif kind == _SUBJECT:
            subject = value.rstrip(b"\0").decode(codepage, errors="replace")
        elif kind == _BODY:
            body = value.rstrip(b"\0").decode(codepage, errors="replace")
        elif kind == _RENDER and level == 2:
            budget.enter(what)
            attachments.append(_Attachment())
        elif kind == _TITLE and attachments:
            attachments[-1].names["title"] = value.rstrip(b"\0").decode(codepage, errors="replace")
        elif kind == _DATA and attachments:
            attachments[-1].data = value
        elif kind in (_MSG_PROPS, _ATTACHMENT):
            try:
                properties = _properties(value, codepage)
            except (struct.error, ValueError, IndexError) as exc:
                problems.append(f"{what}: malformed TNEF properties ({exc})")
                continue
            if kind == _MSG_PROPS:
                subject = str(properties.get(_PR_SUBJECT) or subject)
                body = body or str(properties.get(_PR_BODY) or "")
                html = html or _as_bytes(properties.get(_PR_HTML))
                rtf = rtf or _as_bytes(properties.get(_PR_RTF))
            elif attachments:
                _attachment_properties(attachments[-1], properties)
    if not body and html:
        body = html_text(html.decode(codepage, errors="replace"))
    if not body and rtf:
        try:
            body = rtf_text(decompressed_rtf(rtf, budget.allowance(), what), budget, what)
        except Unscannable as exc:
            problems.append(str(exc))
    files = []
    for number, attachment in enumerate(attachments, 1):
        if attachment.data is None:
            continue
        names = attachment.names
        name = names.get("long") or names.get("title") or names.get("short") or names.get("display") or f"attachment-{number}"
        budget.spend(len(attachment.data), what)
        files.append((name.replace("/", "_").replace("\\", "_"), attachment.data))
    text = (f"Subject: {subject}\n\n" if subject else "") + body
    return text, files, problems


def _attachment_properties(attachment: _Attachment, properties: dict[int, object]) -> None:
    for prop, key in ((_PR_LONG_NAME, "long"), (_PR_NAME, "short"), (_PR_DISPLAY, "display")):
        if isinstance(properties.get(prop), str) and properties[prop]:
            attachment.names[key] = str(properties[prop])
    data = properties.get(_PR_DATA)
    if attachment.data is None and isinstance(data, bytes):
        attachment.data = data


def _as_bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else value.encode() if isinstance(value, str) else b""


def _properties(data: bytes, codepage: str) -> dict[int, object]:
    """MAPI properties encoded as [MS-OXTNEF] 2.1.3.5: id -> its (first) value, strings decoded,
    binary and object values as bytes (an object without its 16-byte interface id)."""
    (count,) = struct.unpack_from("<I", data, 0)
    if count > MAX_PROPERTIES:
        raise ValueError(f"{count} properties")
    pos = 4
    found: dict[int, object] = {}
    for _ in range(count):
        kind, prop = struct.unpack_from("<HH", data, pos)
        pos += 4
        if prop >= 0x8000:  # a named property: GUID, then a number or a name
            (named,) = struct.unpack_from("<I", data, pos + 16)
            pos += 20
            if named == 1:
                (size,) = struct.unpack_from("<I", data, pos)
                pos += 4 + _padded(size)
            else:
                pos += 4
        base = kind & ~_MULTIPLE
        values: list[object] = []
        if base in (_STRING8, _UNICODE, _BINARY, _OBJECT) or kind & _MULTIPLE:
            (many,) = struct.unpack_from("<I", data, pos)
            pos += 4
            if many > MAX_VALUES:
                raise ValueError(f"{many} values")
        else:
            many = 1
        for _ in range(many):
            if base in (_STRING8, _UNICODE, _BINARY, _OBJECT):
                (size,) = struct.unpack_from("<I", data, pos)
                raw = data[pos + 4 : pos + 4 + size]
                if len(raw) != size:
                    raise ValueError("a value runs past the end")
                pos += 4 + _padded(size)
                values.append(raw.decode("utf-16-le", errors="replace").rstrip("\0") if base == _UNICODE
                              else raw.decode(codepage, errors="replace").rstrip("\0") if base == _STRING8
                              else raw[16:] if base == _OBJECT else raw)
            elif base in _FIXED:
                pos += _padded(_FIXED[base])
            else:
                raise ValueError(f"property type {kind:#x}")
        if pos > len(data):
            raise ValueError("properties run past the end")
        if values and prop < 0x8000:
            found.setdefault(prop, values[0])
    return found


def _padded(size: int) -> int:
    return (size + 3) & ~3

