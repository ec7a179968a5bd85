"""What one scan carries along: the text and its bytes, the per-detector caps, and the table and
context-word lookups that are built lazily, only when a hit needs them."""

from __future__ import annotations

import re2

from rules.byte_offsets import ByteOffsets
from rules.columns import ColumnTally
from rules.tables import TableIndex

#: After this many findings of one detector in one text, further ones are only counted as "truncated".
MAX_FINDINGS = 500
#: Candidate hits checked per detector: this many plus one per CANDIDATE_BYTES of text.
MAX_CANDIDATES = 1000
CANDIDATE_BYTES = 1024


class Budget:
    """Per-scan caps on candidates and findings for each detector."""

    def __init__(self, count: int, size: int) -> None:
        self.candidates = [MAX_CANDIDATES + size // CANDIDATE_BYTES] * count
        self.findings = [MAX_FINDINGS] * count
        self.truncated: set[int] = set()

    def exhausted(self, index: int) -> bool:
        return index in self.truncated


class ScanState:
    """What one scan carries along: the text, its bytes, the caps, and the lazily built table and
    context-word lookups."""

    def __init__(self, text: str, key: bytes, detectors: int) -> None:
        self.text, self.key = text, key
        self.offsets = ByteOffsets(text)
        self.budget = Budget(detectors, len(self.offsets.data))
        self.tables = TableIndex(self.offsets.data)
        self.columns = ColumnTally()
        self._headers: tuple[int, list[tuple[int, int]]] = (-1, [])  # (chunk start, its headers above)
        self._named: dict[tuple[int, int], bool] = {}  # (header start, detector) -> a word of it there
        self.masked = False  # a full-width digit or an invisible character was seen (`rules.unmask`)

    def header_names(self, index: int, context: re2._Regexp, pos: int) -> bool:
        """Whether the text at byte `pos` lies in a table whose header row (above it) holds a
        context word of the detector: then its cells there may be named although no word is near."""
        if self._headers[0] != pos:
            self._headers = (pos, self.tables.headers_over(pos))
        for start, end in self._headers[1]:
            named = self._named.get((start, index))
            if named is None:
                named = self._named[start, index] = context.search(self.offsets.data, start, end) is not None
            if named:
                return True
        return False
