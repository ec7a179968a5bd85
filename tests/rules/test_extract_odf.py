"""OpenDocument: files LibreOffice 7.4 wrote (data/odf; the locked ones by data/make_libreoffice.py; the flat .fods
and .fodp in data/ are LibreOffice's too) and content.xml snippets after OpenDocument 1.3."""

from __future__ import annotations

import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from rules.detectors import scan_text
from rules.extract import Limits, extract
from rules.extract.sniff import sniff
from tests.rules import samples

DATA = Path(__file__).parent / "data"
CARD = "4111 1111 1111 1111"
RID = "11010519491231002X"


def odf(name: str) -> bytes:
    return (DATA / "odf" / name).read_bytes()


def found(text: str) -> set[tuple[str, str, str]]:
    return {(f.detector, f.level, text[f.start : f.end]) for f in scan_text(text)}


def test_a_text_document_reads_as_its_text_with_tables() -> None:
    data = odf("payroll.odt")
    assert sniff(data, "payroll.zip") == "odf"
    result = extract(data, "payroll.odt")
    assert result.status == "ok", result.reason  # the thumbnail made every ODF unscannable without OCR
    assert [p.path for p in result.parts] == ["payroll.odt"]
    assert result.text.splitlines()[:5] == [
        f"Quarterly payroll \u2014 confidential. Card {CARD} for Zo\u00eb M\u00fcller.",
        f"员工身份证号码 {RID}，请勿外传。", "Name\tRouting number", "Ada\t021000021", "Bob\t011000015"]
    assert ("us_aba_routing", "medium", "021000021") in found(result.text)  # the header counts


@pytest.mark.parametrize("name, extract_name", [("sheet.ods", "sheet.ods"), ("legacy_office.fods", "flat.fods")])
def test_spreadsheets_read_as_tables(name: str, extract_name: str) -> None:
    data = odf(name) if name.endswith(".ods") else (DATA / name).read_bytes()
    assert sniff(data, extract_name) == "odf"
    result = extract(data, extract_name)
    assert result.status == "ok"
    assert "Name\tRouting Number\tAmount\nAnn Lee\t021000021\t1200.5" in result.text
    assert {("us_aba_routing", "medium", "026009593"), ("credit_card", "high", CARD)} <= found(result.text)


@pytest.mark.parametrize("name", ["slides.odp", "legacy_office.fodp"])
def test_presentations_read_with_their_notes(name: str) -> None:
    data = odf(name) if name.endswith(".odp") else (DATA / name).read_bytes()
    result = extract(data, name)
    assert result.status == "ok"
    assert "Quarterly review" in result.text and "Speaker note: SSN 078-05-1120" in result.text
    assert ("us_ssn", "high", "078-05-1120") in found(result.text)


@pytest.mark.parametrize("name", ["payroll-locked.odt", "sheet-locked.ods"])
def test_password_protected_documents_are_encrypted(name: str) -> None:
    result = extract(odf(name), name)
    assert (result.status, result.reason) == ("encrypted", f"{name}: password-protected OpenDocument file")


def _package(body: str, extra: dict[str, bytes] | None = None) -> bytes:
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"')
    content = f'<office:document-content {ns}><office:body><office:text>{body}</office:text></office:body></office:document-content>'
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", content)
        archive.writestr("Thumbnails/thumbnail.png", samples.screenshot(["thumbnail"]))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_repeated_cells_keep_columns_in_place_and_are_bounded() -> None:
    row = ('<table:table-row><table:table-cell><text:p>Name</text:p></table:table-cell>'
           '<table:table-cell table:number-columns-repeated="2"/>'
           '<table:table-cell><text:p>Routing number</text:p></table:table-cell>'
           '<table:table-cell table:number-columns-repeated="16380"/></table:table-row>'
           '<table:table-row><table:table-cell><text:p>Ada</text:p></table:table-cell>'
           '<table:table-cell table:number-columns-repeated="2"><text:p>x</text:p></table:table-cell>'
           '<table:table-cell><text:p>021000021</text:p></table:table-cell></table:table-row>'
           '<table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="1024"/>'
           '</table:table-row>')
    result = extract(_package(f"<table:table>{row}</table:table>"), "repeat.odt")
    lines = result.text.strip("\n").splitlines()
    assert lines[0].split("\t")[:4] == ["Name", "", "", "Routing number"]
    assert lines[1].split("\t")[:4] == ["Ada", "x", "x", "021000021"]
    assert len(result.text) < 20_000  # 16,380 filler cells written at most 256 times, the million rows once
    assert ("us_aba_routing", "medium", "021000021") in found(result.text)


def test_deleted_tracked_changes_and_spaces() -> None:
    body = ('<text:tracked-changes><text:changed-region><text:deletion><text:p>deleted 4111 1111 1111 1111</text:p>'
            '</text:deletion></text:changed-region></text:tracked-changes>'
            '<text:p>a<text:s text:c="3"/>b<text:tab/>c<text:line-break/>d</text:p>')
    assert extract(_package(body), "t.odt").text == "a   b\tc\nd\n\n"  # extraction ends each part with a line end


def test_pictures_are_read_by_ocr_and_the_thumbnail_is_not() -> None:
    seen: list[int] = []

    def ocr(data: bytes, seconds: float) -> str:
        seen.append(len(data))
        return f"card {CARD}"

    shot = samples.screenshot(["Card", CARD])
    result = extract(_package("<text:p>see picture</text:p>", {"Pictures/1000.png": shot}), "p.odt",
                     limits=Limits(ocr=ocr))
    assert [p.path for p in result.parts] == ["p.odt", "p.odt/Pictures/1000.png"]
    assert seen == [len(shot)] and CARD in result.text


def _with_members(data: bytes, extra: dict[str, bytes]) -> bytes:
    source = zipfile.ZipFile(BytesIO(data))
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = extra.pop(info.filename, None)
            target.writestr(info, content if content is not None else source.read(info))
        for name, content in extra.items():
            target.writestr(name, content)
    return out.getvalue()


def test_inserted_objects_and_properties_are_read() -> None:
    """A LibreOffice spreadsheet inserted into a report is its sub-document `Object 1/content.xml`
    (here the real sheet.ods's); an Excel sheet inserted is the OLE file it came as (`Object 2`,
    a real .xls); the properties are in meta.xml."""
    sheet = zipfile.ZipFile(BytesIO(odf("sheet.ods"))).read("content.xml")
    meta = zipfile.ZipFile(BytesIO(odf("payroll.odt"))).read("meta.xml").replace(
        b'<meta:user-defined meta:name=""/>',
        b"<meta:keyword>Project Nightingale</meta:keyword>"
        b'<meta:user-defined meta:name="Employee">SSN 078-05-1120</meta:user-defined>')
    data = _with_members(odf("payroll.odt"), {"Object 1/content.xml": sheet, "meta.xml": meta,
                                             "Object 2": (DATA / "legacy_office.xls").read_bytes()})
    result = extract(data, "report.odt")
    assert result.status == "ok", result.reason
    assert "Name\tRouting Number\tAmount\nAnn Lee\t021000021\t1200.5" in result.text  # the inserted sheet
    assert "report.odt/Object 2" in [p.path for p in result.parts] and "11010519491231002X" in result.text
    assert "Project Nightingale" in result.text and "078-05-1120" in result.text
    assert "LibreOffice/7.4" not in result.text  # the generator is no property of the document


def test_a_zip_with_a_mimetype_but_no_odf_is_a_zip() -> None:
    data = samples.zip_of({"mimetype": b"text/plain", "content.xml": b"<a/>"})
    assert sniff(data, "x.odt") == "zip"


def test_damaged_copies_never_raise() -> None:
    for name in ("payroll.odt", "sheet.ods", "payroll-locked.odt"):
        for copy in samples.damaged(odf(name), name, 120, most_flips=6, cut_chance=0.3):
            assert extract(copy, name).status in ("ok", "unscannable", "encrypted")
