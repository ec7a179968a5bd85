"""Outlook .msg files. Nothing on this machine writes them, so `outlook_msg` lays one out as
[MS-OXMSG] describes and `tests.rules.cfb` writes the compound file, which olefile (an independent
reader) is checked to read back stream for stream."""

from __future__ import annotations

import os
import struct

import olefile
import pytest

from rules.detectors import scan_text
from rules.extract import Limits, extract
from rules.extract.sniff import sniff
from tests.rules import samples
from tests.rules.cfb import compound_file
from tests.rules.test_extract_sealed import fixture as sealed_fixture

CARD = "4111 1111 1111 1111"
RID = "11010519491231002X"


def _properties(header: int, longs: dict[int, int]) -> bytes:
    entries = b"".join(struct.pack("<IIQ", prop << 16 | 0x0003, 0x6, value) for prop, value in longs.items())
    return bytes(header) + entries


def _strings(values: dict[int, str], unicode: bool, codepage: str) -> dict[str, bytes]:
    kind, encoding = ("001F", "utf-16-le") if unicode else ("001E", codepage)
    return {f"__substg1.0_{prop:04X}{kind}": (text + "\0").encode(encoding) for prop, text in values.items()}


def message_streams(*, subject: str = "Q3 figures", body: str | None = f"card {CARD}", html: bytes | None = None,
                    sender: tuple[str, str] = ("Alice Example", "alice@example.com"),
                    recipients: tuple[tuple[str, str], ...] = (("Bob Example", "bob@partner.example"),),
                    attachments: tuple[tuple[str, bytes | dict[str, bytes]], ...] = (),
                    message_class: str = "IPM.Note", unicode: bool = True, codepage: int = 1252,
                    embedded: bool = False, rtf_only: bool = False, ole_object: bool = False,
                    fields: dict[int, str] | None = None) -> dict[str, bytes]:
    """The streams of a message (an attachment's content is bytes, or the streams of an attached
    message)."""
    page = f"cp{codepage}"
    streams = {"__properties_version1.0": _properties(24 if embedded else 32, {0x3FFD: codepage, 0x0E07: 1})}
    strings = {0x001A: message_class, 0x0037: subject, 0x0C1A: sender[0], 0x0C1F: sender[1],
               0x0E04: "; ".join(name for name, _ in recipients), **(fields or {})}
    if body is not None:
        strings[0x1000] = body
    streams.update(_strings(strings, unicode, page))
    if html is not None:
        streams["__substg1.0_10130102"] = html
    if rtf_only:
        streams["__substg1.0_10090102"] = bytes(8) + b"XXXX" + bytes(40)  # damaged: no known compression
    for number, (name, address) in enumerate(recipients):
        at = f"__recip_version1.0_#{number:08X}/"
        streams[at + "__properties_version1.0"] = _properties(8, {0x0C15: 1})
        streams.update({at + k: v for k, v in _strings({0x3001: name, 0x39FE: address}, unicode, page).items()})
    for number, (name, content) in enumerate(attachments):
        at = f"__attach_version1.0_#{number:08X}/"
        method = 5 if isinstance(content, dict) else 6 if ole_object and number == 0 else 1
        streams[at + "__properties_version1.0"] = _properties(8, {0x3705: method})
        streams.update({at + k: v for k, v in _strings({0x3707: name, 0x3704: name[:8]}, unicode, page).items()})
        if isinstance(content, dict):
            streams.update({f"{at}__substg1.0_3701000D/{k}": v for k, v in content.items()})
        elif method == 6:
            streams[f"{at}__substg1.0_3701000D/CONTENTS"] = content
        else:
            streams[at + "__substg1.0_37010102"] = content
    return streams


def outlook_msg(**options: object) -> bytes:
    return compound_file(message_streams(**options))  # type: ignore[arg-type]


def test_the_writer_makes_files_olefile_reads() -> None:
    streams = message_streams(attachments=(("big.bin", os.urandom(9000)), ("note.txt", b"x" * 100)))
    ole = olefile.OleFileIO(compound_file(streams))
    assert {"/".join(p) for p in ole.listdir()} == set(streams)
    assert all(ole.openstream(name).read() == data for name, data in streams.items())


def test_subject_people_body_and_attachments_are_read() -> None:
    mail = outlook_msg(subject=f"Resident {RID}", recipients=(("Bob", "bob@partner.example"), ("Carol", "carol@x.example")),
                       attachments=(("customers.csv", f"name,card\nAda,{CARD}\n".encode()),
                                    ("report.docx", samples.docx([f"id {RID}"]))))
    assert sniff(mail, "Q3.msg") == "msg" and sniff(mail, "renamed.bin") == "msg"
    result = extract(mail, "Q3.msg")
    assert result.status == "ok", result.reason
    assert [p.path for p in result.parts] == ["Q3.msg", "Q3.msg/customers.csv", "Q3.msg/report.docx"]
    head = result.text.split("\n\n")[0]
    assert head.splitlines() == ["From: Alice Example <alice@example.com>", "To: Bob; Carol", f"Subject: Resident {RID}",
                                 "Recipients: Bob <bob@partner.example>, Carol <carol@x.example>"]
    found = [(f.detector, result.text[f.start : f.end]) for f in scan_text(result.text)]
    assert found.count(("credit_card", CARD)) == 2 and ("cn_resident_id", RID) in found
    assert ("email", "carol@x.example") in found


def test_an_ansi_message_is_read_in_its_code_page() -> None:
    mail = outlook_msg(subject="Überweisung für Müller", body="Kontonummer DE89370400440532013000", unicode=False)
    result = extract(mail, "ansi.msg")
    assert "Subject: Überweisung für Müller" in result.text and "DE89370400440532013000" in result.text
    chinese = extract(outlook_msg(subject="身份证", body=f"号码 {RID}", unicode=False, codepage=936), "gbk.msg")
    assert "Subject: 身份证" in chinese.text and RID in chinese.text


def test_a_contact_dragged_out_of_outlook_is_read_with_its_fields() -> None:
    fields = {0x3A1C: "+44 7700 900123", 0x8084: "ada@engines.example", 0x007D: "Received: from relay"}
    result = extract(outlook_msg(message_class="IPM.Contact", subject="Ada Lovelace", body=None, fields=fields), "ada.msg")
    assert "+44 7700 900123" in result.text and "ada@engines.example" in result.text
    assert "Received" not in result.text and "IPM.Contact" not in result.text  # routing and class are no content


def test_an_html_only_body_is_read_as_text() -> None:
    result = extract(outlook_msg(body=None, html=f"<p>card <b>{CARD}</b></p>".encode()), "html.msg")
    assert result.status == "ok" and CARD in result.text and "<b>" not in result.text


def test_an_attached_message_is_read_with_its_attachments() -> None:
    inner = message_streams(subject="FW: payroll", body=f"resident {RID}", embedded=True,
                            attachments=(("cards.txt", CARD.encode()),))
    result = extract(outlook_msg(attachments=(("payroll", inner),)), "outer.msg")
    assert result.status == "ok", result.reason
    assert [p.path for p in result.parts][1:] == ["outer.msg/payroll/message.txt", "outer.msg/payroll/cards.txt"]
    assert "Subject: FW: payroll" in result.text and RID in result.text


def test_messages_attached_too_deep_are_named() -> None:
    streams = message_streams(subject="level 5", embedded=True)
    for level in range(4, -1, -1):
        streams = message_streams(subject=f"level {level}", embedded=level > 0, attachments=((f"m{level}", streams),))
    result = extract(compound_file(streams), "deep.msg", limits=Limits(max_depth=20))
    assert result.status == "unscannable" and "messages attached more than 4 deep" in (result.reason or "")
    assert "Subject: level 4" in result.text


def test_an_smime_encrypted_message_is_encrypted() -> None:
    mail = outlook_msg(message_class="IPM.Note.SMIME", body=None, attachments=(("smime.p7m", sealed_fixture("cms.p7m")),))
    result = extract(mail, "secret.msg")
    assert result.status == "encrypted" and result.reason == (
        "secret.msg/smime.p7m: an S/MIME or CMS encrypted message (enveloped data)")


def test_a_rights_protected_message_is_encrypted() -> None:
    mail = outlook_msg(message_class="IPM.Note.rpmsg.Microsoft.Voicemail.UM", attachments=(("message.rpmsg", b"\x76\xe8" * 50),))
    result = extract(mail, "irm.msg")
    assert (result.status, result.reason) == ("encrypted", "irm.msg: rights-protected (IRM) Outlook message")


@pytest.mark.parametrize("case, reason", [
    ({"body": None, "rtf_only": True}, "rtf.msg: compressed RTF of an unknown kind (b'XXXX')"),
    ({"attachments": (("chart", b"\x01" * 64),), "ole_object": True}, "rtf.msg/chart: an embedded OLE object, which is not read"),
])
def test_what_is_not_read_is_named(case: dict[str, object], reason: str) -> None:
    result = extract(outlook_msg(**case), "rtf.msg")
    assert (result.status, result.reason) == ("unscannable", reason)


def test_a_word_document_is_still_no_message() -> None:
    from pathlib import Path

    doc = (Path(__file__).parent / "data" / "legacy_office.doc").read_bytes()
    assert sniff(doc, "a.doc") == "cfb"


def test_a_msg_inside_a_zip_is_read() -> None:
    result = extract(samples.zip_of({"mail/Q3.msg": outlook_msg()}), "mails.zip")
    assert result.status == "ok" and CARD in result.text


def test_attachments_count_against_the_entry_limit() -> None:
    many = tuple((f"f{n}.txt", b"x") for n in range(30))
    result = extract(outlook_msg(attachments=many), "many.msg", limits=Limits(max_entries=20))
    assert result.status == "unscannable" and "more than 20 embedded entries" in (result.reason or "")


def test_damaged_copies_never_raise() -> None:
    original = outlook_msg(attachments=(("customers.csv", CARD.encode() * 200), ("inner", message_streams(embedded=True))))
    for copy in samples.damaged(original, "msg", 300, most_flips=6, cut_chance=0.2, shortest=600):
        assert extract(copy, "fuzz.msg").status in ("ok", "unscannable", "encrypted")
