"""Outlook messages (.msg): a mail saved or dragged out of Outlook, or attached to another.

A .msg is a compound file ([MS-CFB], read by olefile) laid out as [MS-OXMSG] describes: each
property of the message is a stream `__substg1.0_IIIITTTT` (property id, then type: 001F UTF-16,
001E 8-bit in the message's code page, 0102 binary), fixed-size ones sit in the
`__properties_version1.0` stream, and recipients and attachments are storages of their own
(`__recip_version1.0_#N`, `__attach_version1.0_#N`). An attachment's bytes are its `3701`
binary stream; an attached message is a storage `__substg1.0_3701000D` laid out like the whole.

Read: subject, sender, To/Cc/Bcc and every recipient's SMTP address, the plain body (else the
HTML body), and attachments, which go back to `extract` as an e-mail's do; an attached message is
read in turn (its text as `NAME/message.txt`, its attachments below `NAME/`). A rights-managed
(IRM, `IPM.Note.rpmsg`) message is `encrypted`; an S/MIME-encrypted one is too, through its
`smime.p7m` attachment (`rules.extract.sealed`). A body kept only as compressed RTF is
decompressed and read (`rules.extract.rtf`). Not read: OLE objects embedded as attachments
(named as unscannable).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Protocol

from rules.extract.budget import Budget, EncryptedContent, Unscannable
from rules.extract.markup import html_text, known_encoding
from rules.extract.rtf import decompressed_rtf, rtf_text

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PROPERTIES = "__properties_version1.0"
_MARKS = (_PROPERTIES.encode("utf-16-le"), "__substg1.0_".encode("utf-16-le"))
_ATTACHMENT, _RECIPIENT, _OBJECT = "__attach_version1.0_#", "__recip_version1.0_#", "__substg1.0_3701000D"
# property ids
_CLASS, _SUBJECT, _SENDER, _SENDER_ADDRESS, _SENDER_SMTP = 0x001A, 0x0037, 0x0C1A, 0x0C1F, 0x5D01
_TO, _CC, _BCC, _BODY, _HTML, _RTF = 0x0E04, 0x0E03, 0x0E02, 0x1000, 0x1013, 0x1009
_DISPLAY_NAME, _SMTP_ADDRESS, _EMAIL_ADDRESS = 0x3001, 0x39FE, 0x3003
_LONG_NAME, _SHORT_NAME, _ATTACH_DATA, _ATTACH_METHOD = 0x3707, 0x3704, 0x3701, 0x3705
_CODEPAGES = (0x3FFD, 0x3FDE)  # PR_MESSAGE_CODEPAGE, PR_INTERNET_CPID
EMBEDDED_MESSAGE, EMBEDDED_OLE = 5, 6  # PidTagAttachMethod
#: String properties left out of a message's other fields: those its headers and body already
#: give, its class, and the transport headers (routing, not content, as an e-mail's are).
_NOT_FIELDS = frozenset({_CLASS, _SUBJECT, _SENDER, _SENDER_ADDRESS, _SENDER_SMTP, _TO, _CC, _BCC, _BODY, _HTML,
                         0x007D})
#: Attached messages read inside one another, at most.
MAX_NESTED = 4

Attachment = tuple[str, bytes]


class MessageProperties(Protocol):
    """A message's MAPI properties, wherever they are kept (a .msg's streams, a .pst's nodes)."""

    codepage: str  # of its 8-bit strings

    def string(self, prop: int) -> str | None: ...

    def binary(self, prop: int) -> bytes | None: ...

    def integer(self, prop: int) -> int | None: ...

    def recipients(self) -> list[str]: ...

    def strings(self) -> dict[int, str]:
        """Every string property, by id."""
        ...


def message_text(props: MessageProperties, budget: Budget, what: str) -> tuple[str, list[str]]:
    """A message's headers and body as text, and what could not be read: the plain body, else
    the HTML one, else the compressed RTF one, then the message's other text fields (a contact's
    e-mail addresses and phone numbers, a meeting's location), each value once. A rights-managed
    (IRM) message is `encrypted`."""
    if (props.string(_CLASS) or "").lower().startswith("ipm.note.rpmsg"):
        raise EncryptedContent(f"{what}: rights-protected (IRM) Outlook message")
    address = props.string(_SENDER_SMTP) or props.string(_SENDER_ADDRESS)
    sender = " ".join(filter(None, [props.string(_SENDER), _bracketed(address)]))
    lines = [f"{label}: {value}" for label, value in (
        ("From", sender), ("To", props.string(_TO)), ("Cc", props.string(_CC)), ("Bcc", props.string(_BCC)),
        ("Subject", props.string(_SUBJECT)), ("Recipients", ", ".join(props.recipients()))) if value]
    problems: list[str] = []
    body = props.string(_BODY)
    if body is None:
        html = props.binary(_HTML)
        internet = props.integer(0x3FDE)
        page = props.codepage if internet is None else f"cp{internet}"
        body = (html_text(html.decode(page if known_encoding(page) else "utf-8", errors="replace")) if html is not None
                else html_text(props.string(_HTML) or ""))
        rtf = None if body else props.binary(_RTF)
        if rtf is not None:  # a rich-text message: the body only as compressed RTF
            try:
                body = rtf_text(decompressed_rtf(rtf, budget.allowance(), what), budget, what)
            except Unscannable as exc:  # the headers and attachments are still read
                problems.append(str(exc))
    return "\n".join(lines) + "\n\n" + body + _fields(props, lines), problems


def _fields(props: MessageProperties, lines: list[str]) -> str:
    """The string properties the headers do not show, as lines after the body."""
    shown = "\n".join(lines)
    values = dict.fromkeys(value for prop, value in sorted(props.strings().items())
                           if prop not in _NOT_FIELDS and len(value) > 1 and value not in shown)
    return "\n\n" + "\n".join(values) if values else ""


def attachment_name(props: MessageProperties, number: int) -> str:
    """The name an attachment is reported under: its long file name, else its short one, else its
    display name, else its number."""
    return (props.string(_LONG_NAME) or props.string(_SHORT_NAME) or props.string(_DISPLAY_NAME)
            or f"attachment-{number + 1}").replace("/", "_")


def nested_too_deep(name: str, depth: int, what: str, problems: list[str]) -> bool:
    """Whether an attached message at `depth` is past `MAX_NESTED` (then named in `problems`)."""
    if depth < MAX_NESTED:
        return False
    problems.append(f"{what}/{name}: messages attached more than {MAX_NESTED} deep")
    return True


def attach_message(attachments: list[Attachment], problems: list[str], name: str,
                   message: tuple[str, list[Attachment], list[str]]) -> None:
    """An attached message read in turn: its text as `NAME/message.txt`, its attachments below `NAME/`."""
    text, inner, more = message
    attachments.append((f"{name}/message.txt", text.encode("utf-8")))
    attachments.extend((f"{name}/{inner_name}", payload) for inner_name, payload in inner)
    problems.extend(more)


def is_outlook_message(data: bytes) -> bool:
    """Whether `data` is a compound file laid out as an Outlook message."""
    return data.startswith(CFB_MAGIC) and all(mark in data for mark in _MARKS)


def outlook_content(data: bytes, budget: Budget, what: str) -> tuple[str, list[Attachment], list[str]]:
    """The message's headers and body as text, its attachments for the caller to extract in
    turn, and what could not be read."""
    import olefile

    try:
        ole = olefile.OleFileIO(data)
        entries = {tuple(path) for path in ole.listdir(streams=True, storages=True)}
    except (OSError, ValueError, IndexError, struct.error, RecursionError) as exc:
        raise Unscannable(f"{what}: corrupt Outlook message ({exc})") from None
    reader = _Reader(ole, entries, len(data), budget, what)
    try:
        return reader.message((), 0)
    except (EncryptedContent, Unscannable):
        raise
    except (OSError, ValueError, IndexError, KeyError, struct.error, UnicodeError, RecursionError, TypeError,
            LookupError) as exc:
        raise Unscannable(f"{what}: malformed Outlook message ({type(exc).__name__}: {exc})") from None


class _Reader:
    def __init__(self, ole: object, entries: set[tuple[str, ...]], file_size: int, budget: Budget, what: str) -> None:
        self.ole, self.entries, self.file_size, self.budget, self.what = ole, entries, file_size, budget, what

    def message(self, at: tuple[str, ...], depth: int) -> tuple[str, list[Attachment], list[str]]:
        """Text, attachments and problems of the message stored at `at` (() for the file)."""
        props = _Stored(self, at, 32 if not at else 24)
        text, problems = message_text(props, self.budget, self.what)
        attachments: list[Attachment] = []
        for number, storage in enumerate(self._children(at, _ATTACHMENT)):
            self.budget.enter(self.what)
            self._attachment(at + (storage,), number, props.codepage, depth, attachments, problems)
        return text, attachments, problems

    def _attachment(self, at: tuple[str, ...], number: int, codepage: str, depth: int,
                    attachments: list[Attachment], problems: list[str]) -> None:
        props = _Stored(self, at, 8, codepage)
        name = attachment_name(props, number)
        data = self._binary(at, _ATTACH_DATA)
        if data is not None:
            attachments.append((name, data))
            return
        if (*at, _OBJECT) not in self.entries:
            return  # by reference (a link or a cloud file): nothing attached
        if props.integer(_ATTACH_METHOD) != EMBEDDED_MESSAGE:
            problems.append(f"{self.what}/{name}: an embedded OLE object, which is not read")
            return
        if nested_too_deep(name, depth, self.what, problems):
            return
        attach_message(attachments, problems, name, self.message((*at, _OBJECT), depth + 1))

    def _recipients(self, at: tuple[str, ...], codepage: str) -> list[str]:
        found = []
        for storage in self._children(at, _RECIPIENT):
            self.budget.enter(self.what)
            where = (*at, storage)
            address = self._string(where, _SMTP_ADDRESS, codepage) or self._string(where, _EMAIL_ADDRESS, codepage)
            name = self._string(where, _DISPLAY_NAME, codepage)
            found.append(recipient_line(name, address))
        return [r for r in found if r]

    def _children(self, at: tuple[str, ...], prefix: str) -> list[str]:
        return sorted({path[len(at)] for path in self.entries
                       if len(path) > len(at) + 1 and path[: len(at)] == at and path[len(at)].startswith(prefix)})

    def _exists(self, at: tuple[str, ...], name: str) -> bool:
        return (*at, name) in self.entries

    def _read(self, path: Sequence[str]) -> bytes:
        size = self.ole.get_size(list(path))  # type: ignore[attr-defined]
        if size > self.file_size:
            raise Unscannable(f"{self.what}: the stream {'/'.join(path)} claims {size} bytes in a file of "
                              f"{self.file_size}")
        data: bytes = self.ole.openstream(list(path)).read()  # type: ignore[attr-defined]
        self.budget.spend(len(data), self.what)
        return data

    def _string(self, at: tuple[str, ...], prop: int, codepage: str) -> str | None:
        for kind, encoding in (("001F", "utf-16-le"), ("001E", codepage)):
            name = f"__substg1.0_{prop:04X}{kind}"
            if self._exists(at, name):
                return self._read((*at, name)).decode(encoding, errors="replace").rstrip("\0").strip()
        return None

    def _binary(self, at: tuple[str, ...], prop: int) -> bytes | None:
        name = f"__substg1.0_{prop:04X}0102"
        return self._read((*at, name)) if self._exists(at, name) else None

    def _fixed(self, at: tuple[str, ...], header: int) -> dict[int, int]:
        """Property id -> value of the 4-byte integer properties in `at`'s properties stream."""
        if not self._exists(at, _PROPERTIES):
            return {}
        stream = self._read((*at, _PROPERTIES))
        values = {}
        for offset in range(header, len(stream) - 15, 16):
            tag, _, value = struct.unpack_from("<IIQ", stream, offset)
            if tag & 0xFFFF == 0x0003:  # PT_LONG
                values[tag >> 16] = value & 0xFFFFFFFF
        return values


def _bracketed(address: str | None) -> str | None:
    return f"<{address}>" if address else None


class _Stored:
    """The properties of the message, attachment or recipient stored at `at` in a .msg."""

    def __init__(self, reader: _Reader, at: tuple[str, ...], header: int, codepage: str | None = None) -> None:
        self.reader, self.at, self.fixed = reader, at, reader._fixed(at, header)
        self.codepage = codepage or next(
            (f"cp{self.fixed[p]}" for p in _CODEPAGES if p in self.fixed and known_encoding(f"cp{self.fixed[p]}")),
            "cp1252")

    def string(self, prop: int) -> str | None:
        return self.reader._string(self.at, prop, self.codepage)

    def binary(self, prop: int) -> bytes | None:
        return self.reader._binary(self.at, prop)

    def integer(self, prop: int) -> int | None:
        return self.fixed.get(prop)

    def recipients(self) -> list[str]:
        return self.reader._recipients(self.at, self.codepage)

    def strings(self) -> dict[int, str]:
        found = {}
        for path in self.reader.entries:
            name = path[-1]
            if len(path) == len(self.at) + 1 and path[: len(self.at)] == self.at and name.startswith("__substg1.0_") \
                    and name[-4:] in ("001F", "001E"):
                value = self.string(int(name[12:16], 16))
                if value:
                    found[int(name[12:16], 16)] = value
        return found


def recipient_line(name: str | None, address: str | None) -> str:
    """A recipient as a header shows one: `Name <address>`."""
    return " ".join(filter(None, [name, _bracketed(address)]))

