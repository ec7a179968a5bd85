"""macOS metadata in zips (`__MACOSX/._NAME` AppleDouble files, `.DS_Store`): Finder adds them
to every zip it makes, and they made every such zip unscannable. Built after RFC 1740 and the
`.DS_Store` header layout; nothing here writes them."""

from __future__ import annotations

import pytest

from rules.extract import extract
from rules.extract.sniff import sniff
from tests.rules import samples

CARD = "4111 1111 1111 1111"


def apple_double(entries: list[tuple[int, bytes]], *, trailing: bytes = b"", version: bytes = b"\x00\x02\x00\x00") -> bytes:
    """An AppleDouble file: magic, version, 16 filler bytes, the entry table, then the entries."""
    header = b"\x00\x05\x16\x07" + version + bytes(16) + len(entries).to_bytes(2, "big")
    offset = len(header) + 12 * len(entries)
    table, body = b"", b""
    for kind, data in entries:
        table += kind.to_bytes(4, "big") + (offset + len(body)).to_bytes(4, "big") + len(data).to_bytes(4, "big")
        body += data
    return header + table + body + trailing


def finder_info(attributes: dict[str, bytes]) -> bytes:
    """Finder info (32 bytes) followed by extended attributes, as Finder's `._` files carry them."""
    names = b"".join(name.encode() + b"\x00" + value for name, value in attributes.items())
    return bytes(32) + b"\x00\x00ATTR" + bytes(26) + names


EMPTY_RESOURCE_FORK = b"\x00\x00\x01\x00" + bytes(282)


def ds_store(names: list[str]) -> bytes:
    records = b"".join(len(n).to_bytes(4, "big") + n.encode("utf-16-be") + b"Ilocblob" + bytes(16) for n in names)
    block = b"\x00\x00\x00\x02" + bytes(12) + records
    offset = 32
    header = b"\x00\x00\x00\x01Bud1" + offset.to_bytes(4, "big") + len(block).to_bytes(4, "big") + offset.to_bytes(4, "big")
    return header.ljust(4 + offset, b"\x00") + block


FINDER_DOUBLE = apple_double([(9, finder_info({"com.apple.quarantine": b"0081;65a1;Safari;"})),
                              (2, EMPTY_RESOURCE_FORK)])


def test_a_zip_finder_made_is_read_whole() -> None:
    archive = samples.zip_of({"report/notes.txt": f"card {CARD}".encode(), "__MACOSX/report/._notes.txt": FINDER_DOUBLE,
                              "report/.DS_Store": ds_store(["notes.txt", "客户.xlsx"])})
    result = extract(archive, "report.zip")
    assert result.status == "ok", result.reason  # was: unscannable, "no text to extract from binary data"
    assert CARD in result.text and "com.apple.quarantine" in result.text and "notes.txt" in result.text


def test_a_secret_in_an_extended_attribute_is_still_found() -> None:
    double = apple_double([(9, finder_info({"com.apple.metadata:kMDItemComment": f"card {CARD}".encode()}))])
    result = extract(double, "._report.pdf")
    assert result.status == "ok" and CARD in result.text


@pytest.mark.parametrize("data", [
    b"\x00\x05\x16\x07" + b"%PDF-1.7 the magic number alone does not make metadata",
    apple_double([(1, b"a data fork is a file's content")]),
    apple_double([(9, bytes(32)), (2, bytes(100_000))]),  # a resource fork far past Finder's empty one
    apple_double([(9, bytes(32))], trailing=b"hidden after the last entry"),
    apple_double([(77, bytes(32))]),  # an entry kind RFC 1740 does not define
    apple_double([(9, bytes(32))], version=b"\x00\x03\x00\x00"),
    ds_store(["a"])[:20] + bytes(10),  # the root block past the end
    b"\x00\x00\x00\x01Bud1" + (32).to_bytes(4, "big") + (8).to_bytes(4, "big") + (64).to_bytes(4, "big") + bytes(100),
    b"\x00\x00\x00\x01Bud1" + (32).to_bytes(4, "big") + (8).to_bytes(4, "big") + (32).to_bytes(4, "big") + bytes(2 << 20),
])
def test_files_that_only_look_like_metadata_stay_unscannable(data: bytes) -> None:
    assert sniff(data, "._x") != "metadata"
    assert extract(data, "._x").status == "unscannable"


def test_damaged_copies_never_raise() -> None:
    for original in (FINDER_DOUBLE, ds_store(["a.txt", "b.txt"])):
        for copy in samples.damaged(original, "meta", 200, most_flips=4, cut_chance=0.3):
            assert extract(copy, "._x").status in ("ok", "unscannable")
