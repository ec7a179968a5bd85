"""Loading untrusted images: bombs, corrupt and truncated files, alpha flattening."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from watermark.errors import DecodeError
from watermark.imageio import image_size, load_image, load_layers


def png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))


def encode(img: np.ndarray, ext: str) -> bytes:
    ok, data = cv2.imencode(ext, img)
    assert ok
    return data.tobytes()


def test_decompression_bomb_is_refused_from_the_header() -> None:
    with pytest.raises(DecodeError, match="50000 x 50000"):
        load_image(png_header(50000, 50000) + b"\0" * 100, max_pixels=100_000_000)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp"])
def test_header_sizes_match_the_pixels(ext: str) -> None:
    img = np.full((37, 53, 3), 90, dtype=np.uint8)
    data = encode(img, ext)
    assert image_size(data) == (53, 37)
    assert load_image(data).shape == (37, 53, 3)


@pytest.mark.parametrize(
    "data", [b"", b"hello world", b"\x89PNG\r\n\x1a\n", png_header(10, 10) + b"garbage", b"\xff\xd8\xff\xe0\x00"]
)
def test_garbage_gives_a_clear_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        load_image(data)


def test_truncated_jpeg_is_an_error_or_a_partial_image() -> None:
    data = encode(np.full((200, 300, 3), 128, dtype=np.uint8), ".jpg")
    try:
        img = load_image(data[: len(data) // 3])
    except DecodeError:
        return
    assert img.shape == (200, 300, 3)


def test_alpha_is_flattened_over_white_and_black() -> None:
    bgra = np.zeros((4, 4, 4), dtype=np.uint8)
    bgra[..., 3] = 0
    white, black = load_layers(encode(bgra, ".png"))
    assert white.min() == 255 and black.max() == 0


def test_grey_and_16_bit_become_rgb() -> None:
    grey = np.full((5, 6), 40, dtype=np.uint8)
    assert load_image(encode(grey, ".png")).shape == (5, 6, 3)
    deep = np.full((5, 6, 3), 65535, dtype=np.uint16)
    assert load_image(encode(deep, ".png")).max() == 255
