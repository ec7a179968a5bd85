"""The OCR backend: the `tesseract` command (Debian's tesseract-ocr), one process per image.

This is the one module under `rules/` that runs a program: the shells (the rules CLI, the agent)
hand it to extraction as `Limits(ocr=tesseract_ocr())`, and the library itself stays pure. A
process per image keeps a crash or a runaway decode of a hostile image out of the caller, and it
is killed at the time cap. It runs on one thread (`OMP_THREAD_LIMIT=1`): an agent must not take
every core of an office PC to read one screenshot.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Callable

from rules.extract.budget import Unscannable

# Tesseract puts a space between Chinese characters when a Latin model comes first; Chinese
# has none, and a keyword such as 身份证号码 must match as written.
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(f"(?<=[{_CJK}])[ \\t]+(?=[{_CJK}])")

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
        done = subprocess.run([exe, "stdin", "stdout", "-l", languages, "--psm", "3"], input=data,
                              capture_output=True, timeout=seconds, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise Unscannable(f"OCR gave no answer within {seconds:.3g} s") from None
    except OSError as exc:
        raise Unscannable(f"OCR could not run ({exc.strerror or exc})") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise Unscannable(f"OCR failed: {said[-1][:200] if said else f'exit status {done.returncode}'}")
    return _CJK_GAP.sub("", done.stdout.decode("utf-8", errors="replace"))
