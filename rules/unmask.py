"""Undo the two cheapest ways to hide a number from pattern detectors, before they run.

- **Full-width digits and letters** (`４１１１ １１１１…`, U+FF10-FF5A): what a Chinese or Japanese
  input method types by default; NFKC makes them ASCII. Mapped one to one, so offsets stay.
- **Invisible characters** inside a value (`4111\\u200b1111…`: zero-width space, joiners, word
  joiner, soft hyphen, BOM, Mongolian vowel separator): removed, and every finding's offsets are
  mapped back to the text as given (`Unmasked.original`).

Full-width punctuation (`，：`, everyday Chinese) is left alone, so context words written with
it still match. The scanner finds these characters in the pass its RE2 sets make over the text
anyway (`MASKED_PATTERN`), and only a text that holds one is unmasked and scanned again.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

_WIDE = {code: code - 0xFEE0 for rng in ((0xFF10, 0xFF1A), (0xFF21, 0xFF3B), (0xFF41, 0xFF5B)) for code in range(*rng)}
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
_ANY = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a" + _INVISIBLE + "]")
#: The same characters for the scanner's RE2 sets, which run over UTF-8 bytes.
MASKED_PATTERN = "[\\x{ff10}-\\x{ff19}\\x{ff21}-\\x{ff3a}\\x{ff41}-\\x{ff5a}\\x{200b}-\\x{200d}\\x{2060}\\x{feff}\\x{ad}\\x{180e}]"
_HIDDEN = re.compile("[" + _INVISIBLE + "]")


@dataclass(frozen=True)
class Unmasked:
    """The text to scan, and where its characters were in the text as given."""

    text: str
    #: For each removed character, in order: its index in the scanned text (where it would be).
    removed_at: tuple[int, ...] = ()

    def original(self, index: int) -> int:
        """The index in the text as given of the scanned text's character at `index`."""
        return index + bisect_right(self.removed_at, index) if self.removed_at else index


def unmask(text: str) -> Unmasked:
    if text.isascii() or _ANY.search(text) is None:
        return Unmasked(text)
    wide = text.translate(_WIDE)
    hidden = [m.start() for m in _HIDDEN.finditer(wide)]
    if not hidden:
        return Unmasked(wide)
    return Unmasked(_HIDDEN.sub("", wide), tuple(at - rank for rank, at in enumerate(hidden)))
