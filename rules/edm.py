"""Exact data match: find real records (customers, employees) from a CSV, stored only as salted hashes.

Every non-trivial cell value is normalised (NFKC, case folded, separators removed) and hashed with
keyed BLAKE2b under the index's salt; only the first 8 bytes are kept. Scanning hashes the text's
candidate values (single tokens, token n-grams, and CJK character runs of the indexed lengths) and
reports a record when at least `min_fields` of its fields occur within `proximity` characters.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rules.finding import Finding, level_for
from rules.textnorm import compact_value, tokens

FORMAT_VERSION = 1
MIN_VALUE_CHARS = 3
MAX_VALUE_TOKENS = 6


class EdmError(ValueError):
    """A CSV that cannot be indexed (no header, no rows, unknown column...)."""


@dataclass(frozen=True, slots=True)
class EdmMatch:
    record: int
    fields: tuple[str, ...]
    start: int
    end: int


@dataclass(frozen=True)
class EdmIndex:
    salt: bytes
    columns: tuple[str, ...]
    rows: int
    postings: dict[str, tuple[int, ...]]  # hash -> record * len(columns) + column
    token_counts: frozenset[int]
    #: Hashes of the first token of every multi-token value: n-grams are only tried from these.
    starts: frozenset[str]
    min_fields: int = 2
    proximity: int = 300

    def hash_value(self, value: str) -> str:
        return hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=8, key=self.salt[:64]).hexdigest()

    def match(self, text: str) -> list[EdmMatch]:
        by_record: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        width = len(self.columns)
        for digest, start, end in self._candidates(text):
            for code in self.postings.get(digest, ()):
                by_record[code // width].append((start, end, code % width))
        matches = [m for record, hits in by_record.items() if (m := self._closest(record, hits)) is not None]
        return sorted(matches, key=lambda m: m.start)

    def _closest(self, record: int, hits: list[tuple[int, int, int]]) -> EdmMatch | None:
        hits.sort()
        best: EdmMatch | None = None
        left = 0
        for right in range(len(hits)):
            while hits[right][0] - hits[left][0] > self.proximity:
                left += 1
            window = hits[left : right + 1]
            columns = {c for _, _, c in window}
            if len(columns) >= self.min_fields and (best is None or len(columns) > len(best.fields)):
                best = EdmMatch(record, tuple(self.columns[c] for c in sorted(columns)), window[0][0],
                                max(e for _, e, _ in window))
        return best

    def _candidates(self, text: str) -> Iterator[tuple[str, int, int]]:
        """Salted hashes of single tokens, and of token n-grams that start like an indexed value."""
        toks = list(tokens(text))
        cache: dict[str, str] = {}
        longer = sorted(n for n in self.token_counts if n > 1)
        for i, (token, start, end) in enumerate(toks):
            digest = cache[token] if token in cache else cache.setdefault(token, self.hash_value(token))
            if len(token) >= MIN_VALUE_CHARS:
                yield digest, start, end
            if digest not in self.starts:
                continue
            for n in longer:
                if i + n <= len(toks):
                    value = "".join(t[0] for t in toks[i : i + n])
                    yield self.hash_value(value), start, toks[i + n - 1][2]

    def findings(self, text: str, *, name: str = "edm") -> list[Finding]:
        return [Finding(f"edm:{name}", m.start, m.end, _confidence(len(m.fields), self.min_fields),
                        level_for(_confidence(len(m.fields), self.min_fields)),
                        f"record #{m.record + 1}: {', '.join(m.fields)}", self.hash_value(f"record:{m.record}"),
                        ("record fields",))
                for m in self.match(text)]

    def to_json(self) -> str:
        return json.dumps({"format": "leakguard-edm", "version": FORMAT_VERSION, "salt": self.salt.hex(),
                           "columns": list(self.columns), "rows": self.rows, "min_fields": self.min_fields,
                           "proximity": self.proximity, "token_counts": sorted(self.token_counts),
                           "starts": sorted(self.starts),
                           "postings": {k: list(v) for k, v in self.postings.items()}})

    @classmethod
    def from_json(cls, text: str) -> EdmIndex:
        data = json.loads(text)
        if data.get("format") != "leakguard-edm" or data.get("version") != FORMAT_VERSION:
            raise EdmError("not a leakguard EDM index of a supported version")
        return cls(bytes.fromhex(data["salt"]), tuple(data["columns"]), int(data["rows"]),
                   {k: tuple(v) for k, v in data["postings"].items()}, frozenset(data["token_counts"]),
                   frozenset(data["starts"]), int(data["min_fields"]), int(data["proximity"]))


def _confidence(fields: int, minimum: int) -> float:
    return round(min(0.99, 0.7 + 0.1 * (fields - minimum)), 3)


def build_edm_index(csv_text: str, *, salt: bytes, columns: Sequence[str] | None = None,
                    min_fields: int = 2, proximity: int = 300) -> EdmIndex:
    """Index a CSV with a header row. Only salted hashes of the values are kept."""
    reader = csv.reader(io.StringIO(csv_text))
    try:
        return _build(reader, salt, columns, min_fields, proximity)
    except csv.Error as exc:  # a field over the csv module's 128 KiB limit, a NUL in strict mode...
        raise EdmError(f"line {reader.line_num}: {exc}") from None


def _build(reader: Iterator[list[str]], salt: bytes, columns: Sequence[str] | None, min_fields: int, proximity: int) -> EdmIndex:
    header = [h.strip() for h in next(reader, [])]
    if not header or not any(header):
        raise EdmError("the CSV needs a header row naming its columns")
    chosen = list(columns) if columns else header
    unknown = [c for c in chosen if c not in header]
    if unknown:
        raise EdmError(f"unknown column(s): {', '.join(unknown)} (the header has: {', '.join(header)})")
    if not 1 <= min_fields <= len(chosen):
        raise EdmError(f"min_fields must be between 1 and {len(chosen)}")
    positions = [header.index(c) for c in chosen]
    index = EdmIndex(salt, tuple(chosen), 0, {}, frozenset(), frozenset(), min_fields, proximity)
    postings: dict[str, list[int]] = defaultdict(list)
    counts: set[int] = set()
    starts: set[str] = set()
    rows = 0
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        for column, position in enumerate(positions):
            cell = row[position] if position < len(row) else ""
            toks = [t for t, _, _ in tokens(cell)]
            value = compact_value("".join(toks))
            if len(value) < MIN_VALUE_CHARS and (value.isascii() or len(value) < 2):
                continue
            if len(toks) > MAX_VALUE_TOKENS:
                toks = toks[:MAX_VALUE_TOKENS]
                value = compact_value("".join(toks))
            postings[index.hash_value(value)].append(rows * len(chosen) + column)
            counts.add(len(toks))
            if len(toks) > 1:
                starts.add(index.hash_value(toks[0]))
        rows += 1
    if rows == 0:
        raise EdmError("the CSV has no data rows")
    return EdmIndex(salt, tuple(chosen), rows, {k: tuple(v) for k, v in postings.items()},
                    frozenset(counts), frozenset(starts), min_fields, proximity)
