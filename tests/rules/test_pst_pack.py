"""The .pst writer of the tests (pst_pack) against two readers that are not ours: libpst's readpst
(every message, folder, body, sender and attachment must come back) and, where installed,
libpff's pypff (recipient tables, and the structures readpst cannot read: BTH index levels and
SIBLOCKs). Each test also asserts, from the writer's Stats, that the structure it is about occurs.
"""

from __future__ import annotations

import email.header
import random
from pathlib import Path
from typing import Any

import pytest

from tests.rules.pst_pack import PT_BINARY, PT_LONG, Attachment, Folder, Message, Stats, pst_pack
from tests.rules.samples import readpst_messages


def _text(unicode: bool) -> str:
    """Non-ASCII text that the file's encoding can hold (ANSI strings are cp1252)."""
    return "报告 中文 тест" if unicode else "Café € naïve"


def _rich(unicode: bool) -> Message:
    """Recipients, attachments in the heap, in a one-block subnode and in an XBLOCK, and an
    embedded message with an attachment of its own."""
    t = _text(unicode)
    rng = random.Random(5)
    inner = Message(f"Inner {t}", body=f"inner body {t}", sender_name="Dan", sender_address="dan@example.org",
                    attachments=[Attachment("inner.txt", b"inner attachment bytes")])
    return Message(f"Quarterly {t}", body=f"Hello,\n{t}\nBye\n", sender_name=f"Alice {t}",
                   sender_address="alice@example.com",
                   recipients=[("Bob Example", "bob@example.com"), ("Carol", "carol@example.net")],
                   attachments=[Attachment("small.bin", rng.randbytes(300)),
                                Attachment("mid.bin", rng.randbytes(5000)),
                                Attachment(f"big {t}.bin" if unicode else "big.bin", rng.randbytes(20000)),
                                Attachment("forwarded", message=inner)])


def _tree(unicode: bool) -> list[Folder]:
    t = _text(unicode)
    html_only = Message("HTML only", html=b"<html><body><p>Only <b>HTML</b></p></body></html>", omit_body=True)
    heavy = Message(f"Heavy heap {t}", body=f"after many properties {t}", sender_name="Eve",
                    sender_address="eve@example.com",
                    extra={0x4000 + i: (PT_BINARY, bytes([i]) * 900) for i in range(90)})
    return [Folder("Inbox", [_rich(unicode), html_only, heavy, Message("Plain", body="")],
                   [Folder(f"Projects {t}", [Message(f"Project {n}", body=f"project body {n}") for n in range(3)])]),
            Folder("Archive", [], [Folder("2023", [Message("Old", body="old body")])]),
            Folder("Deleted Items", [Message("Gone", body="deleted body")])]


def _expected(folders: list[Folder], prefix: str = "") -> dict[str, list[Message]]:
    out: dict[str, list[Message]] = {}
    for folder in folders:
        path = prefix + folder.name
        if folder.messages:
            out[path] = folder.messages
        out |= _expected(folder.folders, path + "/")
    return out


def _decoded(value: str) -> str:
    return str(email.header.make_header(email.header.decode_header(value)))


def _check(expected: Message, got: Any) -> None:
    """One message as readpst wrote it against what was packed, recursing into embedded ones."""
    assert got["subject"] == expected.subject
    plain = got.get_body(("plain",))
    if expected.omit_body:
        assert plain is None
    else:
        assert plain is not None and plain.get_content() == expected.body
    if expected.html is not None:
        assert got.get_body(("html",)).get_payload(decode=True) == expected.html
    if expected.sender_address:
        sender = got["from"].addresses[0]
        assert (sender.display_name, sender.addr_spec) == (expected.sender_name, expected.sender_address)
    raw = {name.lower(): value for name, value in got.raw_items()}
    if expected.recipients:
        assert _decoded(raw["to"]) == "; ".join(name for name, _ in expected.recipients)
    parts = list(got.iter_attachments())
    files = {p.get_filename(): p.get_payload(decode=True) for p in parts if p.get_content_type() != "message/rfc822"}
    assert files == {a.name: a.data for a in expected.attachments if a.message is None}
    embedded = [p.get_content() for p in parts if p.get_content_type() == "message/rfc822"]
    inner = [a.message for a in expected.attachments if a.message is not None]
    assert len(embedded) == len(inner)
    for want, have in zip(inner, embedded, strict=True):
        _check(want, have)


def _check_all(folders: list[Folder], found: dict[str, list[Any]]) -> None:
    expected = _expected(folders)
    assert sorted(found) == sorted(expected)
    for path, messages in expected.items():
        by_subject = {m["subject"]: m for m in found[path]}
        assert sorted(by_subject) == sorted(m.subject for m in messages)
        for message in messages:
            _check(message, by_subject[message.subject])


@pytest.mark.parametrize("unicode", [True, False], ids=["unicode", "ansi"])
@pytest.mark.parametrize("crypt", [0, 1, 2], ids=["plain", "permute", "cyclic"])
def test_readpst_reads_every_message(unicode: bool, crypt: int, tmp_path: Path) -> None:
    folders = _tree(unicode)
    data, stats = pst_pack(folders, unicode=unicode, crypt=crypt)
    assert data[10] == (23 if unicode else 14) and data[0x201 if unicode else 0x1CD] == crypt
    assert stats.xblocks >= 2 and stats.subnode_values >= 2  # the 20 KB attachment; the mid one too
    assert stats.multi_block_heaps >= 1 and stats.bitmap_headers >= 1  # the heavy message's PC
    _check_all(folders, readpst_messages(data, tmp_path))


@pytest.mark.parametrize(("unicode", "crypt"), [(True, 2), (False, 1)], ids=["unicode", "ansi"])
def test_readpst_reads_deep_b_trees(unicode: bool, crypt: int, tmp_path: Path) -> None:
    """Enough messages for NBT and BBT pages of two levels and more, and for contents tables whose
    row matrix needs a subnode of several blocks."""
    folders = [Folder(f"Folder {f}", [Message(f"Message {f}-{n}", body=f"body {f} {n} " * (n % 7 + 1),
                                              sender_name="Zed", sender_address=f"zed{n}@example.com")
                                      for n in range(130)]) for f in range(3)]
    data, stats = pst_pack(folders, unicode=unicode, crypt=crypt)
    assert (stats.nbt_levels, stats.bbt_levels) == ((3, 3) if unicode else (2, 2))  # ANSI pages hold more
    assert stats.row_matrix_subnodes >= 3  # the contents table of each folder
    _check_all(folders, readpst_messages(data, tmp_path))


def test_readpst_reads_a_body_under_an_xxblock(tmp_path: Path) -> None:
    """A 9.4 MB body (UTF-16) is more than one XBLOCK of 1021 blocks can hold."""
    body = "".join(f"line {n:07d} of a long body\n" for n in range(180_000))
    folders = [Folder("Inbox", [Message("Huge", body=body, sender_name="Big", sender_address="big@example.com")])]
    data, stats = pst_pack(folders, unicode=True, crypt=1)
    assert stats.xxblocks == 1 and stats.amaps > 8 and stats.pmaps > 1
    _check_all(folders, readpst_messages(data, tmp_path))


@pytest.mark.parametrize("crypt", [0, 1, 2], ids=["plain", "permute", "cyclic"])
def test_readpst_reads_an_offline_cache_with_4k_pages(crypt: int, tmp_path: Path) -> None:
    """Outlook 2013's .ost variant (wVer 36): 4 KiB B-tree pages with 16-bit counts, blocks
    512-byte aligned with 24-byte trailers; enough messages for B-trees of two levels even at
    126-169 entries a page. (readpst does not inflate compressed blocks: pypff checks those.)"""
    folders = _tree(True) + [Folder(f"Bulk {f}", [Message(f"Bulk {f}-{n}", body=f"bulk {n} " * (n % 5 + 1))
                                                  for n in range(110)]) for f in range(2)]
    data, stats = pst_pack(folders, crypt=crypt, four_k=True)
    assert data[10] == 36 and data[8:10] == b"SO" and data[0x201] == crypt
    assert stats.nbt_levels == 2 and stats.bbt_levels == 2 and stats.xblocks >= 2 and stats.compressed_blocks == 0
    _check_all(folders, readpst_messages(data, tmp_path))


# pypff (libpff): a second independent reader, for what readpst does not show or cannot read


def _pypff_file(data: bytes, tmp_path: Path) -> Any:
    try:
        import pypff
    except ImportError:
        from tests.fixtures.realparts import unavailable

        unavailable("pypff not installed (pip install libpff-python)")
    path = tmp_path / "a.pst"
    path.write_bytes(data)
    pst = pypff.file()
    pst.open(str(path))
    return pst


def _pypff_inbox_messages(data: bytes, tmp_path: Path) -> list[Any]:
    top = _pypff_file(data, tmp_path).get_root_folder().sub_folders[0]
    inbox = next(f for f in top.sub_folders if f.name == "Inbox")
    return list(inbox.sub_messages)


def _entries(record_set: Any) -> dict[int, bytes]:
    return {entry.entry_type: entry.data or b"" for entry in record_set.entries}


@pytest.mark.parametrize("unicode", [True, False], ids=["unicode", "ansi"])
def test_pypff_reads_recipient_tables_and_attachments(unicode: bool, tmp_path: Path) -> None:
    many = [(f"Person {n}", f"person{n}@example.com") for n in range(120)]  # rows beyond one allocation
    folders = _tree(unicode)
    folders[0].messages.append(Message("Crowd", body="hi all", recipients=many))
    data, stats = pst_pack(folders, unicode=unicode, crypt=2)
    assert stats.row_matrix_subnodes >= 1
    messages = {m.subject: m for m in _pypff_inbox_messages(data, tmp_path)}
    codec = "utf-16-le" if unicode else "cp1252"
    for packed in (_rich(unicode), folders[0].messages[-1]):
        rows = [_entries(r) for r in messages[packed.subject].recipients.record_sets]
        assert [(r[0x3001].decode(codec), r[0x39FE].decode(codec)) for r in rows] == packed.recipients
    rich = messages[_rich(unicode).subject]
    assert rich.plain_text_body.decode("utf-8") == _rich(unicode).body
    got = {a.long_filename: a.read_buffer(a.size) for a in rich.attachments}
    for attachment in _rich(unicode).attachments:
        if attachment.data is not None:
            assert got[attachment.name] == attachment.data


def test_pypff_reads_bth_index_levels(tmp_path: Path) -> None:
    """500 properties need more than one BTH leaf (447 records of 8 bytes): an index level, which
    readpst does not read (it requires bIdxLevels 0)."""
    extra = {0x4000 + i: (PT_LONG, (i * 7).to_bytes(4, "little")) for i in range(500)}
    folders = [Folder("Inbox", [Message("Many properties", body="still here", extra=extra)])]
    data, stats = pst_pack(folders, unicode=True, crypt=1)
    assert stats.bth_index_levels == 1
    message = _pypff_inbox_messages(data, tmp_path)[0]
    assert (message.subject, message.plain_text_body) == ("Many properties", b"still here")
    entries = _entries(message.record_sets[0])
    assert all(entries[0x4000 + i] == (i * 7).to_bytes(4, "little") for i in range(500))


def test_pypff_reads_a_subnode_tree_under_an_siblock(tmp_path: Path) -> None:
    """345 attachments are more subnodes than one SLBLOCK holds (340): an SIBLOCK over two
    SLBLOCKs, which readpst does not read either."""
    attachments = [Attachment(f"a{n}.txt", f"attachment {n}".encode()) for n in range(345)]
    folders = [Folder("Inbox", [Message("Many attachments", body="see attached", attachments=attachments)])]
    data, stats = pst_pack(folders, unicode=True, crypt=0)
    assert stats.siblocks == 1
    message = _pypff_inbox_messages(data, tmp_path)[0]
    got = {a.long_filename: a.read_buffer(a.size) for a in message.attachments}
    assert got == {a.name: a.data for a in attachments}


def test_pypff_reads_compressed_blocks_of_a_4k_cache(tmp_path: Path) -> None:
    """Blocks of a 4 KiB-page .ost compressed with zlib, their trailers giving the inflated size:
    bodies (one over an XBLOCK of compressed blocks), recipients and attachments come back."""
    folders = _tree(True)
    folders[0].messages.append(Message("Long", body="compressible line of text\n" * 2000))
    data, stats = pst_pack(folders, crypt=0, four_k=True, compress=True)
    assert stats.compressed_blocks >= 20 and stats.xblocks >= 2 and stats.multi_block_heaps >= 1
    messages = {m.subject: m for m in _pypff_inbox_messages(data, tmp_path)}
    for packed in folders[0].messages:
        if not packed.omit_body:
            assert (messages[packed.subject].plain_text_body or b"").decode("utf-8") == packed.body
    rich = messages[_rich(True).subject]
    rows = [_entries(r) for r in rich.recipients.record_sets]
    assert [(r[0x3001].decode("utf-16-le"), r[0x39FE].decode("utf-16-le")) for r in rows] == _rich(True).recipients
    got = {a.long_filename: a.read_buffer(a.size) for a in rich.attachments}
    assert all(got[a.name] == a.data for a in _rich(True).attachments if a.data is not None)


@pytest.mark.parametrize("crypt", [1, 2], ids=["permute", "cyclic"])
def test_pypff_reads_compressed_encoded_blocks_of_a_4k_cache(crypt: int, tmp_path: Path) -> None:
    """Encoded, then compressed: libpff inflates a block, then decodes it. Only nodes of one block
    each here: for a node over an XBLOCK, libpff decodes just the first compressed-size bytes of
    each inflated block (its data array passes the stored size), which cannot be what Outlook
    means, so no reader here can check that case."""
    folders = [Folder("Inbox", [Message(f"Note {n}", body=f"note {n} about the plan " * 40,
                                        recipients=[("Bob", "bob@example.com")],
                                        attachments=[Attachment("a.txt", b"attached words " * 50)]) for n in range(5)])]
    data, stats = pst_pack(folders, crypt=crypt, four_k=True, compress=True)
    assert stats.compressed_blocks >= (10 if crypt == 1 else 5)  # cyclic output hardly compresses
    messages = {m.subject: m for m in _pypff_inbox_messages(data, tmp_path)}
    for packed in folders[0].messages:
        got = messages[packed.subject]
        assert got.plain_text_body.decode("utf-8") == packed.body
        assert [a.read_buffer(a.size) for a in got.attachments] == [packed.attachments[0].data]


def test_stats_of_a_small_file_stay_small() -> None:
    """A file of one short message needs none of the large structures (so the counts above mean something)."""
    _, stats = pst_pack([Folder("Inbox", [Message("Hi", body="short")])], unicode=True)
    assert stats == Stats(nbt_levels=1, bbt_levels=stats.bbt_levels, slblocks=stats.slblocks, amaps=1, pmaps=1)
    assert stats.bbt_levels <= 2
