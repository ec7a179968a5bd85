"""How sure a hit is: the detector's score, raised by a context word and lowered by a negative one.

A context word counts within the detector's window around the hit or, for a cell of a table, in
the header cell of its column (`rules.tables`); in a table the window stops at the row's ends, so
the header of a neighbouring column or a cell of another row does not name the hit.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from rules.detector import Detector

#: Negative words count only just before the hit ("order 4111...", "订单号 138..."), where they label it.
NEGATIVE_CHARS = 24
#: Words around a column's name that do not change what it names: "UID No.", "No. NAS", "CHI number".
_NUMBER_WORDS = ("number", "num", "nr", "no", "n°")
_CJK_SUFFIXES = ("号码", "编号", "号")
_SEPARATORS = re.compile(r"[\s_.#:/()\-]+")


class Judgement(NamedTuple):
    """How sure a hit is, and why: `basis` names what counted ("check digit", "context word",
    "column header", "column values", "printed form", "negative word"), never the matched text."""

    score: float
    basis: tuple[str, ...]


def confidence(detector: Detector, text: str, start: int, end: int, header: str | None = None, *,
               named: bool = False) -> Judgement | None:
    """Base score, raised by a context word near the hit (or in its column's `header`) and lowered
    by a negative word right before it (or in the header). `header` is None outside tables;
    `named`: the hit's column is named by its values (`rules.columns`), which counts as a word."""
    if detector.standalone and _glued(text, start, end):
        return None
    score, basis = detector.score, ["check digit"] if detector.checksum else []
    if detector.context or detector.negative:
        before, after = _window(text, start, end, detector.window, header is not None)
        named_by = _named_by(detector, before, after, header, named)
        if detector.needs_context and named_by is None:
            return None
        if named_by is not None:
            score += detector.boost
            basis.append(named_by)
        if detector.printed and _printed(detector.printed, text, start, end):
            score += detector.boost / 2
            basis.append("printed form")
        near = before[-NEGATIVE_CHARS:]
        if any(_labels(near, w) for w in detector.negative) or (
                header and any(_has_word(header, w) for w in detector.negative)):
            score -= detector.boost
            basis.append("negative word")
    return Judgement(round(min(0.99, max(0.05, score)), 3), tuple(basis))


def _named_by(detector: Detector, before: str, after: str, header: str | None, named: bool) -> str | None:
    """What names the hit as its type, if anything: a word near it, its column's header, or its
    column's values."""
    if any(_has_word(before, w) or _has_word(after, w) for w in detector.context):
        return "context word"
    if header and names_column(header, detector):
        return "column header"
    return "column values" if named else None


def names_column(header: str, detector: Detector) -> bool:
    """Whether a (lower-cased) header cell names the detector's type: a context word anywhere in
    it, or one of its header-only `column_names` as the whole cell ("RTN", "UID No.", but not
    "user uid": a short abbreviation names the column only when it is the column's name)."""
    if any(_has_word(header, w) for w in detector.context):
        return True
    return bool(detector.column_names) and column_label(header) in detector.column_names


def column_label(header: str) -> str:
    """A header cell reduced to the name it gives: separators become single spaces, and one
    "No" / "Number" word before or after it, or a "号" / "号码" / "编号" suffix, is dropped."""
    words = _SEPARATORS.sub(" ", header).split()
    if len(words) > 1 and words[-1] in _NUMBER_WORDS:
        words.pop()
    elif len(words) > 1 and words[0] in _NUMBER_WORDS:
        words.pop(0)
    label = " ".join(words)
    for suffix in _CJK_SUFFIXES:
        if label.endswith(suffix) and len(label) > len(suffix):
            return label[: -len(suffix)].rstrip()
    return label


def _window(text: str, start: int, end: int, window: int, in_row: bool) -> tuple[str, str]:
    """Lower-cased text before and after the hit; within the row only for a table cell."""
    low, high = max(0, start - window), end + window // 2
    if in_row:
        low = text.rfind("\n", low, start) + 1 or low
        newline = text.find("\n", end, high)
        high = high if newline < 0 else newline
    return text[low:start].lower(), text[end:high].lower()


def _glued(text: str, start: int, end: int) -> bool:
    """Part of a longer identifier such as ``SKU-13812345678`` or ``id_4111111111111111``."""
    before = text[max(0, start - 2) : start]
    after = text[end : end + 2]
    return (before[-1:] in ("_", "/") or (len(before) == 2 and before[1] == "-" and before[0].isalpha())
            or after[:1] in ("_",) or (len(after) == 2 and after[0] == "-" and after[1].isalnum()))


def labelled_negative(detector: Detector, before: str) -> bool:
    """Whether a negative word at the end of `before` ("order numbers") labels what follows it."""
    near = before[-NEGATIVE_CHARS:].lower()
    return any(_labels(near, w) for w in detector.negative)


def _labels(near: str, word: str) -> bool:
    """Whether a negative word just before a hit labels it: no other digits stand between them
    ("order 021000021", not the cell "SKU-29775991569" before a routing number in a table row)."""
    at = len(near)
    while (at := near.rfind(word, 0, at)) >= 0:
        if _has_word(near[max(0, at - 1) : at + len(word) + 1], word):
            return not any(ch.isdigit() for ch in near[at + len(word) :])
    return False


def _printed(form: str, text: str, start: int, end: int) -> bool:
    """Whether the hit is written in its issuer's printed grouping and stands alone: not followed
    or preceded by another group of digits with a separator ("... 0044 0532 0130 ..." in an IBAN)."""
    if not _form(form).fullmatch(text, start, end):
        return False
    after, before = text[end : end + 2], text[max(0, start - 2) : start]
    return not (after[:1] in " -" and after[1:].isdigit()) and not (before[1:] in (" ", "-") and before[:1].isdigit())


@functools.cache
def _form(form: str) -> re.Pattern[str]:
    return re.compile(form)


def _latin(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _has_word(text: str, word: str) -> bool:
    """Whether a context or negative word occurs in `text` (lower-cased). A Latin word must start a
    word, and one of three characters or fewer must be whole: "ach" is not in "each" or "achieve",
    "tel" not in "hotel", but "card" is in "cards" and "expir" in "expires". Other scripts (Chinese
    words) match anywhere, as running text has no spaces."""
    if not word.isascii():
        return word in text
    short = len(word) <= 3
    at = text.find(word)
    while at >= 0:
        end = at + len(word)
        if (at == 0 or not _latin(text[at - 1])) and (not short or end == len(text) or not _latin(text[end])):
            return True
        at = text.find(word, at + 1)
    return False
