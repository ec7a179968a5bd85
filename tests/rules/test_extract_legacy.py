"""Legacy binary Office files (.doc, .xls, .ppt): real files written by LibreOffice 7.4 from the
sources beside them in `data/` (`soffice --headless --convert-to 'doc:MS Word 97'
legacy_office.html`, `'xls:MS Excel 97' legacy_office.fods`, `'ppt:MS PowerPoint 97'
legacy_office.fodp`; the .ppt, 450 KB of master-slide pictures, is kept gzipped)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest

from rules.detectors import scan_text
from rules.extract import extract
from rules.extract.budget import Unscannable
from rules.extract.legacy import _piece_text, _pieces, _word_tables
from tests.rules import samples

DATA = Path(__file__).parent / "data"


def fixture(kind: str) -> bytes:
    if kind == "ppt":
        return gzip.decompress((DATA / "legacy_office.ppt.gz").read_bytes())
    return (DATA / f"legacy_office.{kind}").read_bytes()


def findings(text: str) -> list[tuple[str, str, str]]:
    return [(f.detector, f.level, text[f.start : f.end]) for f in scan_text(text)]


def test_a_doc_gives_its_paragraphs_fields_and_table_rows() -> None:
    result = extract(fixture("doc"), "handover.doc")
    assert result.status == "ok", result.reason
    assert "Payroll handover" in result.text and "Signed: the payroll team" in result.text
    assert 'HYPERLINK "https://intranet.example/payroll"' in result.text  # field codes are text too
    assert "Name\tRouting number\tAccount\nAnn Lee\t021000021\t1200.50\n" in result.text
    found = findings(result.text)
    assert ("credit_card", "high", "4111 1111 1111 1111") in found
    assert ("cn_resident_id", "high", "11010519491231002X") in found
    # bare nine-digit numbers, named by their column's header as in a docx
    assert [(d, level) for d, level, _ in found if d == "us_aba_routing"] == [("us_aba_routing", "medium")] * 3


def test_an_xls_shows_numbers_through_their_format_sheet_by_sheet() -> None:
    result = extract(fixture("xls"), "payroll.xls")
    assert result.status == "ok", result.reason
    sheets = result.text.split("\n\n")
    assert sheets[0].splitlines()[:2] == ["Name\tRouting Number\tAmount", "Ann Lee\t021000021\t1200.5"]  # 000000000
    assert "Card on file 4111 1111 1111 1111" in sheets[1] and "2026-12-07" in sheets[1]
    found = findings(result.text)
    assert [text for d, _, text in found if d == "us_aba_routing"] == ["021000021", "011000015", "026009593"]
    assert ("credit_card", "high", "4111 1111 1111 1111") in found


def test_a_ppt_gives_its_slides_and_notes() -> None:
    result = extract(fixture("ppt"), "review.ppt")
    assert result.status == "ok", result.reason
    assert result.text.index("Quarterly review") < result.text.index("身份证号码")
    found = findings(result.text)
    assert ("credit_card", "high", "4111 1111 1111 1111") in found
    assert ("us_ssn", "high", "078-05-1120") in found  # from the speaker notes


def test_a_legacy_file_inside_a_zip_is_read() -> None:
    result = extract(samples.zip_of({"hr/payroll.xls": fixture("xls")}), "hr.zip")
    assert result.status == "ok" and "021000021" in result.text


def test_an_encrypted_doc_is_reported_encrypted() -> None:
    data = bytearray(fixture("doc"))
    fib = data.find(b"\xec\xa5")  # wIdent of the FIB, at the start of the WordDocument stream
    flags = struct.unpack_from("<H", data, fib + 0x0A)[0]
    struct.pack_into("<H", data, fib + 0x0A, flags | 0x0100)  # fEncrypted, as Word sets it
    result = extract(bytes(data), "handover.doc")
    assert result.status == "encrypted" and "password-protected Word document" in (result.reason or "")


def test_an_encrypted_xls_is_reported_encrypted() -> None:
    data = fixture("xls")
    writeaccess = data.find(b"\x5c\x00\x70\x00")  # WRITEACCESS, 112 bytes, in the workbook globals
    assert writeaccess > 0
    locked = data[:writeaccess] + b"\x2f\x00" + data[writeaccess + 2 :]  # FILEPASS in its place
    result = extract(locked, "payroll.xls")
    assert result.status == "encrypted" and "password-protected Excel workbook" in (result.reason or "")


@pytest.mark.parametrize(("data", "reason"), [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "corrupt compound file"),
    (fixture("doc")[:4096], "legacy.doc"),
])
def test_a_broken_compound_file_is_unscannable(data: bytes, reason: str) -> None:
    result = extract(data, "legacy.doc")
    assert result.status == "unscannable" and reason in (result.reason or "")


@pytest.mark.parametrize("kind", ["doc", "xls", "ppt"])
def test_damaged_legacy_files_never_raise(kind: str) -> None:
    """Bytes flipped and runs cut anywhere: always a result, never an exception."""
    copies = samples.damaged(fixture(kind), kind, 150, most_flips=40, cut_chance=0.3, shortest=512)
    assert {extract(data, f"x.{kind}").status for data in copies} <= {"ok", "unscannable", "encrypted"}


def test_pieces_of_8_bit_and_utf16_text_are_both_read() -> None:
    """Word writes ASCII-only pieces 8-bit ("compressed": fc with bit 30, byte offset fc / 2)."""
    cps, pcds = struct.pack("<3I", 0, 5, 9), struct.pack("<HIH", 0, 0x40000000 | 200, 0) + struct.pack("<HIH", 0, 300, 0)
    clx = b"\x01" + struct.pack("<h", 2) + b"\x00\x00" + b"\x02" + struct.pack("<I", len(cps + pcds)) + cps + pcds
    assert list(_pieces(clx, "x.doc")) == [(100, 5, True), (300, 4, False)]
    with pytest.raises(Unscannable, match="no piece table"):
        list(_pieces(b"\x07\x00", "x.doc"))


def test_table_cell_and_row_marks_become_tabs_and_lines() -> None:
    assert _word_tables("Name\x07Id\x07\x07Ann\x07021000021\x07\x07after") == "Name\tId\nAnn\t021000021\nafter"


def test_one_far_cell_pads_no_other_row() -> None:
    """A 5 KB sheet with cells at A1 and IV65536, the corners of an Excel 97 sheet
    (`legacy_far_cell.fods`): 65,536 rows, but only the last one is 256 cells wide."""
    result = extract((DATA / "legacy_far_cell.xls").read_bytes(), "far.xls")
    assert result.status == "ok" and result.text.startswith("corner\t\n")  # a one-cell row of a wider sheet keeps a tab
    assert result.text.rstrip("\n").endswith("\t" * 255 + "far corner")
    assert len(result.text) < 70_000


def test_pieces_that_repeat_the_text_are_refused() -> None:
    """A hostile piece table can list the same bytes a million times (a text bomb in a small file)."""
    word = b"card 4111 1111 1111 1111 " * 40  # 1,000 bytes
    def clx(pieces: int) -> bytes:
        cps = struct.pack(f"<{pieces + 1}I", *range(0, 500 * (pieces + 1), 500))
        pcds = struct.pack("<HIH", 0, 0x40000000, 0) * pieces  # each piece: the first 500 bytes, 8-bit
        return b"\x02" + struct.pack("<I", len(cps + pcds)) + cps + pcds
    assert _piece_text(word, clx(2), "x.doc") == (word[:500] * 2).decode()
    with pytest.raises(Unscannable, match="more text than the document holds"):
        _piece_text(word, clx(3), "x.doc")


@pytest.mark.parametrize(("edits", "reason"), [
    # a sector chain that loops: xlrd's own compound-file reader followed it to 16 GB of memory
    ({455: 23, 819: 76, 959: 220, 1672: 21, 4016: 69}, "malformed xls"),
    ({247: 184, 2204: 39}, "unknown encoding: cp1063"),  # a code page Python does not know
    ({2263: 47, 2529: 14, 2877: 24, 3279: 79, 3375: 190, 4343: 166}, "FormulaError"),  # a broken defined name
])
def test_xls_damage_a_fuzzer_found_is_unscannable(edits: dict[int, int], reason: str) -> None:
    data = bytearray(fixture("xls"))
    for at, value in edits.items():
        data[at] = value
    result = extract(bytes(data), "damaged.xls")
    assert result.status == "unscannable" and reason in (result.reason or "")
