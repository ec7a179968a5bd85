"""Shared helpers for watermark tests: compositing like a real compositor, small attacks."""

from __future__ import annotations

import cv2
import numpy as np

from watermark.overlay import render_overlay

MARK = 0x0123456789ABCDEF
OTHER_MARK = 0xFEDCBA9876543210


def composite(rgba: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """8-bit straight-alpha 'over', rounded like a compositor."""
    a = rgba[..., 3:4].astype(np.float64) / 255.0
    out = rgba[..., :3] * a + bg.astype(np.float64) * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def text_page(width: int, height: int, *, dark: bool = False, seed: int = 0) -> np.ndarray:
    """A page of random words: a stand-in for documents and code in unit tests."""
    paper, ink = ((30, 30, 36), (220, 220, 210)) if dark else ((252, 252, 250), (20, 20, 30))
    img = np.full((height, width, 3), paper, dtype=np.uint8)
    rng = np.random.default_rng(seed)
    letters = list("abcdefghijklmnopqrstuvwxyz{}();=")
    for y in range(24, height, 24):
        x = 12 + int(rng.integers(0, 40))
        while x < width - 120:
            word = "".join(rng.choice(letters, int(rng.integers(2, 9))))
            cv2.putText(img, word, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, ink, 1, cv2.LINE_AA)
            x += len(word) * 10 + 12
    return img


def spreadsheet(width: int, height: int, *, seed: int = 0) -> np.ndarray:
    """A table wall to wall: grey grid lines, a number in every cell (the decoder's hardest page)."""
    img = np.full((height, width, 3), 255, dtype=np.uint8)
    rng = np.random.default_rng(seed)
    for y in range(0, height, 21):
        img[y] = (208, 210, 214)
        for x in range(0, width, 84):
            img[:, x] = (208, 210, 214)
            text = f"{rng.integers(0, 10**6):,}.{rng.integers(0, 100):02d}"
            cv2.putText(img, text, (x + 4, y + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (32, 33, 36), 1, cv2.LINE_AA)
    return img


def marked(bg: np.ndarray, mark: int = MARK) -> np.ndarray:
    h, w = bg.shape[:2]
    return composite(render_overlay(mark, w, h), bg)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])


def resize(img: np.ndarray, factor: float, method: int = cv2.INTER_AREA) -> np.ndarray:
    return np.asarray(cv2.resize(img, None, fx=factor, fy=factor, interpolation=method))
