"""Mailbox files (mbox: Thunderbird's folders, Google Takeout, `mutt` exports), written by the
standard library's `mailbox` module."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path

from rules.extract import Limits, extract
from rules.extract.sniff import sniff
from tests.rules import samples

CARD = "4111 1111 1111 1111"
RID = "11010519491231002X"


def message(subject: str, body: str, attachment: bytes | None = None) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "alice@example.com", "bob@partner.example", subject
    mail.set_content(body)
    if attachment is not None:
        mail.add_attachment(attachment, maintype="text", subtype="csv", filename="customers.csv")
    return mail


def write_mbox(path: Path, messages: list[EmailMessage]) -> bytes:
    box = mailbox.mbox(str(path))
    for mail in messages:
        box.add(mail)
    box.flush()
    box.close()
    return path.read_bytes()


def test_every_message_and_attachment_of_a_mailbox_is_read(tmp_path: Path) -> None:
    data = write_mbox(tmp_path / "Inbox", [
        message("one", "From the start of a line, a body line mbox quotes\nno secrets"),
        message("two", "see attached", f"name,card\nAda,{CARD}\n".encode()),
        message("three", f"resident {RID}")])
    assert sniff(data, "Inbox") == "mbox"
    result = extract(data, "Inbox")
    assert result.status == "ok", result.reason
    assert [p.path for p in result.parts] == ["Inbox/message-1.eml", "Inbox/message-2.eml",
                                              "Inbox/message-2.eml/customers.csv", "Inbox/message-3.eml"]
    assert CARD in result.text and RID in result.text  # the attachment was base64 before: unread


def test_a_mailbox_past_the_entry_limit_is_unscannable(tmp_path: Path) -> None:
    data = write_mbox(tmp_path / "big", [message(f"m{n}", "hi") for n in range(30)])
    result = extract(data, "big", limits=Limits(max_entries=20))
    assert result.status == "unscannable" and "more than 20 embedded entries" in (result.reason or "")


def test_text_that_merely_starts_with_from_is_text() -> None:
    for text in (b"From the desk of the CFO: figures below\n", b"From alice Monday\nhello\n"):
        assert sniff(text, "note.txt") == "text"


def test_damaged_copies_never_raise(tmp_path: Path) -> None:
    data = write_mbox(tmp_path / "x", [message("a", "b", b"c,d\n"), message("e", "f")])
    for copy in samples.damaged(data, "mbox", 200, most_flips=6, cut_chance=0.3):
        assert extract(copy, "Inbox").status in ("ok", "unscannable", "encrypted")
