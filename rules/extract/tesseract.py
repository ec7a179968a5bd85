"""The OCR backend: the `tesseract` command (Debian's tesseract-ocr), in a worker process per
image, poppler's `pdftoppm` to draw scanned PDF pages for it and poppler's `pdfimages` to take
the pictures out of the other pages.

This is the one module under `rules/` that runs programs: the shells (the rules CLI, the agent)
hand its ports to extraction (`with_ocr(limits)`), and the library itself stays pure.

Nothing of an image is decoded in the caller, which may be the agent's service, running as root.
A worker process (this file run as a script: `main`) loads its modules, becomes `nobody` when it
was started as root, and only then reads, decodes and enlarges the image and runs tesseract. It
runs in a session of its own that is killed whole at the time cap (tesseract included), with its
address space capped at `WORKER_MEMORY`, on one thread (`OMP_THREAD_LIMIT=1`): a hostile image can
crash or exhaust only the worker, and an agent never takes every core of an office PC to read
one screenshot.

Screen text is small (11-16 px) and tesseract reads best at about twice that: a single-frame
image of up to `ENLARGE_MAX_PIXELS` is enlarged 2x in grey before OCR (`bench/rules_ocr.py`:
values read back 0.83 -> 0.92 for a quarter more time). Afterwards, inside runs of digits, the
letters OCR mistakes for digits are made digits (`4242 4O42` -> `4242 4042`), and the spaces it
puts between Chinese characters are removed.
"""

from __future__ import annotations

import functools
import os
import pwd
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from io import BytesIO
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rules.extract.budget import Limits

# Tesseract puts a space between Chinese characters when a Latin model comes first; Chinese
# has none, and a keyword such as 身份证号码 must match as written.
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(f"(?<=[{_CJK}])[ \\t]+(?=[{_CJK}])")

ENLARGE_MAX_PIXELS = 4_000_000
WORKER_MEMORY = 2 << 30  # address space of the worker and its tesseract
PAGE_DPI = 200
_PAGE_BREAK = "\0"
# In a run of 4+ digits and the letters OCR takes digits for, with 3+ digits (a group of a card
# number): O/o/D/Q next to a digit is 0, l/I/| between digits is 1. A run with any other letter
# is left alone: an IBAN's bank code ("GB52OQSX...") holds real O and Q beside digits.
_RUN = re.compile(r"(?<![0-9A-Za-z|])[0-9OoDQlI|]{4,}(?![0-9A-Za-z|])")
_ZERO = re.compile(r"(?<=\d)[OoDQ]|[OoDQ](?=\d)")
_ONE = re.compile(r"(?<=\d)[lI|](?=\d)")
# Enlarged, a resident ID's check letter X is read "xX" now and then.
_DOUBLED_X = re.compile(r"(?<=\d{17})xX(?![0-9A-Za-z])")

#: Languages read when installed (Debian: tesseract-ocr-eng, -chi-sim, -chi-tra), in this order.
LANGUAGES = ("eng", "chi_sim", "chi_tra")


@functools.cache
def tesseract_ocr() -> Callable[[bytes, float], str] | None:
    """The OCR port backed by tesseract, or None when it or all of `LANGUAGES` are missing."""
    languages = _languages()
    return None if languages is None else functools.partial(read_image, languages)


@functools.cache
def tesseract_pages() -> Callable[[bytes, tuple[int, ...], float], list[str]] | None:
    """The port reading scanned PDF pages: poppler's `pdftoppm` draws each page at
    `PAGE_DPI`, tesseract reads it; None when either is missing."""
    languages = _languages()
    if languages is None or shutil.which("pdftoppm") is None:
        return None
    return functools.partial(read_pages, languages)


@functools.cache
def tesseract_pictures() -> Callable[[bytes, tuple[tuple[int, int], ...], float], list[str]] | None:
    """The port reading pictures on PDF pages: poppler's `pdfimages` takes each out of its page,
    tesseract reads it as it reads an image file; None when either is missing."""
    languages = _languages()
    if languages is None or shutil.which("pdfimages") is None:
        return None
    return functools.partial(read_pictures, languages)


def with_ocr(limits: Limits) -> Limits:
    """`limits` with tesseract's ports for images, scanned PDF pages and pictures on PDF pages,
    where installed."""
    import dataclasses

    return dataclasses.replace(limits, ocr=tesseract_ocr(), ocr_pages=tesseract_pages(),
                               ocr_pictures=tesseract_pictures())


def _languages() -> str | None:
    exe = shutil.which("tesseract")
    languages = installed_languages(exe) if exe is not None else []
    return "+".join(languages) if languages else None


def installed_languages(exe: str) -> list[str]:
    try:
        listed = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    have = {line.strip() for line in listed.stdout.splitlines()[1:]}
    return [language for language in LANGUAGES if language in have]


def read_image(languages: str, data: bytes, seconds: float) -> str:
    """The text tesseract reads in `data` (any format Leptonica decodes), within `seconds`, read
    by a worker process."""
    return _worker([languages], data, seconds)


def read_pages(languages: str, pdf: bytes, pages: tuple[int, ...], seconds: float) -> list[str]:
    """The text tesseract reads on each of `pages` (from 1) of `pdf`, drawn by pdftoppm, within
    `seconds` for all of them, read by a worker process."""
    if not pages:
        return []
    return _worker([languages, "pages", ",".join(map(str, pages))], pdf, seconds).split(_PAGE_BREAK)


def read_pictures(languages: str, pdf: bytes, pictures: tuple[tuple[int, int], ...], seconds: float) -> list[str]:
    """The text tesseract reads in each picture (page from 1, object number) of `pdf`, taken
    out by pdfimages, within `seconds` for all of them, read by a worker process."""
    if not pictures:
        return []
    wanted = ",".join(f"{page}:{number}" for page, number in pictures)
    return _worker([languages, "pictures", wanted], pdf, seconds).split(_PAGE_BREAK)


def _worker(arguments: list[str], data: bytes, seconds: float) -> str:
    # The worker runs this file as a script: no package to import first (60 ms less per image).
    from rules.extract.budget import Unscannable

    command = [sys.executable, "-I", os.path.abspath(__file__), *arguments]
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        worker = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  cwd="/", env=env, start_new_session=True)
    except OSError as exc:
        raise Unscannable(f"OCR could not run ({exc.strerror or exc})") from None
    with worker:
        try:
            out, err = worker.communicate(data, timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)  # the worker and its tesseract
            worker.communicate()
            raise Unscannable(f"OCR gave no answer within {seconds:.3g} s") from None
    if worker.returncode != 0:
        said = err.decode("utf-8", errors="replace").strip().splitlines()
        raise Unscannable(f"OCR failed: {said[-1][:200] if said else f'exit status {worker.returncode}'}")
    return out.decode("utf-8", errors="replace")


def drop_privileges() -> None:
    """Become `nobody` when started as root (by the agent's service), once the interpreter and
    the modules are loaded (they may sit where only root can read) and before the image is read."""
    if os.geteuid() != 0:
        return
    try:
        nobody = pwd.getpwnam("nobody")
        uid, gid = nobody.pw_uid, nobody.pw_gid
    except KeyError:
        uid = gid = 65534
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def main() -> int:
    """The worker: an image on stdin (or a PDF, with `pages N,N...` or `pictures PAGE:OBJECT,...`),
    the text OCR reads in it (in each page or picture, separated by NUL) on stdout."""
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))
    exe = shutil.which("tesseract")
    mode = sys.argv[2] if len(sys.argv) == 4 else ""
    helper = {"": "", "pages": shutil.which("pdftoppm"), "pictures": shutil.which("pdfimages")}.get(mode)
    if exe is None or not (helper or helper == "") or len(sys.argv) not in (2, 4):
        sys.stderr.write("usage: python rules/extract/tesseract.py LANGUAGES [pages N,N... | pictures PAGE:OBJECT,...] "
                         "(tesseract, and pdftoppm for pages or pdfimages for pictures, on PATH)\n")
        return 2
    _load_image_modules()  # while it may still read where the interpreter lives
    drop_privileges()
    data = sys.stdin.buffer.read()
    languages = sys.argv[1]
    try:
        if mode == "pages":
            pages = [int(n) for n in sys.argv[3].split(",")]
            text = _PAGE_BREAK.join(_tesseract(exe, languages, _drawn(helper, data, n)) for n in pages)
        elif mode == "pictures":
            wanted = [tuple(map(int, pair.split(":"))) for pair in sys.argv[3].split(",")]
            pictures = _taken_out(helper, data, wanted)
            text = _PAGE_BREAK.join(_tesseract(exe, languages, enlarged(pictures[w])) if w in pictures else ""
                                    for w in wanted)
        else:
            text = _tesseract(exe, languages, enlarged(data))
    except (RuntimeError, ValueError, OSError) as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    sys.stdout.buffer.write(text.encode())
    return 0


def _tesseract(exe: str, languages: str, image: bytes) -> str:
    done = subprocess.run([exe, "stdin", "stdout", "-l", languages, "--psm", "3"], input=image,
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(_last_line(done.stderr) or f"tesseract: exit status {done.returncode}")
    return corrected(done.stdout.decode("utf-8", errors="replace").replace(_PAGE_BREAK, ""))


def _drawn(pdftoppm: str, pdf: bytes, page: int) -> bytes:
    """Page `page` of `pdf` as a grey PNG at `PAGE_DPI` (text of 10 pt is then about 28 px high)."""
    done = subprocess.run([pdftoppm, "-r", str(PAGE_DPI), "-gray", "-png", "-f", str(page), "-l", str(page),
                           "-singlefile", "-"], input=pdf, capture_output=True, check=False)
    if done.returncode != 0 or not done.stdout:
        raise RuntimeError(f"page {page}: {_last_line(done.stderr) or 'pdftoppm drew nothing'}")
    return done.stdout


def _taken_out(pdfimages: str, pdf: bytes, wanted: list[tuple[int, ...]]) -> dict[tuple[int, ...], bytes]:
    """The pictures `wanted` ((page, object number) pairs) of `pdf` as PNG files' bytes, taken
    out page by page by pdfimages into a private temporary folder; a picture pdfimages cannot
    write is left out (its text is then empty)."""
    found: dict[tuple[int, ...], bytes] = {}
    with tempfile.TemporaryDirectory(prefix="leakguard-ocr-") as folder:
        for page in sorted({p for p, _ in wanted}):
            numbers = {n for p, n in wanted if p == page}
            listed = subprocess.run([pdfimages, "-list", "-f", str(page), "-l", str(page), "-"], input=pdf,
                                    capture_output=True, check=False)
            if listed.returncode != 0:
                raise RuntimeError(f"page {page}: {_last_line(listed.stderr) or 'pdfimages could not list it'}")
            # "page num type width height color comp bpc enc interp object-ID generation ...", two header lines
            rows = [line.split() for line in listed.stdout.decode("ascii", errors="replace").splitlines()[2:]]
            chosen = {int(r[1]): int(r[10]) for r in rows if len(r) > 10 and r[2] == "image" and r[10].isdigit()
                      and int(r[10]) in numbers}
            if not chosen:
                continue
            prefix = os.path.join(folder, str(page))
            done = subprocess.run([pdfimages, "-png", "-f", str(page), "-l", str(page), "-", prefix], input=pdf,
                                  capture_output=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"page {page}: {_last_line(done.stderr) or 'pdfimages could not take its pictures out'}")
            for num, number in chosen.items():
                path = f"{prefix}-{num:03d}.png"
                if (page, number) not in found and os.path.exists(path):
                    with open(path, "rb") as png:
                        found[(page, number)] = png.read()
    return found


def _last_line(output: bytes) -> str:
    lines = output.decode("utf-8", errors="replace").strip().splitlines()
    return lines[-1][:200] if lines else ""


def _load_image_modules() -> None:
    """Every module reading and enlarging an image needs (Pillow loads its format plugins and
    their helpers on first use), by enlarging a tiny image of each format once."""
    from PIL import Image

    from rules.extract.images import open_heif

    Image.init()
    open_heif()
    for fmt, mode in (("PNG", "LA"), ("JPEG", "RGB"), ("GIF", "P"), ("BMP", "RGB"), ("TIFF", "RGB"), ("WEBP", "RGBA"),
                      ("HEIF", "RGB"), ("AVIF", "RGB")):
        tiny = BytesIO()
        Image.new(mode, (2, 2)).save(tiny, fmt)
        enlarged(tiny.getvalue())


def enlarged(data: bytes) -> bytes:
    """The image twice as large, in grey on white, as PNG; unchanged when it has several frames
    (every page of a TIFF is read), is larger than `ENLARGE_MAX_PIXELS` or cannot be decoded here
    (tesseract then says what is wrong with it). HEIF and AVIF images, which tesseract cannot
    read, are made PNG whatever their size (a phone's photo of a page: 12 M pixels, kept 1x)."""
    from PIL import Image

    from rules.extract.images import DECODED_FOR_OCR, image_kind

    convert = image_kind(data) in DECODED_FOR_OCR
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(BytesIO(data)) as img:
                large = img.width * img.height > ENLARGE_MAX_PIXELS
                if (getattr(img, "n_frames", 1) > 1 or large) and not convert:
                    return data
                page = Image.new("RGBA", img.size, (255, 255, 255, 255))
                page.alpha_composite(img.convert("RGBA"))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return data
    scale = 1 if large else 2
    grey = page.convert("L").resize((page.width * scale, page.height * scale), Image.Resampling.LANCZOS)
    out = BytesIO()
    grey.save(out, "PNG", compress_level=1)
    return out.getvalue()


def corrected(text: str) -> str:
    """OCR's usual confusions undone where they cannot be words: letters for digits inside runs
    of digits, a doubled check letter, spaces between Chinese characters."""
    def digits(run: re.Match[str]) -> str:
        word = run.group()
        if sum(c.isdigit() for c in word) < 3:
            return word
        return _ONE.sub("1", _ZERO.sub("0", word))

    return _CJK_GAP.sub("", _DOUBLED_X.sub("X", _RUN.sub(digits, text)))


if __name__ == "__main__":
    sys.exit(main())
