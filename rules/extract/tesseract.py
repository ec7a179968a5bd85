"""The OCR backend: the `tesseract` command (Debian's tesseract-ocr), one process per image.

This is the one module under `rules/` that runs a program: the shells (the rules CLI, the agent)
hand it to extraction as `Limits(ocr=tesseract_ocr())`, and the library itself stays pure. A
process per image keeps a crash or a runaway decode of a hostile image out of the caller, and it
is killed at the time cap. It runs on one thread (`OMP_THREAD_LIMIT=1`): an agent must not take
every core of an office PC to read one screenshot.

Screen text is small (11-16 px) and tesseract reads best at about twice that: a single-frame
image of up to `ENLARGE_MAX_PIXELS` is enlarged 2x in grey before OCR (`bench/rules_ocr.py`:
values read back 0.83 -> 0.92 for a quarter more time). Afterwards, inside long runs of digits
and capitals, the letters OCR mistakes for digits next to digits are made digits (`GB9ORECA` ->
`GB90RECA`), and the spaces it puts between Chinese characters are removed; both keep the other
characters where they are.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Callable
from io import BytesIO

from rules.extract.budget import Unscannable

# Tesseract puts a space between Chinese characters when a Latin model comes first; Chinese
# has none, and a keyword such as 身份证号码 must match as written.
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(f"(?<=[{_CJK}])[ \\t]+(?=[{_CJK}])")

ENLARGE_MAX_PIXELS = 4_000_000
# In a run of 4+ letters and digits holding 3+ digits (a group of a card number, an IBAN): O/o/D/Q
# next to a digit is 0, l/I/| between digits is 1. "CO2", "H2O2" and words are left alone.
_RUN = re.compile(r"[0-9A-Za-z|]{4,}")
_ZERO = re.compile(r"(?<=\d)[OoDQ]|[OoDQ](?=\d)")
_ONE = re.compile(r"(?<=\d)[lI|](?=\d)")

#: Languages read when installed (Debian: tesseract-ocr-eng, -chi-sim, -chi-tra), in this order.
LANGUAGES = ("eng", "chi_sim", "chi_tra")


@functools.cache
def tesseract_ocr() -> Callable[[bytes, float], str] | None:
    """The OCR port backed by tesseract, or None when it or all of `LANGUAGES` are missing."""
    exe = shutil.which("tesseract")
    if exe is None:
        return None
    languages = installed_languages(exe)
    if not languages:
        return None
    return functools.partial(read_image, exe, "+".join(languages))


def installed_languages(exe: str) -> list[str]:
    try:
        listed = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    have = {line.strip() for line in listed.stdout.splitlines()[1:]}
    return [language for language in LANGUAGES if language in have]


def read_image(exe: str, languages: str, data: bytes, seconds: float) -> str:
    """The text tesseract reads in `data` (any format Leptonica decodes), within `seconds`."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        done = subprocess.run([exe, "stdin", "stdout", "-l", languages, "--psm", "3"], input=enlarged(data),
                              capture_output=True, timeout=seconds, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise Unscannable(f"OCR gave no answer within {seconds:.3g} s") from None
    except OSError as exc:
        raise Unscannable(f"OCR could not run ({exc.strerror or exc})") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise Unscannable(f"OCR failed: {said[-1][:200] if said else f'exit status {done.returncode}'}")
    return corrected(done.stdout.decode("utf-8", errors="replace"))


def enlarged(data: bytes) -> bytes:
    """The image twice as large, in grey on white, as PNG; unchanged when it has several frames
    (every page of a TIFF is read), is larger than `ENLARGE_MAX_PIXELS` or cannot be decoded here
    (tesseract then says what is wrong with it)."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(BytesIO(data)) as img:
                if getattr(img, "n_frames", 1) > 1 or img.width * img.height > ENLARGE_MAX_PIXELS:
                    return data
                page = Image.new("RGBA", img.size, (255, 255, 255, 255))
                page.alpha_composite(img.convert("RGBA"))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return data
    grey = page.convert("L").resize((page.width * 2, page.height * 2), Image.Resampling.LANCZOS)
    out = BytesIO()
    grey.save(out, "PNG", compress_level=1)
    return out.getvalue()


def corrected(text: str) -> str:
    """OCR's usual confusions undone where they cannot be words: letters for digits inside runs
    of digits and capitals, spaces between Chinese characters."""
    def digits(run: re.Match[str]) -> str:
        word = run.group()
        if sum(c.isdigit() for c in word) < 3:
            return word
        return _ONE.sub("1", _ZERO.sub("0", word))

    return _CJK_GAP.sub("", _RUN.sub(digits, text))
