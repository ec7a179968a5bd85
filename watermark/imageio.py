"""Turning untrusted bytes into pixels safely.

The pixel count is read from the file header and checked *before* anything is decoded, so a
50,000 x 50,000 PNG of a few kilobytes (a decompression bomb) is refused without allocating it.
Formats: PNG, JPEG, BMP and WebP (what screenshots and chat apps produce).
"""

from __future__ import annotations

import struct

import cv2
import numpy as np
import numpy.typing as npt

from watermark.errors import DecodeError

DEFAULT_MAX_PIXELS = 80_000_000

Image = npt.NDArray[np.uint8]


def load_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    """RGB uint8 pixels of an encoded image; transparency is flattened over white."""
    return load_layers(data, max_pixels=max_pixels)[0]


def load_layers(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[Image, ...]:
    """RGB renderings of an image: one when opaque; over white and over black when it has alpha."""
    width, height = image_size(data)
    if width * height > max_pixels:
        raise DecodeError(f"image is {width} x {height} pixels, over the limit of {max_pixels}")
    pixels = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.size == 0:
        raise DecodeError("the image data is corrupt or truncated")
    return _to_rgb_layers(np.asarray(pixels))


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the header alone; DecodeError when the format is not recognised."""
    for sniff, reader in _READERS:
        if data.startswith(sniff):
            try:
                width, height = reader(data)
            except (struct.error, IndexError, ValueError) as exc:
                raise DecodeError(f"the image header is corrupt: {exc}") from exc
            if width <= 0 or height <= 0:
                raise DecodeError(f"the image header gives an empty size {width} x {height}")
            return width, height
    raise DecodeError("not a PNG, JPEG, BMP or WebP image")


def _png_size(data: bytes) -> tuple[int, int]:
    if data[12:16] != b"IHDR":
        raise ValueError("PNG without IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _jpeg_size(data: bytes) -> tuple[int, int]:
    pos = 2
    while pos + 9 < len(data):
        if data[pos] != 0xFF:
            raise ValueError("JPEG marker expected")
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            pos += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    raise ValueError("no JPEG frame header")


def _bmp_size(data: bytes) -> tuple[int, int]:
    width, height = struct.unpack("<ii", data[18:26])
    return int(width), abs(int(height))


def _webp_size(data: bytes) -> tuple[int, int]:
    if data[8:12] != b"WEBP":
        raise ValueError("RIFF file that is not WebP")
    kind = data[12:16]
    if kind == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if kind == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if kind == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    raise ValueError(f"unknown WebP chunk {kind!r}")


_READERS = (
    (b"\x89PNG\r\n\x1a\n", _png_size),
    (b"\xff\xd8", _jpeg_size),
    (b"BM", _bmp_size),
    (b"RIFF", _webp_size),
)


def _to_rgb_layers(pixels: npt.NDArray[np.generic]) -> tuple[Image, ...]:
    if pixels.dtype == np.uint16:
        pixels = (pixels.astype(np.uint32) // 257).astype(np.uint8)
    if pixels.dtype != np.uint8:
        raise DecodeError(f"unsupported pixel type {pixels.dtype}")
    if pixels.ndim == 2:
        grey = np.asarray(pixels, dtype=np.uint8)
        return (np.repeat(grey[:, :, None], 3, axis=2),)
    rgb = np.ascontiguousarray(pixels[:, :, 2::-1], dtype=np.uint8)
    if pixels.shape[2] < 4:
        return (rgb,)
    alpha = pixels[:, :, 3:4].astype(np.float64) / 255.0
    return tuple(_flatten(rgb, alpha, level) for level in (255.0, 0.0))


def _flatten(rgb: Image, alpha: npt.NDArray[np.float64], level: float) -> Image:
    out = rgb.astype(np.float64) * alpha + level * (1.0 - alpha)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
