"""RTF: a file LibreOffice 7.4 wrote (data/libreoffice_payroll.rtf, from the .html beside it),
Word-style snippets written after the RTF 1.9.1 specification, and Outlook's compressed RTF
([MS-OXRTFCP], with the specification's own example)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.detectors import scan_text
from rules.extract import Limits, extract
from rules.extract.budget import Budget, Unscannable
from rules.extract.rtf import decompressed_rtf, rtf_text
from rules.extract.sniff import sniff
from tests.rules import samples

DATA = Path(__file__).parent / "data"


def text_of(rtf: bytes) -> str:
    return rtf_text(rtf, Budget(Limits(), len(rtf)), "t.rtf")


def test_a_libreoffice_document_reads_as_its_text() -> None:
    data = (DATA / "libreoffice_payroll.rtf").read_bytes()
    assert sniff(data, "payroll.doc") == "rtf"  # by its content, whatever its name
    result = extract(data, "payroll.rtf")
    assert result.status == "ok"
    assert result.text.splitlines()[:5] == [
        "Quarterly payroll \u2014 confidential. Card 4111 1111 1111 1111 for Zo\u00eb M\u00fcller.",
        "员工身份证号码 11010519491231002X，请勿外传。",
        "Name\tRouting number", "Ada\t021000021", "Bob\t011000015"]
    assert 'HYPERLINK "https://intranet.example.com/payroll?id=42"' in result.text  # field codes kept
    assert "LibreOffice" not in result.text and "Times New Roman" not in result.text  # tables skipped
    found = {(f.detector, f.level, result.text[f.start : f.end]) for f in scan_text(result.text)}
    assert {("credit_card", "high", "4111 1111 1111 1111"), ("cn_resident_id", "high", "11010519491231002X"),
            ("us_aba_routing", "medium", "021000021")} <= found  # the column header counts, as in a docx
    assert not any(d == "ipv4" for d, _, _ in found)  # "7.4.7.2" of the generator's name is gone


@pytest.mark.parametrize("rtf, text", [
    # Word: a GB2312 font, its characters as \'hh pairs
    (rb"{\rtf1\ansi\ansicpg936\deff0{\fonttbl{\f0\fnil\fcharset134 \'cb\'ce\'cc\'e5;}}\f0 \'c9\'ed\'b7\'dd\'d6\'a4 42\par}",
     "身份证 42\n"),
    # a Big5 font inside a cp1252 document, then back to the document's code page
    (rb"{\rtf1\ansi\ansicpg1252{\fonttbl{\f0 Arial;}{\f1\fcharset136 MingLiU;}}{\f1 \'a8\'ad}\f0 caf\'e9}", "身café"),
    # \u with two fallback bytes (\uc2), then one (the default) after the group
    (rb"{\rtf1{\uc2\u36523\'3f\'3f}\u20221?x}", "身份x"),
    (rb"{\rtf1 a\tab b\cell c\line d\~e\-f\_g\{h\}i\\j\emdash k}", "a\tb\tc\nd\u00a0ef\u2011g{h}i\\j\u2014k"),
    (rb"{\rtf1{\*\generator Secret 4111;}{\info{\title T}}{\pict\bin4 }{\\}visible{\*\unknown x}}", "visible"),
    (rb'{\rtf1 keep{\*\fldinst HYPERLINK "https://x.example"}{\fldrslt link}}', 'keepHYPERLINK "https://x.example"link'),
    (rb"{\rtf1\ansi\fromhtml1 {\*\htmltag19 <p>}\htmlrtf {\pard\htmlrtf0 Card 42\htmlrtf \par}\htmlrtf0}", "Card 42"),
    (rb"{\rtf1 line\par\trowd a\cell 1\cell 2\cell\row after\cell1 x}", "line\na\t1\t2\nafter\tx"),
])
def test_control_words_are_interpreted(rtf: bytes, text: str) -> None:
    assert text_of(rtf) == text


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(Unscannable, match="nested deeper"):
        text_of(b"{\\rtf1" + b"{" * 5000 + b"x" + b"}" * 5000 + b"}")
    assert extract(b"{\\rtf1" + b"{" * 5000, "bomb.rtf").status == "unscannable"


def test_odd_endings_never_raise() -> None:
    for data in (b"{\\rtf1 \\", b"{\\rtf1 \\'", b"{\\rtf1 \\'4", b"{\\rtf1 \\u", b"{\\rtf1 \\bin99999 ab", b"{\\rtf1 }}}}"):
        assert isinstance(text_of(data), str)


def test_damaged_copies_never_raise() -> None:
    original = (DATA / "libreoffice_payroll.rtf").read_bytes()
    for copy in samples.damaged(original, "rtf", 200, most_flips=20, cut_chance=0.3):
        assert extract(copy, "fuzz.rtf").status in ("ok", "unscannable")


# Outlook's compressed RTF

SPEC_EXAMPLE = bytes.fromhex("2d0000002b0000004c5a4675f1c5c7a703000a007263706731323542320af32068656c09002062770"
                             "5b06c647d0a800fa0")


def compressed(rtf: bytes) -> bytes:
    """`rtf` compressed as [MS-OXRTFCP] allows with literals only, then the end mark."""
    body = bytearray()
    at = 207  # the window's write position after its preamble
    for start in range(0, len(rtf), 8):
        chunk = rtf[start : start + 8]
        body.append(0)  # eight literal bytes follow
        body += chunk
        at = (at + len(chunk)) & 0xFFF
    body += bytes([1]) + (at << 4).to_bytes(2, "big")  # a reference to the write position: the end
    header = (len(body) + 12).to_bytes(4, "little") + len(rtf).to_bytes(4, "little") + b"LZFu" + bytes(4)
    return header + bytes(body)


def test_the_specifications_example_decompresses() -> None:
    assert decompressed_rtf(SPEC_EXAMPLE, 1 << 20, "x") == b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n"


def test_compressed_rtf_round_trips_and_stops_at_its_limit() -> None:
    rtf = (DATA / "libreoffice_payroll.rtf").read_bytes()
    assert decompressed_rtf(compressed(rtf), 1 << 20, "x") == rtf
    with pytest.raises(Unscannable, match="beyond the limit"):
        decompressed_rtf(compressed(rtf), 100, "x")
    assert decompressed_rtf(b"\x10\x00\x00\x00\x05\x00\x00\x00MELA\x00\x00\x00\x00hello", 100, "x") == b"hello"
    with pytest.raises(Unscannable, match="unknown kind"):
        decompressed_rtf(bytes(8) + b"ABCD" + bytes(4), 100, "x")


def test_a_rich_text_outlook_message_is_read() -> None:
    from tests.rules.cfb import compound_file
    from tests.rules.test_extract_outlook import message_streams

    streams = message_streams(body=None)
    streams["__substg1.0_10090102"] = compressed((DATA / "libreoffice_payroll.rtf").read_bytes())
    result = extract(compound_file(streams), "rich.msg")
    assert result.status == "ok", result.reason
    assert "员工身份证号码 11010519491231002X" in result.text and "Ada\t021000021" in result.text
