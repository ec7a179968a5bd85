"""Apple iWork documents (`rules/extract/iwork.py`).

Numbers files are written by `numbers-parser` (PyPI), which edits Apple's own empty document: real
IWA files, real Snappy, Apple's message types. No program here writes Pages or Keynote files, so
those are built below from the format (the payload types of Apple's registry, Snappy from
`cramjam`, an independent compressor): they test the Pages path, not Pages' own output.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Sequence
from pathlib import Path

import cramjam
import pytest
from numbers_parser import Document

from rules.detectors import scan_text
from rules.extract import Limits, extract
from rules.extract.budget import Budget, Unscannable
from rules.extract.iwork import unsnappy, unsnappy_chunks
from rules.extract.sniff import sniff
from tests.rules import samples
from tests.rules.samples import varint

CARD = "4111 1111 1111 1111"
RID = "11010519491231002X"


def numbers_file(tmp_path: Path, rows: Sequence[Sequence[object]], sheet: str = "Customers") -> bytes:
    document = Document()
    document.sheets[0].name = sheet
    table = document.sheets[0].tables[0]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.write(r, c, value)
    path = tmp_path / "book.numbers"
    document.save(str(path))
    return path.read_bytes()


def _field(number: int, value: bytes | int) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def iwa(objects: list[tuple[int, bytes]], chunk: int = 1 << 16) -> bytes:
    """An IWA file of (type, payload) objects, one payload each, in Snappy chunks of `chunk` bytes."""
    stream = b""
    for identifier, (kind, payload) in enumerate(objects, 1):
        info = _field(1, identifier) + _field(2, _field(1, kind) + _field(2, bytes([1, 0, 5])) + _field(3, len(payload)))
        stream += varint(len(info)) + info + payload
    out = b""
    for start in range(0, len(stream), chunk):
        packed = bytes(cramjam.snappy.compress_raw(stream[start : start + chunk]))
        out += b"\0" + len(packed).to_bytes(3, "little") + packed
    return out


def storage(*paragraphs: str) -> bytes:
    """A TSWP.StorageArchive: kind, then its text (field 3), paragraphs split by U+2029."""
    return _field(1, 0) + _field(3, "\u2029".join(paragraphs).encode()) + _field(5, _field(1, _field(1, 7)))


def pages_file(index: dict[str, bytes], *, bundle: bool = False, locked: bool = False) -> bytes:
    files = {"Metadata/DocumentIdentifier": b"5F3C", "Metadata/Properties.plist": b"bplist00", "preview.jpg": b"\xff\xd8"}
    index = dict(index)
    files.update({name: index.pop(name) for name in list(index) if not name.startswith("Index/")})
    if bundle:  # an iWork '13 bundle zipped whole: the IWA files in a stored Index.zip
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w", zipfile.ZIP_STORED) as archive:
            for name, data in index.items():
                archive.writestr(name, data)
        files["Index.zip"] = inner.getvalue()
    else:
        files.update(index)
    if locked:
        files[".iwpv2"] = bytes(32)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


STYLE = _field(1, _field(1, b"Heading 1")) + _field(11, b"paragraph-style-heading")  # a style: not read
REPORT = {"Index/Document.iwa": iwa([(2022, STYLE), (2001, storage("Quarterly report", f"Card number {CARD}")),
                                     (3056, _field(1, _field(1, storage("Check the ID " + RID))))])}


def test_a_numbers_file_gives_its_cells_and_table_names(tmp_path: Path) -> None:
    data = numbers_file(tmp_path, [["Name", "Card number", "Balance"], ["Ada Lovelace", CARD, 1234.5],
                                   ["张三", "6222 0000 0000 0000", 2]])
    assert sniff(data, "book.numbers") == "iwork"
    result = extract(data, "book.numbers")
    assert result.status == "ok", result.reason
    lines = result.text.splitlines()
    assert {"Table 1", "Name", "Card number", "Ada Lovelace", CARD, "张三"} <= set(lines)  # not the sheet's name
    assert "January" not in lines and "Heading" not in result.text  # the locale and styles are not read
    assert any(f.detector == "credit_card" for f in scan_text(result.text))


def test_a_large_numbers_table_is_read_whole(tmp_path: Path) -> None:
    rng = random.Random(3)
    rows = [["id", "card"]] + [[f"C{i:05}", f"4{rng.randrange(10**14, 10**15):015}"] for i in range(600)]
    result = extract(numbers_file(tmp_path, rows), "big.numbers")
    assert result.status == "ok", result.reason
    lines = set(result.text.splitlines())
    assert all(row[0] in lines and row[1] in lines for row in rows[1:])


def test_pages_text_and_comments_are_read_and_styles_are_not() -> None:
    result = extract(pages_file(REPORT), "report.pages")
    assert result.status == "ok", result.reason
    assert result.text.splitlines()[:3] == ["Quarterly report", f"Card number {CARD}", f"Check the ID {RID}"]
    assert "Heading 1" not in result.text and "paragraph-style" not in result.text


def test_pictures_are_read_by_ocr_and_the_preview_is_not() -> None:
    seen: list[int] = []

    def ocr(data: bytes, seconds: float) -> str:
        seen.append(len(data))
        return f"card {CARD}"

    shot = samples.screenshot(["Card", CARD])
    data = pages_file({**REPORT, "Data/pasted-1024.png": shot, "preview.jpg": shot})
    result = extract(data, "p.pages", limits=Limits(ocr=ocr))
    assert [p.path for p in result.parts] == ["p.pages", "p.pages/Data/pasted-1024.png"]
    assert seen == [len(shot)]


def test_an_old_bundle_with_index_zip_is_read() -> None:
    result = extract(pages_file(REPORT, bundle=True), "old.key")
    assert result.status == "ok" and CARD in result.text


def test_a_password_locked_document_is_encrypted() -> None:
    result = extract(pages_file(REPORT, locked=True), "locked.pages")
    assert result.status == "encrypted" and result.reason == "locked.pages: password-protected iWork document"


def test_objects_split_across_chunks_are_joined() -> None:
    long = [f"Paragraph {i}: account {CARD}" for i in range(3000)]
    data = pages_file({"Index/Document.iwa": iwa([(2001, storage(*long))], chunk=4096)})
    assert extract(data, "long.pages").text.splitlines()[:3000] == long


@pytest.mark.parametrize("seed", range(4))
def test_snappy_agrees_with_cramjam(seed: int) -> None:
    rng = random.Random(seed)
    data = b"".join(rng.choice((rng.randbytes(rng.randrange(1, 300)), b"abc" * rng.randrange(1, 400),
                                bytes(rng.randrange(1, 70000)))) for _ in range(60))
    packed = bytes(cramjam.snappy.compress_raw(data))
    assert unsnappy(packed, Budget(Limits(), len(packed)), "x") == data


@pytest.mark.parametrize(("iwa_data", "reason"), [
    (b"\x01\x05\x00\x00hello", "damaged IWA (a chunk header at 0)"),
    (b"\x00\xff\x00\x00abc", "truncated IWA (a chunk of 255 bytes at 0)"),
    (b"\x00\x03\x00\x00\x05\x01\x10", "damaged Snappy data (a copy 16 bytes back, 0 written)"),
    (b"\x00\x03\x00\x00\x09\x00a", "damaged Snappy data (1 bytes, 9 said)"),
    (b"\x00\x03\x00\x00\x09\x0ca", "damaged Snappy data (a literal runs past the end)"),
])
def test_damage_is_named(iwa_data: bytes, reason: str) -> None:
    result = extract(pages_file({"Index/Document.iwa": iwa_data}), "d.pages")
    assert result.status == "unscannable" and reason in (result.reason or "")


def test_a_snappy_bomb_stops_at_the_budget() -> None:
    copies = b"\x02\x01\x00" * 5000  # 64 bytes at distance 1, again and again
    for declared in (300 << 20, 64):  # a size above the budget, or one that the copies overrun
        packed = varint(declared) + b"\x00a" + copies
        with pytest.raises(Unscannable, match="decompression bomb|damaged Snappy"):
            unsnappy_chunks(b"\0" + len(packed).to_bytes(3, "little") + packed,
                            Budget(Limits(max_expanded_bytes=64 << 20), len(packed)), "bomb.iwa")


def test_cut_and_flipped_documents_never_raise(tmp_path: Path) -> None:
    data = pages_file(REPORT)
    rng = random.Random(5)
    for _ in range(300):
        damaged = bytearray(data)
        for _ in range(rng.randrange(1, 6)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        assert extract(bytes(damaged), "f.pages").status in ("ok", "unscannable", "encrypted")
    for cut in range(0, len(data), 97):
        assert extract(data[:cut], "c.pages").status in ("ok", "unscannable")
    raw = REPORT["Index/Document.iwa"]
    for _ in range(500):  # the IWA itself, without the zip's CRC in the way
        damaged = bytearray(raw)
        damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        assert extract(pages_file({"Index/Document.iwa": bytes(damaged)}), "i.pages").status in ("ok", "unscannable")


def test_a_package_zipped_whole_is_read_as_one_document() -> None:
    """An iWork document saved as a package (a folder), zipped as a folder is: its files are one
    document, not loose binary files."""
    package = {f"Q3 Report.pages/{name}": data for name, data in REPORT.items()}
    package["Q3 Report.pages/Metadata/DocumentIdentifier"] = b"5F3C"
    data = samples.zip_of({**package, "Q3 Report.pages/": b"", "notes.txt": b"see the report"})
    result = extract(data, "shared.zip")
    assert result.status == "ok", result.reason
    assert [(p.path, p.kind) for p in result.parts] == [("shared.zip/notes.txt", "text"),
                                                        ("shared.zip/Q3 Report.pages", "iwork")]
    assert CARD in result.text and "see the report" in result.text
