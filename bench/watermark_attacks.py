"""The leak attacks of the watermark benchmark: what happens to a screenshot on its way out.

Each attack takes an RGB screenshot and a seeded generator and returns the leaked image.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Attack = Callable[[np.ndarray, np.random.Generator], np.ndarray]
INTERPOLATIONS = (cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_AREA, cv2.INTER_LANCZOS4)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """JPEG with 4:2:0 chroma subsampling (libjpeg's default), then decoded again."""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420]
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(img[..., ::-1]), params)
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1].copy()


def rescale(img: np.ndarray, factor: float, method: int) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.resize(img, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=method)


def crop_tenth(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    aspect = rng.uniform(0.6, 2.4)
    cw = min(w, int(np.sqrt(h * w / 10 * aspect)))
    ch = min(h, int(h * w / 10 / cw))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return img[y : y + ch, x : x + cw]


def scale_down(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rescale(img, rng.uniform(0.4, 0.8), INTERPOLATIONS[int(rng.integers(len(INTERPOLATIONS)))])


def scale_up(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    factor = rng.uniform(1.2, 2.0) if img.shape[1] <= 2560 else rng.uniform(1.05, 1.3)
    return rescale(img, factor, INTERPOLATIONS[int(rng.integers(len(INTERPOLATIONS)))])


def jpeg_40(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return jpeg(img, 40)


def chat_chain(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What chat apps do: long side down to 1280 px, JPEG 75 (4:2:0)."""
    h, w = img.shape[:2]
    factor = 1280 / max(h, w)
    small = rescale(img, factor, cv2.INTER_AREA) if factor < 1 else img
    return jpeg(small, 75)


def brightness_contrast(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    gain, offset = rng.uniform(0.7, 1.3), rng.uniform(-30, 30)
    return np.clip(np.rint(img * gain + offset), 0, 255).astype(np.uint8)


def gamma(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    g = rng.uniform(0.6, 1.6)
    return np.clip(np.rint(255.0 * (img / 255.0) ** g), 0, 255).astype(np.uint8)


def saturation(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV).astype(np.float64)
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.0, 1.6), 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)


def greyscale(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def crop_then_chat(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A quarter of the screen, then the chat chain: the most common real leak."""
    h, w = img.shape[:2]
    y, x = int(rng.integers(0, h // 2 + 1)), int(rng.integers(0, w // 2 + 1))
    return chat_chain(img[y : y + h // 2, x : x + w // 2], rng)


def no_attack(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return img


ATTACKS: dict[str, Attack] = {
    "none (PNG)": no_attack,
    "crop 1/10 area": crop_tenth,
    "scale 0.4-0.8": scale_down,
    "scale 1.2-2.0": scale_up,
    "JPEG 40 4:2:0": jpeg_40,
    "chat: 1280px JPEG75": chat_chain,
    "crop 1/4 + chat": crop_then_chat,
    "brightness/contrast": brightness_contrast,
    "gamma 0.6-1.6": gamma,
    "saturation 0-1.6": saturation,
    "greyscale": greyscale,
}


def in_viewer(leak: np.ndarray, screen_overlay: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The leak shown smaller in an image viewer on another marked screen, screenshotted again."""
    h, w = screen_overlay.shape[:2]
    frame = np.full((h, w, 3), (45, 45, 48), dtype=np.uint8)
    frame[:36] = (235, 235, 235)
    fit = min((w - 40) / leak.shape[1], (h - 80) / leak.shape[0]) * rng.uniform(0.75, 0.95)
    inner = rescale(leak, fit, cv2.INTER_AREA)
    y, x = 50 + (h - 80 - inner.shape[0]) // 2, 20 + (w - 40 - inner.shape[1]) // 2
    frame[y : y + inner.shape[0], x : x + inner.shape[1]] = inner
    return composite(screen_overlay, frame)


def composite(rgba: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """8-bit straight-alpha 'over', rounded like a compositor."""
    a = rgba[..., 3:4].astype(np.float64) / 255.0
    return np.clip(np.rint(rgba[..., :3] * a + bg.astype(np.float64) * (1.0 - a)), 0, 255).astype(np.uint8)
