"""Files embedded in Office documents (Insert > Object): OOXML packages stored as they are, and OLE
objects ([MS-OLEDS]: a `Package` stream, or Windows Packager's `\\x01Ole10Native`) written by
`tests.rules.cfb`."""

from __future__ import annotations

import struct
from pathlib import Path

from rules.detectors import scan_text
from rules.extract import Limits, extract
from tests.rules import samples
from tests.rules.cfb import compound_file

CARD = "4111 1111 1111 1111"
RID = "11010519491231002X"
CSV = f"name,card\nAda,{CARD}\n".encode()


def ole_native(label: str, content: bytes) -> bytes:
    """An OLE object as Windows' Packager writes one for a file inserted into a document."""
    path = f"C:\\Users\\ann\\{label}".encode("cp1252")
    body = (b"\x02\x00" + label.encode("cp1252") + b"\0" + path + b"\0" + b"\x00\x00\x03\x00"
            + path + b"\0" + struct.pack("<I", len(content)) + content)
    return compound_file({"\x01Ole10Native": struct.pack("<I", len(body)) + body, "\x01CompObj": bytes(40)})


def test_a_spreadsheet_inserted_into_a_report_is_read() -> None:
    report = samples.with_media(samples.docx(["Quarterly report"]), {
        "word/embeddings/Microsoft_Excel_Worksheet.xlsx": samples.xlsx([["Name", "Card"], ["Ada", CARD]])})
    result = extract(report, "report.docx")
    assert result.status == "ok", result.reason
    assert [p.path for p in result.parts] == ["report.docx", "report.docx/word/embeddings/Microsoft_Excel_Worksheet.xlsx"]
    assert any(f.detector == "credit_card" for f in scan_text(result.text))  # was: the report's own text alone


def test_a_packaged_file_inside_an_ole_object_is_read() -> None:
    deck = samples.with_media(samples.pptx(["Board deck"]), {"ppt/embeddings/oleObject1.bin": ole_native("customers.csv", CSV)})
    result = extract(deck, "deck.pptx")
    assert result.status == "ok", result.reason
    assert "deck.pptx/ppt/embeddings/oleObject1.bin/customers.csv" in [p.path for p in result.parts]
    assert CARD in result.text


def test_an_ole_package_stream_is_read() -> None:
    inner = samples.docx([f"resident {RID}"])
    book = samples.with_media(samples.xlsx([["a"]]), {"xl/embeddings/oleObject2.bin": compound_file({"Package": inner})})
    result = extract(book, "book.xlsx")
    assert "book.xlsx/xl/embeddings/oleObject2.bin/package" in [p.path for p in result.parts] and RID in result.text


def test_an_embedded_encrypted_archive_makes_the_document_encrypted() -> None:
    locked = samples.mark_zip_encrypted(samples.zip_of({"x.csv": CSV}))
    report = samples.with_media(samples.docx(["see the object"]), {"word/embeddings/oleObject1.bin": ole_native("x.zip", locked)})
    assert extract(report, "r.docx").status == "encrypted"


def test_a_damaged_object_is_unscannable_and_the_document_still_read() -> None:
    broken = ole_native("customers.csv", CSV)
    broken = broken.replace(struct.pack("<I", len(CSV)), struct.pack("<I", 10_000_000))  # longer than it is
    report = samples.with_media(samples.docx([f"card {CARD}"]), {"word/embeddings/oleObject1.bin": broken})
    result = extract(report, "r.docx")
    assert result.status == "unscannable" and CARD in result.text


def test_an_object_that_is_no_file_gives_its_strings_not_unscannable() -> None:
    equation = compound_file({"Equation Native": b"\x1c\x00\x00\x00\x02\x00salary = 4111 1111 1111 1111\x00",
                              "\x01CompObj": b"\x01\x00\xfe\xff" + bytes(20) + b"Microsoft Equation 3.0\x00"})
    legacy = (Path(__file__).parent / "data" / "legacy_office.doc").read_bytes()
    report = samples.with_media(samples.docx(["formula below"]), {"word/embeddings/oleObject1.bin": equation,
                                                                  "word/embeddings/oleObject2.bin": legacy})
    result = extract(report, "r.docx")
    assert result.status == "ok", result.reason  # a formula in a report must not make it unscannable
    assert [p.path for p in result.parts][1:] == ["r.docx/word/embeddings/oleObject1.bin/strings.txt",
                                                  "r.docx/word/embeddings/oleObject2.bin"]
    assert CARD in result.text and "Routing number" in result.text  # and a .doc object is read as one


def test_alternative_format_chunks_are_read_as_part_of_the_document() -> None:
    # w:altChunk: Word shows this HTML, MHT or RTF inside the document; document.xml only points at it
    report = samples.with_media(samples.docx(["Report"]), {
        "word/afchunk.htm": f"<html><body><p>card {CARD}</p></body></html>".encode(),
        "word/afchunk2.mht": (b"MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n"
                              b"Content-Transfer-Encoding: quoted-printable\n\n<p>resident " + RID.encode() + b"=\n</p>\n"),
        "word/afchunk3.rtf": rb"{\rtf1\ansi\ansicpg936{\fonttbl{\f0\fcharset134 SimSun;}}\f0 \'c9\'ed\'b7\'dd\'d6\'a4\par}"})
    result = extract(report, "r.docx")
    assert result.status == "ok"
    assert [p.kind for p in result.parts] == ["docx", "html", "eml", "rtf"]
    assert CARD in result.text and RID in result.text and "身份证" in result.text  # was: "Report" alone


def test_documents_embedded_in_each_other_stop_at_the_depth_limit() -> None:
    document = samples.docx(["innermost"])
    for level in range(8):
        document = samples.with_media(samples.docx([f"level {level}"]), {"word/embeddings/inner.docx": document})
    result = extract(document, "deep.docx", limits=Limits(max_depth=5))
    assert result.status == "unscannable" and "nested deeper than 5 levels" in (result.reason or "")


def test_damaged_copies_never_raise() -> None:
    original = samples.with_media(samples.docx(["x"]), {"word/embeddings/oleObject1.bin": ole_native("a.csv", CSV)})
    for copy in samples.damaged(original, "embedded", 200, most_flips=4, cut_chance=0.2):
        assert extract(copy, "fuzz.docx").status in ("ok", "unscannable", "encrypted")


def test_a_pivot_tables_cache_is_read_after_its_source_sheet_is_gone() -> None:
    # LibreOffice 7.4 (data/make_libreoffice.py): the pivot table shows names, routing numbers and
    # counts; the cards are only in its cache
    data = (Path(__file__).parent / "data" / "pivot_only.xlsx").read_bytes()
    result = extract(data, "report.xlsx")
    assert result.status == "ok"
    assert "Name\tRouting number\tCard\nAda\t021000021\t4111 1111 1111 1111" in result.text
    assert sum(f.detector == "credit_card" for f in scan_text(result.text)) == 3  # was: 0


def test_a_pivot_cache_with_indexes_out_of_range_is_still_read() -> None:
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    definition = (f'<pivotCacheDefinition {ns}><cacheFields count="2"><cacheField name="Card"><sharedItems count="1">'
                  f'<s v="{CARD}"/></sharedItems></cacheField><cacheField name="Amount"><sharedItems/></cacheField>'
                  "</cacheFields></pivotCacheDefinition>").encode()
    records = f'<pivotCacheRecords {ns}><r><x v="0"/><n v="12.5"/></r><r><x v="7"/><m/></r><r><x v="-1"/></r></pivotCacheRecords>'.encode()
    book = samples.with_media(samples.xlsx([["a"]]), {"xl/pivotCache/pivotCacheDefinition1.xml": definition,
                                                      "xl/pivotCache/pivotCacheRecords1.xml": records})
    result = extract(book, "b.xlsx")
    assert result.status == "ok" and f"Card\tAmount\n{CARD}\t12.5\n\t\n" in result.text


def test_parts_the_document_does_not_show_are_read_each_value_on_its_own() -> None:
    parts = {
        "customXml/item1.xml": f"<export><row><card>{CARD}</card></row></export>".encode(),
        "docProps/core.xml": b'<cp:coreProperties xmlns:cp="cp" xmlns:dc="dc"><dc:title>Payroll</dc:title>'
                             b"<cp:keywords>" + RID.encode() + b"</cp:keywords></cp:coreProperties>",
        "docProps/custom.xml": b'<Properties><property name="Owner"><vt:lpwstr xmlns:vt="vt">Ada</vt:lpwstr></property></Properties>',
        "docProps/app.xml": b"<Properties><Application>LibreOffice/7.4.7.2$Linux</Application><Pages>1</Pages></Properties>",
        "word/charts/chart1.xml": b'<c:chartSpace xmlns:c="c"><c:numCache><c:pt idx="0"><c:v>5500000000000004</c:v></c:pt>'
                                  b'<c:pt idx="1"><c:v>12</c:v></c:pt></c:numCache></c:chartSpace>',
    }
    result = extract(samples.with_media(samples.docx(["Report"]), parts), "r.docx")
    lines = result.text.splitlines()
    assert CARD in lines and RID in lines and "Owner" in lines and "Ada" in lines
    assert "5500000000000004" in lines and "12" in lines  # two cached values, not "550000000000000412"
    assert "LibreOffice/7.4.7.2$Linux" not in result.text  # app.xml: the application, not the document


def test_an_external_links_cached_values_are_read() -> None:
    link = (b'<externalLink xmlns="main"><externalBook><sheetDataSet><sheetData sheetId="0"><row r="1">'
            b'<cell r="A1" t="str"><v>' + CARD.encode() + b"</v></cell></row></sheetData></sheetDataSet></externalBook></externalLink>")
    result = extract(samples.with_media(samples.xlsx([["=[1]Sheet1!A1"]]), {"xl/externalLinks/externalLink1.xml": link}), "b.xlsx")
    assert CARD in result.text.splitlines()


def test_threaded_and_modern_comments_are_read() -> None:
    threaded = (b'<ThreadedComments xmlns="tc"><threadedComment ref="A1"><text>card ' + CARD.encode()
                + b"</text></threadedComment></ThreadedComments>")
    book = samples.with_media(samples.xlsx([["a"]]), {"xl/threadedComments/threadedComment1.xml": threaded})
    assert CARD in extract(book, "b.xlsx").text
    modern = b'<p188:cmLst xmlns:p188="p"><p188:cm><p188:txBody><a:p xmlns:a="a"><a:r><a:t>' + RID.encode() + b"</a:t></a:r></a:p></p188:txBody></p188:cm></p188:cmLst>"
    deck = samples.with_media(samples.pptx(["slide"]), {"ppt/comments/modernComment_100_0.xml": modern})
    assert RID in extract(deck, "d.pptx").text
