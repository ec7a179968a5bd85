"""Hard limits for extraction, and the running account kept against them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


class Unscannable(Exception):
    """The content cannot be scanned safely or at all; the message says why."""


class EncryptedContent(Exception):
    """The content is password-protected; the message names what is encrypted."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps that keep hostile input (bombs, huge PDFs, deep nesting) from hanging the scanner.

    `clock` returns seconds (the CLI passes `time.monotonic`); without it there is no time cap,
    which keeps the library pure for tests.

    `ocr` reads the text of an image (screenshots, scans): it takes the image's bytes and the
    seconds it may take, and returns the text or raises `Unscannable` saying why. `ocr_pages`
    reads scanned pages of a PDF: the PDF's bytes, the page numbers (from 1) and the seconds,
    returning each page's text. `ocr_pictures` reads pictures drawn on PDF pages that also have
    text (a screenshot in a report): the PDF's bytes, (page, object number) of each picture and
    the seconds, returning each picture's text. The shells pass tesseract's
    (`rules.extract.tesseract.with_ocr`); without them an image is unscannable and a scanned page
    or a PDF's picture has no text.
    """

    max_input_bytes: int = 64 << 20
    #: Disc and disk images (ISO, UDF, VHD, VHDX, VMDK, qcow2, raw disks) and Outlook data files
    #: (.pst) up to this size are read through a memory map by `extract_path` even above
    #: `max_input_bytes`: their files and messages are stored, so they are read one by one, never
    #: whole into memory.
    max_image_bytes: int = 1 << 30
    max_expanded_bytes: int = 256 << 20
    max_ratio: float = 200.0
    #: Expansion always allowed regardless of ratio (small, very compressible logs are normal).
    ratio_floor_bytes: int = 4 << 20
    max_depth: int = 5
    max_entries: int = 10_000
    max_text_chars: int = 64 << 20
    max_pdf_pages: int = 2_000
    seconds: float = 30.0
    clock: Callable[[], float] | None = None
    #: Images larger than this are not decoded (a 50k x 50k PNG is a few MB on disk).
    max_image_pixels: int = 40_000_000
    ocr: Callable[[bytes, float], str] | None = None
    ocr_pages: Callable[[bytes, tuple[int, ...], float], list[str]] | None = None
    ocr_pictures: Callable[[bytes, tuple[tuple[int, int], ...], float], list[str]] | None = None
    #: Scanned pages read by `ocr_pages`, and pictures by `ocr_pictures`, in one PDF at most
    #: (each); the rest make it unscannable.
    max_ocr_pages: int = 20


DEFAULT_LIMITS = Limits()


class Budget:
    """What has been spent so far on one `extract` call."""

    def __init__(self, limits: Limits, input_size: int) -> None:
        self.limits = limits
        self.input_size = max(input_size, 1)
        self.expanded = 0
        self.entries = 0
        self.started = limits.clock() if limits.clock is not None else 0.0

    def check_time(self) -> None:
        clock = self.limits.clock
        if clock is not None and clock() - self.started > self.limits.seconds:
            raise Unscannable(f"time limit of {self.limits.seconds:g} s exceeded")

    def seconds_left(self) -> float:
        """Seconds left of the time cap; all of it when there is no clock to count with."""
        if self.limits.clock is None:
            return self.limits.seconds
        return max(0.0, self.limits.seconds - (self.limits.clock() - self.started))

    def allowance(self) -> int:
        """How many more decompressed bytes may be produced."""
        by_ratio = self._ratio_cap() - self.expanded
        return max(0, min(self.limits.max_expanded_bytes - self.expanded, max(by_ratio, 0)))

    def spend(self, size: int, what: str) -> None:
        self.expanded += size
        if self.expanded > self.limits.max_expanded_bytes:
            raise Unscannable(f"{what}: expands beyond {self.limits.max_expanded_bytes} bytes (decompression bomb?)")
        if self.expanded > self._ratio_cap():
            raise Unscannable(f"{what}: expansion ratio above {self.limits.max_ratio:g} (decompression bomb?)")
        self.check_time()

    def _ratio_cap(self) -> int:
        return max(int(self.limits.max_ratio * self.input_size), self.limits.ratio_floor_bytes)

    def enter(self, what: str) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise Unscannable(f"{what}: more than {self.limits.max_entries} embedded entries")
        self.check_time()
