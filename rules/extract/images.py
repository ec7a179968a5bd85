"""Text of images (screenshots, scanned pages, photos of documents) through an OCR port.

Only the image's header is read here, to refuse a decompression bomb (a 50k x 50k PNG is a few
megabytes on disk and 2.5 GB decoded) before anything decodes it. The OCR itself is a port
(`Limits.ocr`), given the seconds left of the time cap: the shells pass the tesseract backend
(`rules.extract.tesseract`), and without one an image is unscannable, as it was before OCR.
"""

from __future__ import annotations

import functools
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
#: Major brands of an ISO media file's `ftyp` box that make it a still image: HEIF (what an
#: iPhone's camera saves, HEVC inside) and AVIF (AV1 inside). A video (isom, mp42...) is not one.
_HEIF_BRANDS = frozenset((b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"))
_AVIF_BRANDS = frozenset((b"avif", b"avis"))
#: Kinds tesseract cannot read: the OCR worker decodes them to PNG first.
DECODED_FOR_OCR = frozenset(("image/heic", "image/avif"))


def image_kind(data: bytes) -> str | None:
    """The image kind of `data` from its magic number, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:2] == b"BM" and int.from_bytes(data[14:18], "little") in _BMP_HEADER_SIZES:
        return "image/bmp"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        return "image/heic" if brand in _HEIF_BRANDS else "image/avif" if brand in _AVIF_BRANDS else None
    return next((kind for magic, kind in IMAGE_MAGIC.items() if data.startswith(magic)), None)


@functools.cache
def open_heif() -> None:
    """Teaches Pillow to open HEIF images (pillow-heif: libheif with libde265; AVIF is Pillow's
    own). Only the OCR worker does: nothing of a HEIF or AVIF file is parsed by a library in the
    caller, which reads its size from the boxes itself (`_boxed_size`)."""
    from pillow_heif import register_heif_opener

    register_heif_opener()


def image_size(data: bytes, path: str, kind: str) -> tuple[int, int]:
    """(width, height) from the header alone; a header that cannot be read is unscannable."""
    from PIL import Image, UnidentifiedImageError

    if kind in DECODED_FOR_OCR:
        return _boxed_size(data, path, kind)
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


def _boxed_size(data: bytes, path: str, kind: str) -> tuple[int, int]:
    """The largest image extent (`ispe`) a HEIF or AVIF file declares: the primary image (its
    thumbnails are smaller), or its tiles' grid, which is larger than each tile. Boxes: a size
    (32 bits, 1 for a 64-bit size after the type, 0 to the end), a type; `meta` has 4 bytes of
    version and flags before its children, `ispe` before its width and height."""
    found: list[tuple[int, int]] = []
    stack = [(0, len(data), 0)]
    while stack:
        at, end, depth = stack.pop()
        while at + 8 <= end:
            size, kind_of = int.from_bytes(data[at : at + 4], "big"), data[at + 4 : at + 8]
            head = 8
            if size == 1 and at + 16 <= end:
                size, head = int.from_bytes(data[at + 8 : at + 16], "big"), 16
            size = end - at if size == 0 else size
            if size < head or at + size > end:
                break
            if kind_of in (b"meta", b"iprp", b"ipco") and depth < 4:
                stack.append((at + head + (4 if kind_of == b"meta" else 0), at + size, depth + 1))
            elif kind_of == b"ispe" and size >= head + 12:
                found.append((int.from_bytes(data[at + head + 4 : at + head + 8], "big"),
                              int.from_bytes(data[at + head + 8 : at + head + 12], "big")))
            at += size
    width, height = max(found, key=lambda extent: extent[0] * extent[1], default=(0, 0))
    if width <= 0 or height <= 0:
        raise Unscannable(f"{path}: corrupt or truncated {kind} (no image extent)")
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
