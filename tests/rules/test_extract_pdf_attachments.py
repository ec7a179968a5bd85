"""Files attached to PDFs: by poppler's `pdfattach` (the document's attachment list) and by fpdf2
(the list, and a paperclip annotation on a page)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fpdf import FPDF

from rules.detectors import scan_text
from rules.extract import Limits, extract
from tests.fixtures.realparts import require_binary
from tests.rules import samples

CARD = "4111 1111 1111 1111"
CSV = f"name,card\nAda,{CARD}\n".encode()


def report(attach: dict[str, bytes] | None = None, annotate: dict[str, bytes] | None = None, *, tmp: Path) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(text="Quarterly report, see the attached file")
    for name, data in (attach or {}).items():
        path = tmp / name
        path.write_bytes(data)
        pdf.embed_file(str(path), compress=True)
    for name, data in (annotate or {}).items():
        path = tmp / name
        path.write_bytes(data)
        pdf.file_attachment_annotation(str(path), x=20, y=40)
    return bytes(pdf.output())


def test_a_file_attached_by_pdfattach_is_read(tmp_path: Path) -> None:
    require_binary("pdfattach", "poppler-utils")
    (tmp_path / "customers.csv").write_bytes(CSV)
    (tmp_path / "base.pdf").write_bytes(report(tmp=tmp_path))
    subprocess.run(["pdfattach", str(tmp_path / "base.pdf"), str(tmp_path / "customers.csv"), str(tmp_path / "out.pdf")],
                   check=True, timeout=60)
    result = extract((tmp_path / "out.pdf").read_bytes(), "out.pdf")
    assert result.status == "ok" and [p.path for p in result.parts] == ["out.pdf", "out.pdf/customers.csv"]
    assert "Quarterly report" in result.text and CARD in result.text  # was: the page's text alone


def test_a_paperclip_on_a_page_is_read_once(tmp_path: Path) -> None:
    result = extract(report(annotate={"customers.csv": CSV}, tmp=tmp_path), "clip.pdf")
    assert [p.path for p in result.parts] == ["clip.pdf", "clip.pdf/customers.csv"] and CARD in result.text


def test_attached_archives_are_opened_and_encrypted_ones_reported(tmp_path: Path) -> None:
    inner = samples.zip_of({"export/customers.csv": CSV})
    locked = samples.mark_zip_encrypted(samples.zip_of({"x.csv": CSV}))
    result = extract(report(attach={"export.zip": inner, "locked.zip": locked}, tmp=tmp_path), "r.pdf")
    assert "r.pdf/export.zip/export/customers.csv" in [p.path for p in result.parts] and CARD in result.text
    assert result.status == "encrypted" and result.reason is not None and "r.pdf/locked.zip" in result.reason


def test_an_attached_bomb_keeps_the_pages_text(tmp_path: Path) -> None:
    result = extract(report(attach={"zeros.bin": bytes(60 << 20)}, tmp=tmp_path), "bomb.pdf",
                     limits=Limits(max_expanded_bytes=16 << 20))
    assert result.status == "unscannable" and "Quarterly report" in result.text


def test_damaged_copies_never_raise(tmp_path: Path) -> None:
    original = report(attach={"customers.csv": CSV}, annotate={"notes.txt": b"card " + CARD.encode()}, tmp=tmp_path)
    for copy in samples.damaged(original, "pdf-attachments", 200, most_flips=4, cut_chance=0.2):
        assert extract(copy, "fuzz.pdf").status in ("ok", "unscannable", "encrypted")


DATA = Path(__file__).parent / "data"


def test_values_typed_into_a_pdf_form_are_read() -> None:
    # reportlab 4 (data/make_form.py): the values live in the form's fields, not in the page's text
    result = extract((DATA / "form_filled.pdf").read_bytes(), "form.pdf")
    assert result.text.splitlines()[-2:] == ["Social security number: 078-05-1120", "card: 4111 1111 1111 1111"]
    found = {(f.detector, f.level) for f in scan_text(result.text)}
    assert {("us_ssn", "high"), ("credit_card", "high")} <= found  # was: neither
    assert "078-05-1120" not in extract((DATA / "form_blank.pdf").read_bytes(), "blank.pdf").text


def test_a_form_filled_by_pypdf_is_read(tmp_path: Path) -> None:
    from io import BytesIO

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(BytesIO((DATA / "form_blank.pdf").read_bytes())))
    writer.update_page_form_field_values(writer.pages[0], {"ssn": "219-09-9999", "card": "5500 0000 0000 0004"},
                                         auto_regenerate=False)
    out = BytesIO()
    writer.write(out)
    text = extract(out.getvalue(), "filled.pdf").text
    assert "Social security number: 219-09-9999" in text and "card: 5500 0000 0000 0004" in text


def test_the_data_of_an_xfa_form_is_read() -> None:
    from io import BytesIO

    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    datasets = DecodedStreamObject()
    datasets.set_data(b'<xfa:datasets xmlns:xfa="http://www.xfa.org/schema/xfa-data/1.0/"><xfa:data><form1>'
                      b"<ssn>078-05-1120</ssn><card>4111 1111 1111 1111</card></form1></xfa:data></xfa:datasets>")
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject({
        NameObject("/Fields"): ArrayObject(),
        NameObject("/XFA"): ArrayObject([TextStringObject("datasets"), writer._add_object(datasets)])})
    out = BytesIO()
    writer.write(out)
    lines = extract(out.getvalue(), "xfa.pdf").text.splitlines()
    assert "ssn: 078-05-1120" in lines and "card: 4111 1111 1111 1111" in lines
