"""Outlook data files (`rules/extract/pst.py`, `pst_ndb.py`, `pst_ltp.py`, `pst_crypt.py`).

No program here writes .pst files, so they come from our writer for tests
(`tests/rules/pst_pack.py`, written from [MS-PST] apart from the reader), whose output `readpst`
(libpst, an independent reader) reads back in `test_pst_pack.py`, with libpff's pypff. They test
the format as the specification, libpst and libpff read it (for Outlook 2013's 4 KiB-page .ost,
which [MS-PST] leaves out, as libpff's documentation and both libraries read it), not files
Outlook wrote.
"""

from __future__ import annotations

import contextlib
import struct

import pytest

from rules.detectors import scan_text
from rules.extract import Limits, extract
from rules.extract.budget import Budget, Unscannable
from rules.extract.pst import pst_messages
from rules.extract.pst_ndb import Database
from rules.extract.sniff import sniff
from tests.rules import samples
from tests.rules.pst_pack import Attachment, Folder, Message, pst_bytes, pst_pack

CARD = "4111 1111 1111 1111"
RID = "11010519491231002X"
IBAN = "DE89370400440532013000"


def _mailbox(unicode: bool = True) -> list[Folder]:
    """Folders with a message of each kind; an ANSI file holds only its code page (1252 here)."""
    report = Message(f"Q3 customers {RID}", body=f"Cards below.\nAda {CARD}\n", sender_name="Alice Example",
                     sender_address="alice@example.com",
                     recipients=[("Bob", "bob@partner.example"), ("Carol", "carol@x.example")],
                     attachments=[Attachment("customers.csv", data=f"name,card\nAda,{CARD}\n".encode()),
                                  Attachment("report.docx", data=samples.docx([f"id {RID}"]))])
    forwarded = Message("FW: payroll", body=f"IBAN {IBAN}",
                        attachments=[Attachment("payroll", message=Message("payroll", body=f"resident {RID}",
                                     attachments=[Attachment("cards.txt", data=CARD.encode())]))])
    html = Message("newsletter", html=f"<p>card <b>{CARD}</b></p>".encode(), omit_body=True)
    local = Message(*(("身份证号码", f"客户身份证号码 {RID}") if unicode else ("Überweisung", f"Kunde Müller {RID}")))
    return [Folder("Inbox", [report, html], [Folder("Projects", [forwarded])]),
            Folder("已发送" if unicode else "Gesendete Elemente", [local])]


_FORMATS = {"unicode": {}, "ansi": {"unicode": False}, "4k": {"four_k": True},
            "4k-zlib": {"four_k": True, "compress": True}}


@pytest.mark.parametrize("form", list(_FORMATS))
@pytest.mark.parametrize("crypt", [0, 1, 2], ids=["plain", "permute", "cyclic"])
def test_every_message_folder_and_attachment_is_read(form: str, crypt: int) -> None:
    unicode = _FORMATS[form].get("unicode", True)
    pst = pst_bytes(_mailbox(unicode), crypt=crypt, **_FORMATS[form])
    sent, local = ("已发送", "身份证号码") if unicode else ("Gesendete Elemente", "Überweisung")
    assert sniff(pst, "backup.pst") == "pst" and sniff(pst, "renamed.bin") == "pst"
    result = extract(pst, "backup.pst")
    assert result.status == "ok", result.reason
    paths = [p.path.split("/", 1)[1] for p in result.parts]
    top = paths[0].split("/")[0]  # the mailbox's top folder, whatever the writer calls it
    assert sorted(p.removeprefix(top + "/") for p in paths) == sorted([
        f"Inbox/Q3 customers {RID} #{_index(paths, 'Q3 customers')}",
        f"Inbox/Q3 customers {RID} #{_index(paths, 'Q3 customers')}/customers.csv",
        f"Inbox/Q3 customers {RID} #{_index(paths, 'Q3 customers')}/report.docx",
        f"Inbox/newsletter #{_index(paths, 'newsletter')}",
        f"Inbox/Projects/FW: payroll #{_index(paths, 'FW: payroll')}",
        f"Inbox/Projects/FW: payroll #{_index(paths, 'FW: payroll')}/payroll/message.txt",
        f"Inbox/Projects/FW: payroll #{_index(paths, 'FW: payroll')}/payroll/cards.txt",
        f"{sent}/{local} #{_index(paths, local)}",
    ])
    text = result.text
    assert "From: Alice Example <alice@example.com>" in text and "To: Bob; Carol" in text
    assert "Recipients: Bob <bob@partner.example>, Carol <carol@x.example>" in text
    assert f"Subject: {local}" in text and "<b>" not in text
    found = [(f.detector, text[f.start : f.end]) for f in scan_text(text)]
    assert found.count(("credit_card", CARD)) == 4  # body, CSV, HTML body, attached message's file
    assert found.count(("cn_resident_id", RID)) >= 4 and ("iban", IBAN) in found


def _index(paths: list[str], subject: str) -> str:
    """The node index our reader puts after a subject (it names messages apart)."""
    name = next(p for p in paths if f"/{subject}" in p and "#" in p)
    return name.rsplit("#", 1)[1].split("/")[0]


@pytest.mark.parametrize("unicode", [True, False], ids=["unicode", "ansi"])
def test_big_values_tables_and_trees_are_read(unicode: bool) -> None:
    """Values in subnodes and in lists of blocks, heaps over several blocks with a bitmap page,
    index levels of a heap's B-tree, B-trees of several levels, subnode lists of lists, a table's
    rows in a subnode: each case is in the file by the writer's own counts, so none is missed."""
    big_body = "".join(f"line {n}: nothing to see\n" for n in range(2000)) + f"card {CARD}\n"
    many = {0x8100 + n: (0x001F if unicode else 0x001E, f"value {n:04d} of the many properties".encode("utf-16-le" if unicode else "ascii"))
            for n in range(2600)}
    crowd = [(f"Person {n}", f"person{n}@corp.example") for n in range(120)]
    messages = [Message(f"note {n}", body=f"note {n}") for n in range(260)]
    messages += [Message("big", body=big_body, attachments=[Attachment("blob.csv", data=(f"{RID}\n" * 400).encode())]),
                 Message("many", body=f"iban {IBAN}", extra=many),
                 Message("crowd", body="all hands", recipients=crowd),
                 Message("files", body="scans", attachments=[Attachment(f"f{n}.txt", data=f"{n} {CARD}".encode())
                                                            for n in range(700)])]
    pst, stats = pst_pack([Folder("Archive", messages)], unicode=unicode)
    assert stats.nbt_levels >= 2 and stats.bbt_levels >= 2 and stats.xblocks and stats.siblocks
    assert stats.multi_block_heaps and stats.bitmap_headers and stats.bth_index_levels >= 1 and stats.subnode_values
    assert stats.row_matrix_subnodes
    result = extract(pst, "archive.pst", limits=Limits(max_entries=2000))
    assert result.status == "ok", result.reason
    assert len([p for p in result.parts if "/note " in p.path]) == 260
    assert CARD in result.text and result.text.count(RID) == 400 and IBAN in result.text
    assert all(f"Subject: note {n}\n" in result.text for n in range(260))
    assert "Person 119 <person119@corp.example>" in result.text
    assert len([p for p in result.parts if "/files #" in p.path]) == 701
    assert result.text.count(f" {CARD}") == 700 + 1
    assert all(f"value {n:04d} of the many properties\n" in result.text for n in range(2600))


def test_a_contact_is_read_with_its_fields() -> None:
    """A contacts folder exported to a .pst is a customer list: its fields are text after the
    (empty) body, a contact's e-mail addresses as named properties (ids from 0x8000)."""
    fields = {0x3001: "Ada Lovelace", 0x3A1C: "+44 7700 900123", 0x3A16: "Analytical Engines Ltd",
              0x8084: "ada@engines.example", 0x3A29: "12 St James's Square, London"}
    contact = Message("Ada Lovelace", message_class="IPM.Contact", omit_body=True,
                      extra={prop: (0x001F, value.encode("utf-16-le")) for prop, value in fields.items()})
    result = extract(pst_bytes([Folder("Contacts", [contact])]), "contacts.pst")
    assert result.status == "ok", result.reason
    assert all(value in result.text for value in fields.values())
    assert "IPM.Contact" not in result.text and result.text.count("Ada Lovelace") == 1


def test_a_body_of_megabytes_is_read_whole() -> None:
    body = "x" * 4_500_000 + f" card {CARD}"  # 9 MB in UTF-16: more blocks than one list holds
    result = extract(pst_bytes([Folder("Inbox", [Message("huge", body=body)])]), "huge.pst")
    assert result.status == "ok" and result.text.rstrip().endswith(f"card {CARD}")


def test_one_damaged_message_does_not_hide_the_others() -> None:
    pst = bytearray(pst_bytes([Folder("Inbox", [Message("first", body=f"card {CARD}"),
                                                Message("second", body=f"iban {IBAN}")])], crypt=0))
    db = Database(bytes(pst), Budget(Limits(), len(pst)), "t")
    first = min(n for n in db.nodes if n & 0x1F == 0x04)
    offset, _ = db.blocks[db.nodes[first].data]
    pst[offset + 2] = 0  # the heap's signature
    result = extract(bytes(pst), "damaged.pst")
    assert result.status == "unscannable" and "damaged property list" in (result.reason or "")
    assert IBAN in result.text


def test_a_b_tree_that_loops_is_unscannable() -> None:
    pst = bytearray(pst_bytes([Folder("Inbox", [Message(f"m{n}", body="x") for n in range(60)])], crypt=0))
    nbt_root = struct.unpack_from("<Q", pst, 224)[0]
    level = pst[nbt_root + 491]
    assert level > 0  # an index page: its first entry is pointed back at itself
    struct.pack_into("<Q", pst, nbt_root + 16, nbt_root)
    result = extract(bytes(pst), "loop.pst")
    assert result.status == "unscannable" and "Outlook data file" in (result.reason or "")


def test_an_unknown_version_is_named() -> None:
    pst = bytearray(pst_bytes([Folder("Inbox", [Message("m", body="x")])]))
    struct.pack_into("<H", pst, 10, 99)
    result = extract(bytes(pst), "cache.ost")
    assert (result.status, result.reason) == ("unscannable", "cache.ost: an Outlook data file of unknown version 99")


def test_an_offline_cache_of_outlook_2013_with_big_heaps_and_deep_trees_is_read() -> None:
    """4 KiB pages: B-trees of two levels (16-bit entry counts), heaps of many compressed blocks
    whose ids give the block from bit 19, a body over an XBLOCK of compressed blocks."""
    heavy = Message("heavy", body=f"card {CARD}", extra={0x4000 + i: (0x0102, bytes([i]) * 900) for i in range(90)})
    bulk = [Message(f"m{n}", body=f"note {n} " * 50) for n in range(300)]
    ost, stats = pst_pack([Folder("Inbox", [heavy, Message("long", body=f"line of text\n{IBAN}\n" * 3000), *bulk])],
                          four_k=True, compress=True)
    assert stats.nbt_levels == 2 and stats.multi_block_heaps >= 1 and stats.compressed_blocks > 300
    result = extract(ost, "outlook.ost")
    assert result.status == "ok", result.reason
    assert CARD in result.text and result.text.count(IBAN) == 3000 and "note 299" in result.text


def _first_message_block(ost: bytes) -> tuple[int, int]:
    """Where the block of the first message's properties lies in a 4 KiB-page file, and its
    stored size (checked to be compressed)."""
    db = Database(ost, Budget(Limits(), len(ost)), "t")
    first = min(n for n in db.nodes if n & 0x1F == 0x04)
    offset, size, inflated = db._where(db.nodes[first].data)
    assert inflated > size
    return offset, size


@pytest.mark.parametrize("damage", ["stream", "inflated size"])
def test_a_damaged_compressed_block_is_named_and_the_rest_read(damage: str) -> None:
    ost = bytearray(pst_bytes([Folder("Inbox", [Message("first", body="hello " * 400),
                                                Message("second", body=f"iban {IBAN} " * 400)])],
                              crypt=0, four_k=True, compress=True))
    offset, size = _first_message_block(bytes(ost))
    if damage == "stream":
        ost[offset + 2 : offset + size] = bytes(size - 2)
    else:  # the trailer says the block inflates to one byte more than it does
        end = offset + -(-(size + 24) // 512) * 512
        struct.pack_into("<H", ost, end - 6, struct.unpack_from("<H", ost, end - 6)[0] + 1)
    result = extract(bytes(ost), "cache.ost")
    assert result.status == "unscannable" and "damaged compressed block" in (result.reason or "")
    assert IBAN in result.text and "hello" not in result.text


def test_an_offline_cache_of_outlook_2003_2010_is_read() -> None:
    """An .ost before Outlook 2013 is a Unicode .pst with another client signature ("SO")."""
    ost = bytearray(pst_bytes([Folder("Inbox", [Message("cached", body=f"card {CARD}")])]))
    ost[8:10] = b"SO"
    assert sniff(bytes(ost), "outlook.ost") == "pst"
    result = extract(bytes(ost), "outlook.ost")
    assert result.status == "ok" and CARD in result.text


def test_the_entry_limit_grows_with_the_mailbox() -> None:
    """A mailbox may hold one message or attachment per 2 KiB of file above `max_entries`; more,
    and it is cut off there, what came before read."""
    roomy = pst_bytes([Folder("Inbox", [Message(f"m{n}", body=f"note {n} " * 400) for n in range(40)])])
    assert len(roomy) // 2048 > 40
    result = extract(roomy, "roomy.pst", limits=Limits(max_entries=20))
    assert result.status == "ok", result.reason
    crowded = pst_bytes([Folder("Inbox", [Message(f"m{n}", body="x") for n in range(300)])])
    cap = len(crowded) // 2048
    assert 20 < cap < 300
    result = extract(crowded, "crowded.pst", limits=Limits(max_entries=20))
    assert result.status == "unscannable" and f"more than {cap} embedded entries" in (result.reason or "")
    assert len([p for p in result.parts if p.status == "ok"]) == cap


def test_a_pst_inside_a_zip_is_read() -> None:
    result = extract(samples.zip_of({"backup/mail.pst": pst_bytes(_mailbox())}), "usb.zip")
    assert result.status == "ok" and CARD in result.text


def test_the_reader_alone_never_raises_other_errors() -> None:
    pst = pst_bytes(_mailbox(), crypt=1)
    for copy in samples.damaged(pst, "pst", 300, most_flips=8, cut_chance=0.2, shortest=600):
        with contextlib.suppress(Unscannable):
            list(pst_messages(copy, Budget(Limits(), len(copy)), "fuzz.pst"))


def test_damaged_copies_never_raise() -> None:
    pst = pst_bytes(_mailbox(False), unicode=False, crypt=2)
    for copy in samples.damaged(pst, "pst-ansi", 200, most_flips=8, cut_chance=0.2, shortest=600):
        assert extract(copy, "fuzz.pst").status in ("ok", "unscannable", "encrypted")
    ost = pst_bytes(_mailbox(), crypt=1, four_k=True, compress=True)
    for copy in samples.damaged(ost, "ost-4k", 200, most_flips=8, cut_chance=0.2, shortest=600):
        assert extract(copy, "fuzz.ost").status in ("ok", "unscannable", "encrypted")


def test_the_scrambling_tables_are_what_the_specification_says() -> None:
    """[MS-PST]'s tables: R a permutation, I its inverse, S its own inverse (so that high
    encryption undoes itself); checked against libpst by `test_pst_pack.py` through the writer."""
    from rules.extract import pst_crypt

    everything = bytes(range(256))
    assert sorted(pst_crypt.permute(everything)) == list(everything)
    assert pst_crypt.unpermute(pst_crypt.permute(everything)) == everything
    assert pst_crypt.permute(b"\x00\x01\xff") == b"\x41\x36\x3d"
    block = bytes(range(256)) * 40
    for key in (0, 1, 0xFFFF, 0x12345678, 0xFFFFFFFF):
        assert pst_crypt.cyclic(pst_crypt.cyclic(block, key), key) == block
        assert pst_crypt.cyclic(block, key) != block
