"""Outlook data files (.pst, and .ost offline caches): a whole mailbox in one file, the classic
way to carry years of mail out on a USB stick.

Read through `pst_ndb` (blocks and B-trees) and `pst_ltp` (property lists and tables), as
[MS-PST] lays them out: every message of every folder, with its headers, recipients and body
(plain, else HTML, else compressed RTF, rendered as a .msg's are by `rules.extract.outlook`), and
its attachments, which go back to `extract`; a message attached to another is read in turn, up to
`outlook.MAX_NESTED` deep. Messages are named by folder path and subject. Both of Outlook's
scramblings of the data are undone (`pst_crypt`); a .pst password is not encryption, so a file
with one is read too.

Not read: associated (hidden) messages such as views and rules, search folders (their messages
live in other folders and are read there), and deleted items still lying in free space.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from rules.extract.budget import Budget, Unscannable
from rules.extract.markup import known_encoding
from rules.extract.outlook import (
    EMBEDDED_MESSAGE,
    EMBEDDED_OLE,
    Attachment,
    attach_message,
    attachment_name,
    message_text,
    nested_too_deep,
    recipient_line,
)
from rules.extract.pst_ltp import Heap, Value, properties, table_rows
from rules.extract.pst_ndb import Database

MAGIC = b"!BDN"
_FOLDER, _MESSAGE, _ATTACHMENT = 0x02, 0x04, 0x05  # NID types
_RECIPIENT_TABLE = 0x692
_NAME, _METHOD, _DATA, _SMTP, _EMAIL = 0x3001, 0x3705, 0x3701, 0x39FE, 0x3003
_CODEPAGE = 0x3FFD
_UNICODE, _STRING8, _OBJECT = 0x001F, 0x001E, 0x000D
_BY_VALUE = 1
#: Folders nested deeper than this are taken for a loop in the parents' links.
_MAX_FOLDER_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a mailbox: where it is, its text, its attachments and what was not read."""

    name: str
    text: str
    attachments: list[Attachment]
    problems: list[str]


#: The client signatures of the header: a .pst, an offline cache (.ost), a personal address book (.pab).
_CLIENTS = (b"SM", b"SO", b"AB")


def is_pst(data: bytes) -> bool:
    """Whether `data` is an Outlook data file (.pst, .ost or .pab)."""
    return data[:4] == MAGIC and data[8:10] in _CLIENTS


def pst_messages(data: bytes, budget: Budget, what: str) -> Iterator[Message]:
    """Every message of the file, folder by folder."""
    try:
        db = Database(data, budget, what)
    except (struct.error, IndexError, ValueError) as exc:
        raise Unscannable(f"{what}: malformed Outlook data file ({type(exc).__name__}: {exc})") from None
    reader = _Reader(db, budget, what)
    for nid in sorted(n for n in db.nodes if n & 0x1F == _MESSAGE):
        budget.enter(what)
        try:
            yield reader.read(nid)
        except Unscannable as exc:  # one damaged message: the others are still read
            if budget.allowance() == 0 or budget.seconds_left() == 0:
                raise
            yield Message(f"message #{nid >> 5}", "", [], [str(exc)])


class _Reader:
    def __init__(self, db: Database, budget: Budget, what: str) -> None:
        self.db, self.budget, self.what = db, budget, what
        self._folders: dict[int, str] = {}

    def read(self, nid: int) -> Message:
        """The message whose node is `nid`, named by its folder and subject."""
        db, what = self.db, self.what
        try:
            folder = self.folder(db.parents.get(nid, 0))
            props, heap = properties(db, db.nodes[nid])
            text, attachments, problems = self.message(props, heap, 0)
        except (struct.error, IndexError, ValueError, UnicodeError, LookupError) as exc:
            raise Unscannable(f"{what}: malformed Outlook message {nid:#x} ({type(exc).__name__}: {exc})") from None
        subject = _Properties(props, heap, db, _codepage(props)).string(0x0037) or "message"
        self.budget.spend(len(text), what)
        return Message(f"{folder}/{_clean(subject)} #{nid >> 5}".lstrip("/"), text, attachments, problems)

    def folder(self, nid: int) -> str:
        """The path of folder `nid` from the top of the mailbox ("" for the root)."""
        if nid in self._folders:
            return self._folders[nid]
        names, at = [], nid
        for _ in range(_MAX_FOLDER_DEPTH):
            parent = self.db.parents.get(at, at)
            node = self.db.nodes.get(at)
            if node is None or parent == at or at & 0x1F != _FOLDER:
                break
            props, heap = properties(self.db, node)
            names.append(_clean(_Properties(props, heap, self.db, "cp1252").string(_NAME) or f"folder {at >> 5}"))
            at = parent
        self._folders[nid] = "/".join(reversed(names))
        return self._folders[nid]

    def message(self, props: dict[int, Value], heap: Heap, depth: int) -> tuple[str, list[Attachment], list[str]]:
        codepage = _codepage(props)
        text, problems = message_text(_Properties(props, heap, self.db, codepage), self.budget, self.what)
        attachments: list[Attachment] = []
        for number, nid in enumerate(sorted(n for n in heap.subnodes() if n & 0x1F == _ATTACHMENT)):
            self.budget.enter(self.what)
            inner, inner_heap = properties(self.db, heap.subnode(nid))
            self._attachment(_Properties(inner, inner_heap, self.db, codepage), number, depth, attachments, problems)
        return text, attachments, problems

    def _attachment(self, props: _Properties, number: int, depth: int,
                    attachments: list[Attachment], problems: list[str]) -> None:
        name = attachment_name(props, number)
        method = props.integer(_METHOD)
        kind, value = props.values.get(_DATA, (0, b""))
        if kind == _OBJECT and method == EMBEDDED_MESSAGE:
            if nested_too_deep(name, depth, self.what, problems):
                return
            if len(value) < 4:
                raise Unscannable(f"{self.what}/{name}: damaged attached message")
            node = props.heap.subnode(struct.unpack_from("<I", value)[0])
            inner, heap = properties(self.db, node)
            attach_message(attachments, problems, name, self.message(inner, heap, depth + 1))
        elif method == EMBEDDED_OLE:
            problems.append(f"{self.what}/{name}: an embedded OLE object, which is not read")
        elif _DATA in props.values and (method is None or method == _BY_VALUE):
            self.budget.spend(len(value), self.what)
            attachments.append((name, value))


class _Properties:
    """A property context seen as `outlook.MessageProperties`."""

    def __init__(self, values: dict[int, Value], heap: Heap, db: Database, codepage: str) -> None:
        self.values, self.heap, self.db, self.codepage = values, heap, db, codepage

    def string(self, prop: int) -> str | None:
        kind, value = self.values.get(prop, (0, b""))
        if kind == _UNICODE:
            return value.decode("utf-16-le", errors="replace").rstrip("\0").strip()
        if kind == _STRING8:
            return value.decode(self.codepage, errors="replace").rstrip("\0").strip()
        return None

    def strings(self) -> dict[int, str]:
        found = {prop: self.string(prop) for prop, (kind, _) in self.values.items() if kind in (_UNICODE, _STRING8)}
        return {prop: value for prop, value in found.items() if value}

    def binary(self, prop: int) -> bytes | None:
        kind, value = self.values.get(prop, (0, b""))
        return value if kind == 0x0102 else None

    def integer(self, prop: int) -> int | None:
        kind, value = self.values.get(prop, (0, b""))
        return int.from_bytes(value[:4], "little") if kind == 0x0003 and len(value) >= 4 else None

    def recipients(self) -> list[str]:
        node = self.heap.subnodes().get(_RECIPIENT_TABLE)
        if node is None:
            return []
        found = []
        for row in table_rows(self.db, node):
            cells = _Properties(row, self.heap, self.db, self.codepage)
            found.append(recipient_line(cells.string(_NAME), cells.string(_SMTP) or cells.string(_EMAIL)))
        return [line for line in found if line]


def _codepage(props: dict[int, Value]) -> str:
    kind, value = props.get(_CODEPAGE, (0, b""))
    page = f"cp{int.from_bytes(value[:4], 'little')}" if kind == 0x0003 else "cp1252"
    return page if known_encoding(page) else "cp1252"


def _clean(name: str) -> str:
    """A folder name or subject made safe as one part of a path."""
    return " ".join(name.replace("/", "_").split())[:80] or "_"
