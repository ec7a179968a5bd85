"""Word 2003 XML and Flat OPC ("Word XML Document", "PowerPoint XML Presentation"): one XML file
per document. No program here writes them; the Flat OPC files are built from real docx/pptx
packages (`samples`) part by part, as Word lays them out (`pkg:package`, `pkg:part`,
`pkg:xmlData` for XML parts, `pkg:binaryData` base64 for the others)."""

from __future__ import annotations

import base64
import io
import zipfile

from rules.detectors import scan_text
from rules.extract import extract
from tests.rules import samples

PKG = "http://schemas.microsoft.com/office/2006/xmlPackage"


def flat_opc(package: bytes, extra: dict[str, bytes] | None = None) -> bytes:
    archive = zipfile.ZipFile(io.BytesIO(package))
    parts = [f'<?xml version="1.0" standalone="yes"?>\n<?mso-application progid="Word.Document"?>\n'
             f'<pkg:package xmlns:pkg="{PKG}">']
    for name in archive.namelist():
        content = archive.read(name)
        if name.endswith((".xml", ".rels")):
            body = content.decode("utf-8").split("?>", 1)[-1] if content.startswith(b"<?xml") else content.decode("utf-8")
            parts.append(f'<pkg:part pkg:name="/{name}" pkg:contentType="application/xml"><pkg:xmlData>{body}'
                         f"</pkg:xmlData></pkg:part>")
    for name, content in (extra or {}).items():
        encoded = base64.encodebytes(content).decode()
        parts.append(f'<pkg:part pkg:name="/{name}" pkg:contentType="application/octet-stream" pkg:compression="store">'
                     f"<pkg:binaryData>{encoded}</pkg:binaryData></pkg:part>")
    parts.append("</pkg:package>")
    return "".join(parts).encode()


def test_a_flat_opc_word_document_reads_as_its_docx_would() -> None:
    docx = samples.docx_with_table([["Name", "Routing Number"], ["Ann", "021000021"], ["Bo", "011000015"]])
    embedded = samples.xlsx([["Card"], ["4111 1111 1111 1111"]])
    data = flat_opc(docx, {"word/embeddings/Microsoft_Excel_Worksheet.xlsx": embedded})
    result = extract(data, "report.xml")
    assert result.status == "ok", result.reason
    assert "Name\tRouting Number\nAnn\t021000021" in result.text  # the table, not one flattened line
    routing = [f for f in scan_text(result.text) if f.detector == "us_aba_routing"]
    assert len(routing) == 2 and all(f.level != "low" for f in routing)
    assert "4111 1111 1111 1111" in result.text  # the embedded workbook, a binary part, read by the base64 pass
    assert any("base64 block" in p.path for p in result.parts)


def test_a_flat_opc_presentation() -> None:
    result = extract(flat_opc(samples.pptx(["Board deck", "card 4111 1111 1111 1111"])), "deck.xml")
    assert "Board deck" in result.text and "4111 1111 1111 1111" in result.text


def test_word_2003_xml_keeps_its_tables() -> None:
    w = "http://schemas.microsoft.com/office/word/2003/wordml"

    def cell(text: str) -> str:
        return f"<w:tc><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>"

    rows = "".join(f"<w:tr>{cell(a)}{cell(b)}</w:tr>" for a, b in [("Name", "Routing"), ("Ann", "021000021")])
    data = (f'<?xml version="1.0"?><?mso-application progid="Word.Document"?><w:wordDocument xmlns:w="{w}">'
            f"<w:body><w:p><w:r><w:t>Payroll</w:t></w:r></w:p><w:tbl>{rows}</w:tbl></w:body></w:wordDocument>")
    result = extract(data.encode(), "payroll.xml")
    assert result.text.startswith("Payroll\nName\tRouting\nAnn\t021000021")
