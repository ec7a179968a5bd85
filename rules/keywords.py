"""Keyword dictionaries and project code-names, matched with Aho-Corasick.

Chinese has no spaces between words, so CJK keywords match anywhere; a keyword that starts or
ends with a Latin letter or digit must not touch another one (``cat`` does not hit ``concat``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import ahocorasick


@dataclass(frozen=True, slots=True)
class KeywordList:
    """A named dictionary: a hit reports `id` as its detector."""

    id: str
    words: tuple[str, ...]
    case_sensitive: bool = False
    score: float = 0.7


def _is_word_char(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == "_")


def _fold(text: str) -> str:
    """Lower-case without changing any offset (a few characters lower to two code points)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(ch.lower()[0] for ch in text)


class KeywordMatcher:
    """One automaton for all lists; immutable once built."""

    def __init__(self, lists: Sequence[KeywordList]) -> None:
        self._lists = tuple(lists)
        self._exact = self._build(lst for lst in self._lists if lst.case_sensitive)
        self._folded = self._build(lst for lst in self._lists if not lst.case_sensitive)

    def _build(self, lists: Iterable[KeywordList]) -> ahocorasick.Automaton | None:
        automaton = ahocorasick.Automaton()
        for lst in lists:
            for word in lst.words:
                key = word if lst.case_sensitive else _fold(word)
                if key:
                    entries = automaton.get(key, ())
                    automaton.add_word(key, (*entries, (self._lists.index(lst), len(key))))
        if len(automaton) == 0:
            return None
        automaton.make_automaton()
        return automaton

    @property
    def lists(self) -> tuple[KeywordList, ...]:
        return self._lists

    def find(self, text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[KeywordList, int, int]]:
        """Yield (list, start, end) for each keyword in ``text[start:end]`` (offsets in `text`)."""
        window = text[start:end]
        for automaton, haystack in ((self._exact, window), (self._folded, None)):
            if automaton is None:
                continue
            for last, entries in automaton.iter(haystack if haystack is not None else _fold(window)):
                for list_index, size in entries:
                    hit_start, hit_end = start + last - size + 1, start + last + 1
                    if self._bounded(text, hit_start, hit_end):
                        yield self._lists[list_index], hit_start, hit_end

    @staticmethod
    def _bounded(text: str, start: int, end: int) -> bool:
        if _is_word_char(text[start]) and start > 0 and _is_word_char(text[start - 1]):
            return False
        return not (_is_word_char(text[end - 1]) and end < len(text) and _is_word_char(text[end]))
