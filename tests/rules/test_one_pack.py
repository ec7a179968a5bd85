"""The .one writer of the tests (one_pack) against pyOneNote, a OneNote reader that is not ours:
every title, paragraph, embedded file and file name must come back. pyOneNote ignores the
transaction log and reads only ObjectDeclaration2RefCountFND (0x0A4) property sets, so the
structures it cannot read (0x0A5, 0x0C4, 0x07C, uncommitted FileNodes, the log's CRCs) are checked
by `_walk` below, a reader of the store's layer written from [MS-ONESTORE] alone, and by the
writer's Stats.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.rules.one_pack import Embedded, Page, one_pack

ONE = uuid.UUID("7B5C52E4-D88C-4DA7-AEB1-5378D02996D3")
ONETOC2 = uuid.UUID("43FF2FA1-EFD9-4C76-9EE2-10EA5722765F")


def _pages() -> list[Page]:
    return [
        Page("Quarterly 报告", ["Revenue rose 12%", "联系人 张伟 138-0013-8000", "IBAN DE89 3704 0044 0532 0130 00"],
             files=[Embedded("budget.xlsx", bytes(range(256)) * 3, ".xlsx"), Embedded("notes 中文.txt", b"secret notes\n")]),
        Page("Second page", [f"line {n} 中文" for n in range(12)], ascii_paragraphs=["plain ascii text"]),
        Page("Edited page", ["the current text"], old_paragraphs=["the earlier text, replaced"]),
        Page("Empty page"),
    ]


def _document(tmp_path: Path, data: bytes) -> Any:
    try:
        from pyOneNote.OneDocument import OneDocment
    except ImportError:
        from tests.fixtures.realparts import unavailable

        unavailable("pyOneNote not installed (pip install pyOneNote)")
    path = tmp_path / "Section.one"
    path.write_bytes(data)
    with path.open("rb") as handle:
        document = OneDocment(handle)
        document.get_properties()
        document.get_files()
    return document


def _texts(document: Any, jcid: str = "jcidRichTextOENode", name: str = "RichEditTextUnicode") -> list[str]:
    return [prop["val"][name] for prop in document.get_properties() if prop["type"] == jcid and name in prop["val"]]


def _assert_pages(document: Any, pages: list[Page]) -> None:
    texts = _texts(document)
    for page in pages:
        for text in [page.title, *page.paragraphs, *page.old_paragraphs]:
            assert text in texts
    files = {(entry["extension"], bytes(entry["content"])) for entry in document.get_files().values()}
    assert files == {(item.extension, item.data) for page in pages for item in page.files}
    names = _texts(document, "jcidEmbeddedFileNode", "EmbeddedFileName")
    assert sorted(names) == sorted(item.name for page in pages for item in page.files)


# -- a reader of the store layer, from [MS-ONESTORE] ------------------------------------------------


@dataclass
class _Node:
    fnid: int
    body: bytes  # the fnd after the reference
    ref: tuple[int, int] | None
    children: _Listing | None = None


@dataclass
class _Listing:
    ident: int
    fragments: int
    nodes: list[_Node] = field(default_factory=list)  # committed, per the transaction log
    present: int = 0  # FileNodes physically there, committed or not


def _log(data: bytes) -> tuple[dict[int, int], int]:
    """The committed node count of each list; the number of TransactionLogFragments."""
    stp, cb = struct.unpack_from("<QI", data, 160)
    pending, counts, fragments = struct.unpack_from("<I", data, 96)[0], {}, 0
    while pending:
        fragments += 1
        entries, transaction = struct.unpack_from(f"<{(cb - 12) // 8 * 2}I", data, stp), b""
        for src, switch in zip(entries[0::2], entries[1::2], strict=True):
            if src == 1:
                assert switch == zlib.crc32(transaction), "a sentinel's CRC is that of its transaction's entries"
                pending, transaction = pending - 1, b""
                if not pending:
                    break
            else:
                counts[src], transaction = switch, transaction + struct.pack("<II", src, switch)
        stp, cb = struct.unpack_from("<QI", data, stp + cb - 16)
    return counts, fragments


def _reference(data: bytes, at: int, stp_format: int, cb_format: int) -> tuple[tuple[int, int], int]:
    stp_size, cb_size = (8, 4, 2, 4)[stp_format], (4, 8, 1, 2)[cb_format]
    stp = int.from_bytes(data[at:at + stp_size], "little") << (3 if stp_format >= 2 else 0)
    cb = int.from_bytes(data[at + stp_size:at + stp_size + cb_size], "little") << (3 if cb_format >= 2 else 0)
    return (stp, cb), stp_size + cb_size


def _walk(data: bytes, ref: tuple[int, int], counts: dict[int, int]) -> _Listing:
    """A file node list: its fragments, FileNodes up to the committed count, and the lists they
    reference, recursively."""
    listing: _Listing | None = None
    while True:
        stp, cb = ref
        magic, ident, sequence = struct.unpack_from("<QII", data, stp)
        assert magic == 0xA4567AB1F5F7F4C4 and struct.unpack_from("<Q", data, stp + cb - 8)[0] == 0x8BC215C38233BA4B
        listing = listing or _Listing(ident, 0)
        assert (ident, sequence) == (listing.ident, listing.fragments)
        listing.fragments += 1
        at, end = stp + 16, stp + cb - 20
        while end - at >= 4:
            header = struct.unpack_from("<I", data, at)[0]
            fnid, size = header & 0x3FF, header >> 10 & 0x1FFF
            if fnid in (0, 0xFF):
                break
            listing.present += 1
            if len(listing.nodes) < counts.get(ident, 0):
                listing.nodes.append(_node(data, at, header, counts))
            at += size
        ref = struct.unpack_from("<QI", data, end)
        if ref == (2**64 - 1, 0):  # the writer ends every list's chain with fcrNil
            assert len(listing.nodes) == counts.get(ident, 0) <= listing.present
            return listing


def _node(data: bytes, at: int, header: int, counts: dict[int, int]) -> _Node:
    fnid, size, base_type = header & 0x3FF, header >> 10 & 0x1FFF, header >> 27 & 0xF
    assert header >> 31 == 1
    ref, used = _reference(data, at + 4, header >> 23 & 3, header >> 25 & 3) if base_type else (None, 0)
    node = _Node(fnid, data[at + 4 + used:at + size], ref)
    if base_type == 2 and ref is not None:
        node.children = _walk(data, ref, counts)
    return node


def _lists(listing: _Listing) -> list[_Listing]:
    return [listing] + [inner for node in listing.nodes if node.children for inner in _lists(node.children)]


def _store(data: bytes) -> tuple[_Listing, dict[int, int], int]:
    counts, log_fragments = _log(data)
    return _walk(data, struct.unpack_from("<QI", data, 172), counts), counts, log_fragments


def _nodes(root: _Listing, fnid: int) -> list[_Node]:
    return [node for listing in _lists(root) for node in listing.nodes if node.fnid == fnid]


# -- tests ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [{}, {"compact_refs": True}, {"fragment_size": 120},
                                     {"fragment_size": 96, "compact_refs": True}], ids=str)
def test_pyonenote_reads_every_page(tmp_path: Path, options: dict[str, Any]) -> None:
    pages = _pages()
    data, stats = one_pack(pages, **options)
    _assert_pages(_document(tmp_path, data), pages)
    root, _, log_fragments = _store(data)
    if options.get("fragment_size"):
        assert max(listing.fragments for listing in _lists(root)) >= 3
        assert stats.extra_fragments > 10 and log_fragments == stats.log_fragments > 1
    if options.get("compact_refs"):
        assert {1, 2, 3} <= set(stats.stp_formats) and {2, 3} <= set(stats.cb_formats)
    else:
        assert set(stats.stp_formats) == set(stats.cb_formats) == {0}


def test_ascii_text_and_property_types(tmp_path: Path) -> None:
    data, stats = one_pack(_pages())
    values = _texts(_document(tmp_path, data), name="TextExtendedAscii")
    # pyOneNote decodes every FourBytesOfLengthFollowedByData as UTF-16 (or hex if it cannot)
    assert [value.encode("utf-16-le") for value in values] == [b"plain ascii text"]
    assert {2, 3, 4, 5, 6, 7, 8, 9, 0xB} <= set(stats.property_types)


def test_compact_ids_resolve_through_the_revision_tables(tmp_path: Path) -> None:
    data, stats = one_pack(_pages())
    document = _document(tmp_path, data)
    files = {entry["identity"] for entry in document.get_files().values()}
    containers = {prop["val"]["EmbeddedFileContainer"][0] for prop in document.get_properties()
                  if prop["type"] == "jcidEmbeddedFileNode"}
    assert containers == files and len(files) == 2
    assert stats.object_groups >= 3 * len(_pages()) and stats.global_id_entries > stats.object_groups


def test_old_revision_stays_in_the_file(tmp_path: Path) -> None:
    pages = _pages()
    data, stats = one_pack(pages)
    assert "the earlier text, replaced" in _texts(_document(tmp_path, data))
    root, _, _ = _store(data)
    assert len(_nodes(root, 0x05C)) == 1 and len(_nodes(root, 0x01E)) == stats.revisions == len(pages) + 2
    assert stats.transactions == len(pages) + 2


def test_chinese_pages(tmp_path: Path) -> None:
    pages = [Page(f"第{n}页 标题", [f"段落 {n}.{m} 机密信息" for m in range(5)]) for n in range(6)]
    _assert_pages(_document(tmp_path, one_pack(pages, compact_refs=True)[0]), pages)


def test_header_and_transaction_log(tmp_path: Path) -> None:
    data, stats = one_pack(_pages(), fragment_size=160)
    file_type, _, legacy, file_format = (uuid.UUID(bytes_le=data[at:at + 16]) for at in range(0, 64, 16))
    assert (file_type, legacy, file_format) == (ONE, uuid.UUID(int=0), uuid.UUID("109ADD3F-911B-49F5-A5D0-1791EDC8AED8"))
    assert struct.unpack_from("<4I", data, 64) == (0x2A,) * 4
    assert struct.unpack_from("<Q", data, 196)[0] == len(data)
    assert struct.unpack_from("<I", data, 96)[0] == stats.transactions
    root, counts, _ = _store(data)
    lists = _lists(root)
    assert len(lists) == stats.file_node_lists and {listing.ident for listing in lists} == set(counts)
    assert all(len(listing.nodes) == listing.present == counts[listing.ident] for listing in lists)
    assert [node.fnid for node in root.nodes].count(0x008) == 5 and _nodes(root, 0x004)
    document = _document(tmp_path, data)  # pyOneNote sees the same lists, fragment by fragment
    revisions = [(page.title, *page.paragraphs) for page in _pages()]
    revisions += [(page.title, *page.old_paragraphs) for page in _pages() if page.old_paragraphs]
    assert sorted(_texts(document)) == sorted(text for revision in revisions for text in revision)


def test_uncommitted_nodes_are_not_in_the_log(tmp_path: Path) -> None:
    data, stats = one_pack(_pages(), uncommitted_garbage=True)
    root, _, _ = _store(data)
    lists = _lists(root)
    # after each revision's first object group, a declaration; in each revision manifest list, a
    # revision start and an object group reference (whose list the log does not know at all)
    revisions = len(_pages()) + 1
    assert sum(listing.present - len(listing.nodes) for listing in lists) == revisions + 2 * len(_pages())
    assert stats.uncommitted_nodes > revisions + 2 * len(_pages())
    committed_blobs = b"".join(data[stp:stp + cb] for node in _nodes(root, 0x0A4) if node.ref for stp, cb in [node.ref])
    assert "UNCOMMITTED".encode("utf-16-le") not in committed_blobs
    texts = _texts(_document(tmp_path, data))  # pyOneNote ignores the log, so it reads them too
    assert sum(text.startswith("UNCOMMITTED") for text in texts) == 2 * len(_pages()) + 1


def test_read_only_declarations(tmp_path: Path) -> None:
    pages = _pages()
    data, stats = one_pack(pages, read_only_objects=True)
    root, _, _ = _store(data)
    declarations = _nodes(root, 0x0C4)
    assert len(declarations) == stats.declarations[0x0C4] > 40 and not stats.declarations[0x0A4]
    for node in declarations:
        assert node.ref is not None
        stp, cb = node.ref
        assert node.body[-16:] == hashlib.md5(data[stp:stp + cb]).digest()
    document = _document(tmp_path, data)  # pyOneNote skips 0x0C4 property sets but still reads the files
    assert sorted(bytes(entry["content"]) for entry in document.get_files().values()) == sorted(
        item.data for page in pages for item in page.files)


def test_large_refcounts(tmp_path: Path) -> None:
    data, stats = one_pack(_pages(), large_refcounts=True)
    root, _, _ = _store(data)
    assert len(_nodes(root, 0x0A5)) == stats.declarations[0x0A5] > 40 and len(_nodes(root, 0x073)) == 2
    assert all(len(node.body) == 4 + 4 + 1 + 4 for node in _nodes(root, 0x0A5))
    # pyOneNote does not consume the fnd of 0x0A5 or 0x073, so it misreads those lists (staying
    # inside their fragments) and finds no property set; the file data store it still reads
    document = _document(tmp_path, data)
    assert len(document.get_files()) == 2


def test_encrypted_section(tmp_path: Path) -> None:
    pages = _pages()
    data, stats = one_pack(pages, encrypted=True)
    root, _, _ = _store(data)
    section = _nodes(root, 0x004)[0].body
    page_manifests = [listing for listing in _lists(root)
                      if listing.nodes and listing.nodes[0].fnid == 0x014 and listing.nodes[0].body[:20] != section]
    assert len(page_manifests) == len(pages) and stats.encryption_keys == len(pages) + 1
    for listing in page_manifests:
        starts = [n for n, node in enumerate(listing.nodes) if node.fnid == 0x01E]
        for start in starts:
            assert struct.unpack_from("<H", listing.nodes[start].body, 44)[0] == 2  # odcsDefault
            key = listing.nodes[start + 1]
            assert key.fnid == 0x07C and key.ref is not None
            stp, cb = key.ref
            assert struct.unpack_from("<Q", data, stp)[0] == 0xFB6BA385DAD1A067
            assert struct.unpack_from("<Q", data, stp + cb - 8)[0] == 0x2649294F8E198B3C
    for text in ["Revenue rose 12%", "Quarterly 报告", "secret notes"]:
        assert text.encode("utf-16-le") not in data and text.encode() not in data
    # pyOneNote does not consume 0x07C's reference, so it misreads the page lists; the section's
    # own object space, which is not encrypted, it still reads
    types = {prop["type"] for prop in _document(tmp_path, data).get_properties()}
    assert {"jcidSectionNode", "jcidPageSeriesNode"} <= types


def test_onetoc2_header() -> None:
    data = one_pack(_pages(), onetoc2=True)[0]
    assert uuid.UUID(bytes_le=data[:16]) == ONETOC2 and struct.unpack_from("<I", data, 64)[0] == 0x1B


def test_stats_are_not_vacuous() -> None:
    stats = one_pack(_pages())[1]
    assert stats.object_spaces == 5 and stats.file_data_objects == 2 and stats.declarations[0x072] == 2
    with pytest.raises(ValueError):
        one_pack(_pages(), fragment_size=10)
    with pytest.raises(UnicodeEncodeError):
        one_pack([Page("t", ascii_paragraphs=["中文"])])


def test_pyonenote_reads_a_table(tmp_path: Path) -> None:
    """Table, row and cell nodes with the ids [MS-ONE] gives them: pyOneNote names them and
    their RowCount and ColumnCount, and reads every cell's text."""
    rows = [["Name", "Routing number"], ["Ada", "021000021"], ["Bob", "011000015"]]
    data, stats = one_pack([Page("Bank", ["intro"], tables=[rows])])
    assert stats.tables == 1
    properties = _document(tmp_path, data).get_properties()
    kinds = [p["type"] for p in properties]
    assert kinds.count("jcidTableNode") == 1 and kinds.count("jcidTableRowNode") == 3
    assert kinds.count("jcidTableCellNode") == 6
    table = next(p["val"] for p in properties if p["type"] == "jcidTableNode")
    assert {"RowCount", "ColumnCount"} <= set(table)
    texts = _texts(_document(tmp_path, data))
    assert all(cell in texts for row in rows for cell in row)
