"""The console's only door to the watermark library (issued marks, resolution, decoding)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class WatermarkMissing(RuntimeError):
    """The watermark library (watermark.marks / watermark.decoder) is not available in this build."""


class EvidenceRejected(ValueError):
    """An uploaded image that is not an image, or too large to decode safely."""


def _module(name: str) -> Any:
    import importlib

    try:
        return importlib.import_module(f"watermark.{name}")
    except ImportError as exc:
        raise WatermarkMissing(f"the watermark library (watermark.{name}) is not available in this build") from exc


def slot_seconds() -> int:
    try:
        return int(_module("marks").SLOT_SECONDS)
    except WatermarkMissing:
        return 0


def current_slot(now: float) -> int:
    return int(_module("marks").slot_for(now))


def slot_window(slot: int) -> tuple[float, float]:
    start, end = _module("marks").slot_window(slot)
    return float(start), float(end)


def issue_marks(secret: bytes, device: int, slots: Iterable[int]) -> list[tuple[int, int]]:
    marks = _module("marks")
    return [(slot, int(marks.issue_mark(secret, device, slot))) for slot in slots]


@dataclass(frozen=True)
class Resolution:
    key_id: int
    device: int
    slot: int


def resolve_mark(secrets: list[tuple[int, bytes]], mark: int) -> Resolution | None:
    found = _module("marks").resolve_mark(secrets, mark)
    if found is None:
        return None
    return Resolution(key_id=int(found.key_id), device=int(found.device), slot=int(found.slot))


@dataclass(frozen=True)
class Decoded:
    found: bool
    detections: tuple[tuple[int, float], ...]  # (mark, confidence), best first
    decoder_version: str
    best_miss: float = 0.0  # the decoder's confidence when it found nothing
    thumbnail: bytes = b""  # a PNG of the image, at most THUMBNAIL pixels on its longer side


def decode_evidence(data: bytes, *, max_pixels: int) -> Decoded:
    """Decode every rendering of the image (over white and black when it has transparency)."""
    imageio, decoder, errors = _module("imageio"), _module("decoder"), _module("errors")
    try:
        layers = imageio.load_layers(data, max_pixels=max_pixels)
    except errors.DecodeError as exc:
        raise EvidenceRejected(str(exc)) from exc
    best: dict[int, float] = {}
    miss = 0.0
    for rgb in layers:
        result = decoder.decode_image(rgb)
        miss = max(miss, float(getattr(result, "confidence", 0.0)))
        for detection in result.marks:
            best[int(detection.mark)] = max(best.get(int(detection.mark), 0.0), float(detection.confidence))
    detections = tuple(sorted(best.items(), key=lambda d: -d[1]))
    return Decoded(found=bool(detections), detections=detections, decoder_version=decoder_version(),
                   best_miss=0.0 if detections else miss, thumbnail=_thumbnail(layers[0]) if layers else b"")


THUMBNAIL = 640


def _thumbnail(rgb: Any) -> bytes:
    """A PNG of a decoded image, shrunk to fit THUMBNAIL pixels (for the case report)."""
    import io

    from PIL import Image

    image = Image.fromarray(rgb)
    image.thumbnail((THUMBNAIL, THUMBNAIL))
    sink = io.BytesIO()
    image.save(sink, "PNG", optimize=True)
    return sink.getvalue()


def media_type(data: bytes) -> str:
    """The evidence's image type by its magic bytes (what it is served as)."""
    for magic, kind in ((b"\x89PNG", "image/png"), (b"\xff\xd8", "image/jpeg"), (b"GIF8", "image/gif"),
                        (b"BM", "image/bmp"), (b"II*\x00", "image/tiff"), (b"MM\x00*", "image/tiff")):
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def decoder_version() -> str:
    decoder = _module("decoder")
    version = getattr(decoder, "DECODER_VERSION", None)
    if version is None:
        from leakguard import __version__

        version = f"leakguard-{__version__}"
    return str(version)
