"""Text normalisation shared by fingerprints and exact data match.

Tokens are Latin/digit words and single CJK characters (Chinese has no spaces), after NFKC and
case folding, so that reformatting, a different file type or full-width characters do not matter.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]|[^\W_]+")
_SEPARATORS = re.compile(r"[\s\-_./()]+")


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def tokens(text: str) -> Iterator[tuple[str, int, int]]:
    """(token, start, end) over the normalised text; offsets refer to `text` when NFKC keeps lengths."""
    for match in _TOKEN.finditer(normalise(text)):
        yield match.group(0), match.start(), match.end()


def split_tokens(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Tokens and their (start, end) offsets as two lists (faster than `tokens` for long texts)."""
    folded = normalise(text)
    return _TOKEN.findall(folded), [m.span() for m in _TOKEN.finditer(folded)]


def compact_value(value: str) -> str:
    """A cell value as it is compared: normalised, separators removed (``138-1234-5678`` = ``13812345678``)."""
    return _SEPARATORS.sub("", normalise(value.strip()))


def is_cjk(token: str) -> bool:
    return len(token) == 1 and not token.isascii() and not token.isalnum() or (
        len(token) == 1 and "\u3400" <= token <= "\ud7af"
    )
