"""RAR archives, 4.x and 5.0: headers, stored files, encryption (compression: test_extract_rar5_lz.py, _rar29_lz.py).

No program on this machine writes RAR (RARLAB's `rar` is not free software; Debian ships none),
so the archives here are built by `rar5` and `rar4` below, field by field from RARLAB's format
documents. The reader was also checked against 51 archives WinRAR and `rar` wrote
(`scripts/check_rar_samples.py`: the test files of the `rarfile` package's source distribution,
downloaded, not copied here): every file's name, password protection and method as that package's
expected output lists them; and, once, 32 stored files' contents byte for byte as libarchive's
`bsdtar` extracts them (docs/rules.md, "RAR").
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import pytest

from rules.detectors import scan_text
from rules.extract import Limits, extract
from rules.extract.sniff import sniff
from tests.rules import samples
from tests.rules.samples import varint

CARD = "4111 1111 1111 1111"
RID = "11010519491231002X"


@dataclass(frozen=True)
class Entry:
    name: str
    content: bytes
    method: int = 0  # 0 stored; 1-5 RAR compression (the content is then taken as already packed)
    encrypted: bool = False
    split: bool = False
    directory: bool = False
    link: bool = False  # a symbolic link: its content is the path it points to


def _r5_block(kind: int, flags: int, fields: bytes, extra: bytes = b"", data: bytes | None = None) -> bytes:
    flags |= (0x0001 if extra else 0) | (0x0002 if data is not None else 0)
    body = (varint(kind) + varint(flags) + (varint(len(extra)) if extra else b"")
            + (varint(len(data)) if data is not None else b"") + fields + extra)
    size = varint(len(body))
    return struct.pack("<I", zlib.crc32(size + body)) + size + body + (data or b"")


def rar5(entries: list[Entry], *, hide_names: bool = False) -> bytes:
    """A RAR 5.0 archive: main block, one file block per entry, end block. `hide_names` writes the
    archive encryption block `rar -hp` writes (the rest would then be encrypted: here it is not
    written, as a reader must stop at that block anyway)."""
    out = b"Rar!\x1a\x07\x01\x00"
    if hide_names:
        return out + _r5_block(4, 0, varint(0) + varint(0) + bytes([15]) + bytes(range(16)))
    out += _r5_block(1, 0, varint(0))
    for entry in entries:
        name = entry.name.encode()
        fields = (varint(0x0004 | (0x0001 if entry.directory else 0)) + varint(len(entry.content)) + varint(0x20)
                  + struct.pack("<I", zlib.crc32(entry.content)) + varint(entry.method << 7) + varint(1)
                  + varint(len(name)) + name)
        extra = b""
        if entry.encrypted:  # file encryption record: version, flags, KDF count, salt, IV
            record = varint(0x01) + varint(0) + varint(0) + bytes([15]) + bytes(16) + bytes(16)
            extra = varint(len(record)) + record
        if entry.link:  # redirection record: type (1: Unix symlink), flags, target
            record = varint(0x05) + varint(1) + varint(0) + varint(len(entry.content)) + entry.content
            extra += varint(len(record)) + record
        flags = 0x0010 if entry.split else 0
        out += _r5_block(2, flags, fields, extra, None if entry.directory else entry.content)
    return out + _r5_block(5, 0, varint(0))


def _r4_block(kind: int, flags: int, rest: bytes) -> bytes:
    head = struct.pack("<BHH", kind, flags, 7 + len(rest)) + rest
    return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head


def rar4(entries: list[Entry], *, hide_names: bool = False, unicode_names: dict[str, bytes] | None = None) -> bytes:
    """A RAR 2.9-4.x archive. `hide_names` sets the main block's MHD_PASSWORD; `unicode_names`
    gives, by entry name, the plain name and RAR's encoded Unicode name (flag 0x200)."""
    out = b"Rar!\x1a\x07\x00" + _r4_block(0x73, 0x0080 if hide_names else 0, bytes(6))
    for entry in entries:
        name = (unicode_names or {}).get(entry.name, entry.name.encode())
        flags = (0x8000 | (0x0004 if entry.encrypted else 0) | (0x0002 if entry.split else 0)
                 | (0x00E0 if entry.directory else 0) | (0x0200 if entry.name in (unicode_names or {}) else 0))
        method = 0x30 if entry.method == 0 else 0x30 + entry.method
        attributes = 0o120777 if entry.link else 0o100644  # Unix mode: a symlink, or a file
        rest = struct.pack("<IIBIIBBHI", len(entry.content), len(entry.content), 3, zlib.crc32(entry.content),
                           0, 29, method, len(name), attributes) + name
        out += _r4_block(0x74, flags, rest) + entry.content
    return out + _r4_block(0x7B, 0x4000, b"")


FILES = [Entry("customers.csv", f"name,card\nAda,{CARD}\n".encode()),
         Entry("notes", b"", directory=True),
         Entry("notes/readme.txt", f"resident id {RID}\n".encode())]
WRITERS = {"rar5": rar5, "rar4": rar4}


@pytest.mark.parametrize("version", WRITERS)
def test_stored_files_are_read(version: str) -> None:
    data = WRITERS[version](FILES)
    assert sniff(data, "backup.bin") == "rar"
    result = extract(data, "backup.rar")
    assert result.status == "ok", result.reason
    assert [p.path for p in result.parts] == ["backup.rar/customers.csv", "backup.rar/notes/readme.txt"]
    found = {(f.detector, result.text[f.start : f.end]) for f in scan_text(result.text)}
    assert {("credit_card", CARD), ("cn_resident_id", RID)} <= found


@pytest.mark.parametrize("version", WRITERS)
def test_hidden_names_are_reported_encrypted(version: str) -> None:
    result = extract(WRITERS[version](FILES, hide_names=True), "locked.rar")
    assert result.status == "encrypted"
    assert result.reason == "locked.rar: password-protected rar archive (names hidden too)"


@pytest.mark.parametrize("version", WRITERS)
def test_an_encrypted_file_makes_the_archive_encrypted_naming_it(version: str) -> None:
    entries = [FILES[0], Entry("payroll.xlsx", b"\x8f" * 64, method=3, encrypted=True)]
    result = extract(WRITERS[version](entries), "mixed.rar")
    assert result.status == "encrypted" and result.reason == "mixed.rar: password-protected rar archive (payroll.xlsx)"
    assert CARD not in result.text  # nothing read before the verdict: the archive is judged whole


@pytest.mark.parametrize(("version", "why"), [
    ("rar5", "1 file(s) not read: packed.docx: damaged rar data (block header check at 0)"),
    ("rar4", "1 file(s) not read: packed.docx: damaged rar data (a repeat before the first length)")])
def test_unread_files_are_named_unscannable_after_the_rest_are_read(version: str, why: str) -> None:
    """RAR 5.0 and 2.9 compression are read (test_extract_rar5_lz.py, test_extract_rar29_lz.py):
    here the data is not a RAR stream. A stored file split across volumes is read in part."""
    entries = [Entry("packed.docx", b"\x12\x34" * 40, method=3), FILES[0], Entry("part.bin", b"x" * 10, split=True)]
    result = extract(WRITERS[version](entries), "mixed.rar")
    assert result.status == "unscannable"
    assert result.reason == f"mixed.rar: {why}; 1 file(s) split across volumes read in part, from this volume only (part.bin)"
    assert CARD in result.text and "xxxxxxxxxx" in result.text


@pytest.mark.parametrize("version", WRITERS)
def test_links_are_not_read_as_files(version: str) -> None:
    result = extract(WRITERS[version]([FILES[0], Entry("latest.csv", b"customers.csv", link=True)]), "l.rar")
    assert result.status == "ok" and [p.path for p in result.parts] == ["l.rar/customers.csv"]


def test_rar4_unicode_names_are_decoded() -> None:
    # high byte 0x03; flags 01 11 ..: U+03A3 from its low byte, then a run of 3 copied from the plain name
    names = {"Σabc.txt": b"?abc.txt\x00" + bytes([0x03, 0x70, 0xA3, 0x05])}
    result = extract(rar4([Entry("Σabc.txt", CARD.encode())], unicode_names=names), "u.rar")
    assert result.status == "ok" and [p.path for p in result.parts] == ["u.rar/Σabc.txt"]


def test_a_rar_inside_a_zip_inside_an_email_is_read() -> None:
    mail = samples.eml("see attached", {"backup.zip": samples.zip_of({"b.rar": rar5(FILES)})})
    result = extract(mail, "note.eml")
    assert result.status == "ok" and CARD in result.text and RID in result.text


@pytest.mark.parametrize("version", WRITERS)
def test_a_damaged_header_is_unscannable(version: str) -> None:
    data = bytearray(WRITERS[version](FILES))
    data[data.index(b"customers.csv") + 2] ^= 0xFF  # in the file's header, not in its data
    result = extract(bytes(data), "broken.rar")
    assert result.status == "unscannable" and "damaged rar archive" in (result.reason or "")


@pytest.mark.parametrize("version", WRITERS)
def test_a_truncated_archive_is_unscannable(version: str) -> None:
    data = WRITERS[version](FILES)
    result = extract(data[: len(data) - 60], "cut.rar")
    assert result.status == "unscannable" and "rar archive" in (result.reason or "")


@pytest.mark.parametrize("version", WRITERS)
def test_too_many_files_stop_at_the_entry_limit(version: str) -> None:
    many = [Entry(f"f{n}.txt", b"x") for n in range(60)]
    result = extract(WRITERS[version](many), "many.rar", limits=Limits(max_entries=50))
    assert result.status == "unscannable" and "more than 50 embedded entries" in (result.reason or "")


def test_a_size_past_the_end_is_refused_before_anything_is_read() -> None:
    entry = Entry("big.txt", b"x" * 100)
    data = bytearray(rar4([entry]))
    at = data.index(b"big.txt") - 25  # PACK_SIZE of its block
    data[at : at + 4] = struct.pack("<I", 0xFFFFFFF0)
    header_start = at - 7
    size = struct.unpack_from("<H", data, header_start + 5)[0]
    data[header_start : header_start + 2] = struct.pack("<H", zlib.crc32(bytes(data[header_start + 2 : header_start + size])) & 0xFFFF)
    result = extract(bytes(data), "lying.rar")
    assert result.status == "unscannable" and "runs past the end" in (result.reason or "")


@pytest.mark.parametrize("version", WRITERS)
def test_damaged_copies_never_raise(version: str) -> None:
    original = WRITERS[version](FILES + [Entry("locked.txt", b"secret", encrypted=True)])
    for copy in samples.damaged(original, version, 300, most_flips=4, cut_chance=0.3):
        result = extract(copy, "fuzz.rar")
        assert result.status in ("ok", "unscannable", "encrypted")


def test_the_low_pack_audits_an_encrypted_rar() -> None:
    from rules.engine import ContentEvent, evaluate
    from rules.policy import default_policy_text, load_policy

    result = extract(rar5(FILES, hide_names=True), "export.rar")
    event = ContentEvent(channel="file_upload", file_type="rar", extraction_status=result.status, file_name="export.rar")
    verdict = evaluate(event, load_policy(default_policy_text("low")))
    assert "encrypted-archives-audit" in verdict.rule_ids and verdict.action == "audit"
