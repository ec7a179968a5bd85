"""The two PyPI peers, embedding the same 64 bits into the same content.

* blind-watermark 0.4.4 (DWT-DCT-SVD on YUV blocks), ``mode='common'``, password 1/1.
* invisible-watermark 0.2.0, method ``dwtDct`` (its default).

Both are installed with ``pip install --no-deps`` (they pin opencv-python, which clashes with
opencv-python-headless, and invisible-watermark pins torch for a method not used here); the
torch import at invisible-watermark's package import is satisfied by an empty stand-in module.
Neither has a way to say "no watermark here": it always returns 64 bits.
"""

from __future__ import annotations

import contextlib
import io
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

BITS = 64


@dataclass(frozen=True)
class Peer:
    name: str
    embed: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (rgb, bits) -> rgb
    extract: Callable[[np.ndarray], np.ndarray | None]  # rgb -> bits or None (refused)


def load_peers() -> list[Peer]:
    peers = []
    for loader in (_blind_watermark, _invisible_watermark):
        try:
            peers.append(loader())
        except ImportError as exc:
            print(f"peer not installed, skipped: {exc}", file=sys.stderr)
    return peers


def _blind_watermark() -> Peer:
    import multiprocessing

    original = multiprocessing.set_start_method
    multiprocessing.set_start_method = lambda *a, **k: None  # type: ignore[assignment]  # it forces 'fork' at import
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            from blind_watermark import WaterMark
    finally:
        multiprocessing.set_start_method = original  # type: ignore[assignment]

    def embed(rgb: np.ndarray, bits: np.ndarray) -> np.ndarray:
        with contextlib.redirect_stdout(io.StringIO()):
            wm = WaterMark(password_img=1, password_wm=1)
            wm.read_img(img=np.ascontiguousarray(rgb[..., ::-1]))
            wm.read_wm(bits.astype(bool).tolist(), mode="bit")
            out = wm.embed()
        return np.clip(np.rint(out[..., ::-1]), 0, 255).astype(np.uint8)

    def extract(rgb: np.ndarray) -> np.ndarray | None:
        bgr = np.ascontiguousarray(_rgb(rgb)[..., ::-1])
        with contextlib.redirect_stdout(io.StringIO()):
            wm = WaterMark(password_img=1, password_wm=1)
            got = wm.extract(embed_img=bgr, wm_shape=BITS, mode="bit")
        return (np.asarray(got) > 0.5).astype(np.uint8)

    return Peer("blind-watermark 0.4.4", embed, extract)


def _invisible_watermark() -> Peer:
    sys.modules.setdefault("torch", types.ModuleType("torch"))  # only its rivaGan method needs torch
    from imwatermark import WatermarkDecoder, WatermarkEncoder

    def embed(rgb: np.ndarray, bits: np.ndarray) -> np.ndarray:
        encoder = WatermarkEncoder()
        encoder.set_watermark("bits", bits.astype(int).tolist())
        out = encoder.encode(np.ascontiguousarray(rgb[..., ::-1]), "dwtDct")
        return np.asarray(out)[..., ::-1].copy()

    def extract(rgb: np.ndarray) -> np.ndarray | None:
        img = _rgb(rgb)
        if img.shape[0] * img.shape[1] < 256 * 256:
            return None
        decoder = WatermarkDecoder("bits", BITS)
        return np.asarray(decoder.decode(np.ascontiguousarray(img[..., ::-1]), "dwtDct"), dtype=np.uint8)

    return Peer("invisible-watermark 0.2.0 dwtDct", embed, extract)


def _rgb(img: np.ndarray) -> np.ndarray:
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img
