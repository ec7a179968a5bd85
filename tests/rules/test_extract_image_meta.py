"""Text in images' metadata (`rules/extract/image_meta.py`).

The metadata is written by ExifTool (Debian `libimage-exiftool-perl`), an independent writer
that does what cameras, Windows' Properties dialog and photo editors do, and by Pillow for what
ExifTool leaves aside (a zTXt chunk after the image data, a GIF comment, WebP's EXIF).
"""

from __future__ import annotations

import io
import subprocess
import zlib
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from rules.extract import Limits, extract
from rules.extract.image_meta import MAX_METADATA, image_metadata
from tests.fixtures.realparts import require_binary
from tests.rules import samples

CARD = "4111 1111 1111 1111"
RID = "11010519491231002X"
IBAN = "DE89370400440532013000"


def picture(fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 210, 220)).save(out, fmt, **options)
    return out.getvalue()


def exiftool(data: bytes, suffix: str, tmp_path: Path, *tags: str) -> bytes:
    """`data` with `tags` (`-Name=value`) written by ExifTool."""
    tool = require_binary("exiftool", "libimage-exiftool-perl")
    path = tmp_path / f"image{suffix}"
    path.write_bytes(data)
    subprocess.run([tool, "-q", "-overwrite_original", "-charset", "utf8", *tags, str(path)], check=True,
                   capture_output=True, timeout=60)
    return path.read_bytes()


def test_what_a_camera_windows_and_an_editor_write_into_a_jpeg_is_read(tmp_path: Path) -> None:
    jpeg = exiftool(picture("JPEG"), ".jpg", tmp_path, f"-Comment=card {CARD}", f"-ImageDescription=id {RID}",
                    f"-UserComment=iban {IBAN}", "-XPComment=客户身份证号码 110105194912310021",
                    "-XPKeywords=payroll;secret", "-Artist=Alice Example", "-Caption-Abstract=Q3 board pack",
                    "-XMP-dc:Description=wire to DE44500105175407324931", "-Copyright=Example Corp")
    text = image_metadata(jpeg)
    for value in (f"card {CARD}", f"id {RID}", f"iban {IBAN}", "客户身份证号码 110105194912310021",
                  "payroll;secret", "Alice Example", "Q3 board pack", "wire to DE44500105175407324931", "Example Corp"):
        assert value in text.splitlines(), value
    assert text.count(f"card {CARD}") == 1


def test_png_text_chunks_anywhere_and_xmp_are_read(tmp_path: Path) -> None:
    info = PngInfo()
    info.add_text("Comment", f"card {CARD}")
    info.add_text("Description", f"id {RID}", zip=True)  # zTXt
    info.add_itxt("Title", "客户名单", lang="zh", tkey="标题")
    png = exiftool(picture("PNG", pnginfo=info), ".png", tmp_path, f"-XMP-dc:Title=iban {IBAN}")
    late = zlib.compress(b"after the pixels 5500 0000 0000 0004")
    chunk = b"zTXt" + b"Hidden\0\0" + late
    iend = png.rindex(b"IEND") - 4
    png = png[:iend] + len(chunk[4:]).to_bytes(4, "big") + chunk + zlib.crc32(chunk).to_bytes(4, "big") + png[iend:]
    lines = image_metadata(png).splitlines()
    assert {f"card {CARD}", f"id {RID}", "客户名单", f"iban {IBAN}", "after the pixels 5500 0000 0000 0004"} <= set(lines)


def test_gif_comments_and_webp_exif_are_read() -> None:
    assert image_metadata(picture("GIF", comment=f"card {CARD}".encode())) == f"card {CARD}"
    exif = Image.Exif()
    exif[0x010E] = f"id {RID}"
    assert f"id {RID}" in image_metadata(picture("WEBP", exif=exif.tobytes()))


def test_metadata_is_read_beside_ocr_and_without_it(tmp_path: Path) -> None:
    jpeg = exiftool(samples.screenshot(["Quarterly figures"], "JPEG"), ".jpg", tmp_path, f"-UserComment=card {CARD}")
    blind = extract(jpeg, "scan.jpg")  # no OCR engine given: the pixels are not read, the metadata is
    assert blind.status == "unscannable" and "no OCR engine" in (blind.reason or "")
    assert f"card {CARD}" in blind.text
    from rules.extract.tesseract import with_ocr

    limits = with_ocr(Limits())
    if limits.ocr is None:
        pytest.skip("tesseract is not installed")
    seen = extract(jpeg, "scan.jpg", limits=limits)
    assert seen.status == "ok" and f"card {CARD}" in seen.text and "Quarterly" in seen.text


def test_a_picture_without_metadata_gives_nothing() -> None:
    assert image_metadata(picture("PNG")) == "" and image_metadata(picture("JPEG")) == ""
    assert image_metadata(b"\x89PNG\r\n\x1a\n" + b"\xff" * 40) == ""


def test_a_compressed_text_bomb_stops_at_the_limit() -> None:
    bomb = zlib.compress(b"A" * (64 << 20), 9)
    chunk = b"zTXt" + b"Bomb\0\0" + bomb
    png = picture("PNG")
    iend = png.rindex(b"IEND") - 4
    png = png[:iend] + len(chunk[4:]).to_bytes(4, "big") + chunk + zlib.crc32(chunk).to_bytes(4, "big") + png[iend:]
    assert len(image_metadata(png)) == MAX_METADATA


def test_damaged_metadata_never_raises(tmp_path: Path) -> None:
    jpeg = exiftool(picture("JPEG"), ".jpg", tmp_path, f"-Comment=card {CARD}", f"-UserComment=iban {IBAN}",
                    "-XPComment=x", "-Caption-Abstract=y", "-XMP-dc:Description=z")
    info = PngInfo()
    info.add_text("Comment", f"card {CARD}", zip=True)
    info.add_itxt("Title", "t", zip=True)
    for seed, original in (("jpeg-meta", jpeg), ("png-meta", picture("PNG", pnginfo=info))):
        for copy in samples.damaged(original, seed, 300, most_flips=6, cut_chance=0.2, shortest=40):
            image_metadata(copy)
            assert extract(copy, "x.img").status in ("ok", "unscannable", "encrypted")
