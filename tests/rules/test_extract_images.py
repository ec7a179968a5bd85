"""Images: kinds, the pixel limit before any decode, the OCR port, and real tesseract."""

from __future__ import annotations

import struct
import time
import zlib
from io import BytesIO

import psutil
import pytest
from PIL import Image

from rules.detectors import scan_text
from rules.extract import Limits, extract
from rules.extract.budget import Unscannable
from rules.extract.sniff import sniff
from rules.extract.tesseract import LANGUAGES, tesseract_ocr
from tests.fixtures.realparts import require_binary, unavailable
from tests.rules import samples
from tests.rules.samples import screenshot as picture


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares `width` x `height` and carries no pixels (a bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
            + b"\x00\x00\x00\x00IEND\xaeB`\x82")


class Recorder:
    """A fake OCR port: returns fixed text and remembers what it was given."""

    def __init__(self, text: str = "", error: str | None = None) -> None:
        self.text, self.error = text, error
        self.calls: list[tuple[int, float]] = []

    def __call__(self, data: bytes, seconds: float) -> str:
        self.calls.append((len(data), seconds))
        if self.error is not None:
            raise Unscannable(self.error)
        return self.text


@pytest.mark.parametrize(("fmt", "kind"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"),
                                           ("BMP", "image/bmp"), ("TIFF", "image/tiff"), ("WEBP", "image/webp")])
def test_images_are_told_by_their_magic_numbers(fmt: str, kind: str) -> None:
    img = Image.new("RGB", (8, 8), (255, 255, 255))
    out = BytesIO()
    img.save(out, fmt)
    assert sniff(out.getvalue(), "no-extension") == kind


def _heif_or_avif(fmt: str, lines: list[str], size: int = 22, width: int = 900) -> bytes:
    """A screenshot saved as a phone saves photos: HEIF (pillow-heif's libheif and x265, as an
    iPhone's HEVC) or AVIF (Pillow's libavif), quality 90."""
    from rules.extract.images import open_heif

    open_heif()
    png = Image.open(BytesIO(picture(lines, "PNG", size, width=width)))
    out = BytesIO()
    png.save(out, fmt, quality=90)
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "kind"), [("HEIF", "image/heic"), ("AVIF", "image/avif")])
def test_phone_photo_formats_are_told_by_their_brand_and_sized_without_a_library(fmt: str, kind: str) -> None:
    from rules.extract.images import image_size

    data = _heif_or_avif(fmt, ["x"], width=640)
    assert sniff(data, "IMG_0001") == kind
    assert image_size(data, "p", kind) == Image.open(BytesIO(data)).size
    video = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(64)
    assert not sniff(video, "clip.mp4").startswith("image/")
    for copy in samples.damaged(data, fmt, 200, most_flips=6, cut_chance=0.3, shortest=12):
        assert extract(copy, "p.heic").status in ("ok", "unscannable")


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_real_ocr_reads_a_phone_photo_format(tesseract: Limits, fmt: str) -> None:
    data = _heif_or_avif(fmt, ["Payment details for the Q3 renewal", "Card number: 4242 4242 4242 4242"])
    result = extract(data, "IMG_0042.HEIC", limits=tesseract)
    assert result.status == "ok", result.reason
    assert any(f.detector == "credit_card" for f in scan_text(result.text))


def test_real_ocr_reads_a_large_heif_at_its_own_size(tesseract: Limits) -> None:
    """Over `ENLARGE_MAX_PIXELS` a picture is not enlarged, but a HEIF is still made PNG for
    tesseract, which cannot read HEIF (a 12 M pixel iPhone photo of a page)."""
    from rules.extract.tesseract import ENLARGE_MAX_PIXELS

    lines = ["Card number: 4242 4242 4242 4242"] + ["nothing to see here"] * 30
    data = _heif_or_avif("HEIF", lines, size=40, width=2200)
    width, height = Image.open(BytesIO(data)).size
    assert width * height > ENLARGE_MAX_PIXELS
    result = extract(data, "IMG_0043.HEIC", limits=tesseract)
    assert result.status == "ok" and "4242 4242 4242 4242" in result.text


def test_text_that_starts_with_bm_is_still_text() -> None:
    assert sniff(b"BMW fleet report, Q3: 12 cars\n" * 3, "fleet.txt") == "text"


def test_the_ocr_text_goes_to_the_detectors() -> None:
    ocr = Recorder("Customer card: 4111 1111 1111 1111\n")
    result = extract(picture(["x"]), "shot.png", limits=Limits(ocr=ocr, seconds=12))
    assert result.status == "ok" and result.file_type == "image/png"
    assert any(f.detector == "credit_card" for f in scan_text(result.text))
    assert len(ocr.calls) == 1 and 0 < ocr.calls[0][1] <= 12


@pytest.mark.parametrize(("width", "height"), [(50_000, 50_000), (8_000, 6_000), (1, 50_000_000)])
def test_a_bomb_header_is_refused_before_anything_decodes_it(width: int, height: int) -> None:
    ocr = Recorder("never read")
    result = extract(png_header(width, height), "bomb.png", limits=Limits(ocr=ocr))
    assert result.status == "unscannable"
    assert "above the limit" in (result.reason or "") and "pixels" in (result.reason or "")
    assert ocr.calls == []


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, b"\xff\xd8\xff" + b"\x13" * 50,
                                  b"GIF89a\x00"])
def test_a_corrupt_image_is_unscannable_and_never_reaches_ocr(data: bytes) -> None:
    ocr = Recorder("never read")
    result = extract(data, "broken.img", limits=Limits(ocr=ocr))
    assert result.status == "unscannable" and "corrupt or truncated image/" in (result.reason or "")
    assert ocr.calls == []


def test_without_an_ocr_engine_an_image_is_unscannable_and_says_so() -> None:
    result = extract(picture(["x"]), "shot.png")
    assert result.status == "unscannable" and "no OCR engine" in (result.reason or "")


def test_an_ocr_failure_is_unscannable_naming_the_file() -> None:
    result = extract(picture(["x"]), "shot.png", limits=Limits(ocr=Recorder(error="OCR failed: bad")))
    assert result.status == "unscannable" and result.reason == "shot.png: OCR failed: bad"


def test_an_image_inside_a_zip_is_read_too() -> None:
    import zipfile

    out = BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("scans/page1.jpg", picture(["x"], "JPEG"))
    result = extract(out.getvalue(), "scans.zip", limits=Limits(ocr=Recorder("IBAN DE89 3704 0044 0532 0130 00")))
    assert result.status == "ok"
    assert [p.kind for p in result.parts] == ["image/jpeg"]
    assert any(f.detector == "iban" for f in scan_text(result.text))


@pytest.fixture(scope="module")
def tesseract() -> Limits:
    require_binary("tesseract", "tesseract-ocr")
    ocr = tesseract_ocr()
    if ocr is None:
        unavailable(f"tesseract has none of the languages {LANGUAGES} (Debian tesseract-ocr-eng)")
    return Limits(ocr=ocr, seconds=60)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"])
def test_real_ocr_reads_a_card_number_off_a_screenshot(tesseract: Limits, fmt: str) -> None:
    """Every format through the real worker (which, run as root, gives up root before it reads)."""
    data = picture(["Payment details for the Q3 renewal", "Card number: 4242 4242 4242 4242",
                    "Contact: finance team"], fmt)
    result = extract(data, f"shot.{fmt.lower()}", limits=tesseract)
    assert result.status == "ok", result.reason
    found = [f for f in scan_text(result.text) if f.detector == "credit_card"]
    assert found and found[0].level == "high"


def test_real_ocr_reads_chinese(tesseract: Limits) -> None:
    from rules.extract.tesseract import installed_languages

    if "chi_sim" not in installed_languages(require_binary("tesseract", "tesseract-ocr")):
        unavailable("tesseract's Simplified Chinese data missing (Debian tesseract-ocr-chi-sim)")
    data = picture(["客户信息", "身份证号码：11010519491231002X"], size=16)
    result = extract(data, "客户.png", limits=tesseract)
    assert result.status == "ok", result.reason
    assert any(f.detector == "cn_resident_id" for f in scan_text(result.text)), result.text


def test_real_ocr_is_stopped_at_the_time_cap(tesseract: Limits) -> None:
    import numpy as np

    noise = np.random.default_rng(3).integers(0, 256, (3000, 3000), dtype=np.uint8)
    out = BytesIO()
    Image.fromarray(noise).save(out, "PNG")
    result = extract(out.getvalue(), "noise.png", limits=Limits(ocr=tesseract.ocr, seconds=0.3))
    assert result.status == "unscannable" and "OCR gave no answer within 0.3 s" in (result.reason or "")

    def tesseracts() -> list[int]:
        return [p.pid for p in psutil.process_iter(["name", "status"])
                if p.info["name"] == "tesseract" and p.info["status"] != psutil.STATUS_ZOMBIE]

    deadline = time.monotonic() + 5
    while tesseracts() and time.monotonic() < deadline:  # killed with the worker, not left running
        time.sleep(0.05)
    assert tesseracts() == []


def test_the_worker_gives_up_root_before_it_reads_the_image() -> None:
    import os
    import subprocess
    import sys

    probe = "from rules.extract.tesseract import drop_privileges; drop_privileges(); import os; print(os.getuid())"
    uid = int(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout)
    assert uid == (65534 if os.geteuid() == 0 else os.geteuid())


def test_a_worker_that_dies_makes_the_image_unscannable_not_the_caller() -> None:
    from rules.extract.tesseract import read_image

    with pytest.raises(Unscannable, match="OCR failed"):
        read_image("no_such_language", png_header(10, 10), 30)  # tesseract refuses: the worker exits 1


@pytest.mark.parametrize(("read", "meant"), [
    ("IBAN: GB52OQSX00823604994759", "IBAN: GB52OQSX00823604994759"),  # a bank code's O and Q are letters
    ("身份证号码：54012519600731421xX", "身份证号码：54012519600731421X"),
    ("4242 4O42 4242 4242", "4242 4042 4242 4242"),
    ("NHS 943 476 59l9", "NHS 943 476 5919"),
    ("H2O2 and CO2, ROOM 1O1, GOOD BOLD 2O26", "H2O2 and CO2, ROOM 1O1, GOOD BOLD 2026"),
    ("客户 信息 ：身份 证 号码", "客户信息：身份证号码"),
    ("Quarterly report, Q3", "Quarterly report, Q3"),
])
def test_ocr_confusions_are_undone_only_inside_numbers(read: str, meant: str) -> None:
    from rules.extract.tesseract import corrected

    assert corrected(read) == meant
    assert len(corrected(read)) == len(read) or " " in read or "xX" in read  # Chinese gaps, a doubled X


def test_images_are_enlarged_in_grey_on_white_before_ocr() -> None:
    from rules.extract.tesseract import ENLARGE_MAX_PIXELS, enlarged

    clear = Image.new("RGBA", (40, 20), (0, 0, 0, 0))  # black text drawn on a transparent page
    clear.putpixel((5, 5), (0, 0, 0, 255))
    out = BytesIO()
    clear.save(out, "PNG")
    with Image.open(BytesIO(enlarged(out.getvalue()))) as big:
        assert big.size == (80, 40) and big.mode == "L"
        assert big.getpixel((0, 0)) == 255 and big.getpixel((11, 11)) < 128
    frames = BytesIO()
    Image.new("L", (8, 8)).save(frames, "TIFF", save_all=True, append_images=[Image.new("L", (8, 8), 255)])
    assert enlarged(frames.getvalue()) == frames.getvalue()  # every page of a TIFF is read as it is
    huge = png_header(ENLARGE_MAX_PIXELS, 2)
    assert enlarged(huge) == huge and enlarged(b"not an image") == b"not an image"


def test_pictures_in_office_files_are_read_when_there_is_ocr() -> None:
    from tests.rules import samples

    shot, icon = picture(["x"]), _tiny_png()
    report = samples.with_media(samples.docx(["Quarterly review"]),
                                {"word/media/image1.png": shot, "word/media/image2.png": icon})
    ocr = Recorder("Card number: 4242 4242 4242 4242")
    result = extract(report, "review.docx", limits=Limits(ocr=ocr))
    assert result.status == "ok"
    assert [(p.path, p.kind) for p in result.parts] == [("review.docx", "docx"),
                                                       ("review.docx/word/media/image1.png", "image/png")]
    assert len(ocr.calls) == 1  # the 16 x 16 icon holds no text to read
    assert "Quarterly review" in result.text and any(f.detector == "credit_card" for f in scan_text(result.text))
    without = extract(report, "review.docx")  # no OCR engine: the document is read as before
    assert without.status == "ok" and [p.kind for p in without.parts] == ["docx"]


def _tiny_png() -> bytes:
    out = BytesIO()
    Image.new("RGB", (16, 16), (255, 255, 255)).save(out, "PNG")
    return out.getvalue()


def test_real_ocr_reads_a_screenshot_pasted_into_a_slide(tesseract: Limits) -> None:
    from tests.rules import samples

    deck = samples.with_media(samples.pptx(["Customer escalations"]),
                              {"ppt/media/image3.jpeg": picture(["Customer: Ann Lee", "Card: 4242 4242 4242 4242"], "JPEG")})
    result = extract(deck, "escalations.pptx", limits=tesseract)
    assert result.status == "ok", result.reason
    found = [f for f in scan_text(result.text) if f.detector == "credit_card"]
    assert found and result.parts[-1].path == "escalations.pptx/ppt/media/image3.jpeg"
    assert result.parts[-1].start <= found[0].start < result.parts[-1].end


def scanned_pdf(pages: list[bytes | str | None]) -> bytes:
    """A PDF whose pages are a picture filling the page (bytes: a PNG/JPEG, as a scanner makes
    them), a line of text (str), or blank (None)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for content in pages:
        pdf.add_page()
        if isinstance(content, bytes):
            pdf.image(BytesIO(content), x=10, y=10, w=190)
        elif isinstance(content, str):
            pdf.cell(text=content)
    return bytes(pdf.output())


class PageRecorder:
    def __init__(self, error: str | None = None) -> None:
        self.error, self.calls = error, []  # type: ignore[var-annotated]

    def __call__(self, pdf: bytes, pages: tuple[int, ...], seconds: float) -> list[str]:
        self.calls.append(pages)
        if self.error is not None:
            raise Unscannable(self.error)
        return [f"Card number: 4242 4242 4242 4242 (page {n})" for n in pages]


def test_only_scanned_pages_go_to_ocr_and_their_text_takes_their_place() -> None:
    pages = PageRecorder()
    pdf = scanned_pdf(["Cover letter, nothing sensitive", picture(["x"]), None, picture(["y"], "JPEG")])
    result = extract(pdf, "contract.pdf", limits=Limits(ocr_pages=pages))
    assert pages.calls == [(2, 4)]  # the blank page holds no picture: no OCR
    assert result.status == "ok" and "Cover letter" in result.text
    assert "(page 2)" in result.text and "(page 4)" in result.text
    assert len([f for f in scan_text(result.text) if f.detector == "credit_card"]) == 2
    assert extract(pdf, "contract.pdf").text.count("Card number") == 0  # no OCR: as before


def test_an_ocr_failure_on_scanned_pages_keeps_the_text_layer_and_says_what_was_not_read() -> None:
    pdf = scanned_pdf(["Cover letter with card 4111 1111 1111 1111", picture(["x"])])
    result = extract(pdf, "contract.pdf", limits=Limits(ocr_pages=PageRecorder(error="OCR gave no answer within 3 s")))
    assert result.status == "unscannable"
    assert result.reason == "contract.pdf: scanned pages 2: OCR gave no answer within 3 s"
    assert any(f.detector == "credit_card" for f in scan_text(result.text))  # page 1 still judged


def test_scanned_pages_past_the_limit_make_the_pdf_unscannable_after_reading_the_first() -> None:
    pages = PageRecorder()
    pdf = scanned_pdf([picture(["x"])] * 4)
    result = extract(pdf, "scan.pdf", limits=Limits(ocr_pages=pages, max_ocr_pages=3))
    assert pages.calls == [(1, 2, 3)]
    assert result.status == "unscannable" and result.reason == "scan.pdf: 4 scanned pages; OCR read the first 3"
    assert result.text.count("Card number") == 3


def test_real_ocr_reads_a_scanned_page() -> None:
    from rules.extract.tesseract import with_ocr

    require_binary("pdftoppm", "poppler-utils")
    require_binary("tesseract", "tesseract-ocr")
    scan = picture(["Customer agreement", "Card number: 4242 4242 4242 4242", "Signed: Ann Lee"], "JPEG", size=30)
    result = extract(scanned_pdf(["Fax cover sheet", scan]), "fax.pdf", limits=with_ocr(Limits(seconds=60)))
    assert result.status == "ok", result.reason
    assert "Fax cover sheet" in result.text
    assert [f.level for f in scan_text(result.text) if f.detector == "credit_card"] == ["high"]


def report_pdf(pages: list[tuple[str, list[bytes]]]) -> bytes:
    """A PDF whose pages each have a line of text and the given pictures below it (fpdf2 stores
    the same picture once, however many pages draw it)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text, shots in pages:
        pdf.add_page()
        pdf.cell(text=text)
        for n, shot in enumerate(shots):
            pdf.image(BytesIO(shot), x=10, y=30 + 60 * n, w=120)
    return bytes(pdf.output())


class PictureRecorder:
    def __init__(self, error: str | None = None) -> None:
        self.error, self.calls = error, []  # type: ignore[var-annotated]

    def __call__(self, pdf: bytes, pictures: tuple[tuple[int, int], ...], seconds: float) -> list[str]:
        self.calls.append(pictures)
        if self.error is not None:
            raise Unscannable(self.error)
        return [f"Card number: 4242 4242 4242 4242 (picture on page {page})" for page, _ in pictures]


def _icon() -> bytes:
    out = BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_pictures_on_pages_with_text_are_read_once_each_after_their_page() -> None:
    shot, other = picture(["a"]), picture(["b"], "JPEG")
    pdf = report_pdf([("Quarterly report, page one", [shot, _icon()]), ("Appendix: the tables again", [shot, other]),
                      ("Last page, no pictures", [])])
    recorder = PictureRecorder()
    result = extract(pdf, "report.pdf", limits=Limits(ocr_pictures=recorder, ocr_pages=PageRecorder()))
    assert len(recorder.calls) == 1
    assert [page for page, _ in recorder.calls[0]] == [1, 2]  # the icon is too small; the shot read once
    assert result.status == "ok", result.reason
    first, second = result.text.index("(picture on page 1)"), result.text.index("(picture on page 2)")
    assert result.text.index("Quarterly report") < first < result.text.index("Appendix:") < second
    assert len([f for f in scan_text(result.text) if f.detector == "credit_card"]) == 2
    assert "Card number" not in extract(pdf, "report.pdf").text  # no OCR: the text layer only


def test_a_picture_ocr_failure_keeps_the_text_and_names_the_pages() -> None:
    pdf = report_pdf([("Card 4111 1111 1111 1111 on file", [picture(["a"])])])
    result = extract(pdf, "report.pdf", limits=Limits(ocr_pictures=PictureRecorder(error="OCR failed: killed")))
    assert result.status == "unscannable"
    assert result.reason == "report.pdf: pictures on pages 1: OCR failed: killed"
    assert any(f.detector == "credit_card" for f in scan_text(result.text))


def test_pictures_past_the_limit_make_the_pdf_unscannable_after_reading_the_first() -> None:
    shots = [picture([str(n)]) for n in range(4)]
    pdf = report_pdf([(f"Page {n} of the deck, with a picture", [shot]) for n, shot in enumerate(shots, 1)])
    recorder = PictureRecorder()
    result = extract(pdf, "deck.pdf", limits=Limits(ocr_pictures=recorder, max_ocr_pages=3))
    assert [page for page, _ in recorder.calls[0]] == [1, 2, 3]
    assert result.status == "unscannable"
    assert result.reason == "deck.pdf: 4 pictures on pages with text; OCR read the first 3"
    assert result.text.count("Card number") == 3


def test_a_picture_over_the_pixel_limit_is_not_read_and_is_named() -> None:
    big = Image.new("L", (900, 700), 255)
    out = BytesIO()
    big.save(out, "PNG")
    pdf = report_pdf([("Site plan of the new office", [out.getvalue(), picture(["a"])])])
    recorder = PictureRecorder()
    result = extract(pdf, "plan.pdf", limits=Limits(ocr_pictures=recorder, max_image_pixels=600_000))
    assert len(recorder.calls[0]) == 1  # the small one only
    assert result.status == "unscannable"
    assert "on page 1: 900 x 700 pixels, above the limit of 600,000" in (result.reason or "")
    assert "Card number" in result.text


def test_real_ocr_reads_a_screenshot_in_a_pdf_report() -> None:
    from rules.extract.tesseract import with_ocr

    require_binary("pdfimages", "poppler-utils")
    require_binary("tesseract", "tesseract-ocr")
    shot = picture(["Customer export", "Card number: 4242 4242 4242 4242", "Owner: Ann Lee"], "JPEG")
    pdf = report_pdf([("Incident summary: see the export below", [shot]), ("Appendix: the export again", [shot])])
    result = extract(pdf, "incident.pdf", limits=with_ocr(Limits(seconds=60)))
    assert result.status == "ok", result.reason
    assert result.text.index("Incident summary") < result.text.index("Customer export") < result.text.index("Appendix")
    assert [f.level for f in scan_text(result.text) if f.detector == "credit_card"] == ["high"]  # read once
