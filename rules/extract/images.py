"""Text of images (screenshots, scanned pages, photos of documents) through an OCR port.

Only the image's header is read here, to refuse a decompression bomb (a 50k x 50k PNG is a few
megabytes on disk and 2.5 GB decoded) before anything decodes it. The OCR itself is a port
(`Limits.ocr`), given the seconds left of the time cap: the shells pass the tesseract backend
(`rules.extract.tesseract`), and without one an image is unscannable, as it was before OCR.
"""

from __future__ import annotations

import warnings
from io import BytesIO

from rules.extract.budget import Budget, Unscannable

#: Magic numbers of the image formats read by OCR, and the kind `sniff` gives each.
IMAGE_MAGIC = {
    b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF87a": "image/gif", b"GIF89a": "image/gif",
    b"II*\x00": "image/tiff", b"MM\x00*": "image/tiff",
}
#: Pictures inside documents (Office media, PDF pages) smaller than this on a side (icons,
#: bullets) hold no text to read and are not given to OCR.
MIN_PICTURE_SIDE = 48

# "BM" alone starts many a text file: a BMP also has one of these DIB header sizes at byte 14.
_BMP_HEADER_SIZES = frozenset((12, 40, 52, 56, 64, 108, 124))


def image_kind(data: bytes) -> str | None:
    """The image kind of `data` from its magic number, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:2] == b"BM" and int.from_bytes(data[14:18], "little") in _BMP_HEADER_SIZES:
        return "image/bmp"
    return next((kind for magic, kind in IMAGE_MAGIC.items() if data.startswith(magic)), None)


def image_size(data: bytes, path: str, kind: str) -> tuple[int, int]:
    """(width, height) from the header alone; a header that cannot be read is unscannable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns of large images; the caller decides
            with Image.open(BytesIO(data)) as img:
                width, height = img.size
    except Image.DecompressionBombError as exc:  # Pillow's own cap, above ours: twice 89 M pixels
        raise Unscannable(f"{path}: {kind} above the limit of pixels, a decompression bomb? ({exc})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise Unscannable(f"{path}: corrupt or truncated {kind} ({exc.__class__.__name__})") from None
    if width <= 0 or height <= 0:
        raise Unscannable(f"{path}: {kind} of {width} x {height} pixels")
    return width, height


def image_text(data: bytes, path: str, kind: str, budget: Budget) -> str:
    """The text OCR reads in the image, within the pixel and time limits."""
    width, height = image_size(data, path, kind)
    limit = budget.limits.max_image_pixels
    if width * height > limit:
        raise Unscannable(f"{path}: {kind} of {width} x {height} pixels is above the limit of {limit:,} pixels")
    ocr = budget.limits.ocr
    if ocr is None:
        raise Unscannable(f"{path}: {kind}: no OCR engine to read its text (install tesseract-ocr)")
    seconds = budget.seconds_left()
    if seconds <= 0:
        raise Unscannable(f"{path}: time limit of {budget.limits.seconds:g} s exceeded before OCR")
    try:
        return ocr(data, seconds)
    except Unscannable as exc:
        raise Unscannable(f"{path}: {exc}") from None
