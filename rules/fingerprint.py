"""Document fingerprinting: find exact and partial copies of registered confidential documents.

Exact copies match on SHA-256 (of the bytes and of the normalised text). Partial copies use
winnowing (Schleimer, Wilkerson, Aiken, SIGMOD 2003) over hashed k-token shingles of the
normalised text: any shared run of at least ``k + window - 1`` tokens is guaranteed to be found,
whatever the formatting, file type or surrounding text.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from rules.finding import Finding, level_for
from rules.textnorm import normalise, split_tokens

FORMAT_VERSION = 1
_MOD = (1 << 61) - 1
_BASE = 1_000_003


def _winnow(values: list[int], window: int) -> list[int]:
    """Indexes picked by winnowing: the rightmost minimum of every window of `window` values."""
    if len(values) <= window:
        return [min(range(len(values)), key=lambda j: (values[j], -j))]
    picks: list[int] = []
    queue: deque[int] = deque()
    for j, value in enumerate(values):
        while queue and values[queue[-1]] >= value:
            queue.pop()
        queue.append(j)
        if queue[0] <= j - window:
            queue.popleft()
        if j >= window - 1 and (not picks or picks[-1] != queue[0]):
            picks.append(queue[0])
    return picks


@dataclass(frozen=True, slots=True)
class DocumentPrint:
    doc_id: str
    name: str
    sha256: str
    text_sha256: str
    hashes: frozenset[int]


@dataclass(frozen=True, slots=True)
class FingerprintMatch:
    doc_id: str
    name: str
    exact: bool
    overlap: float  # fraction of the document's fingerprints present in the text
    containment: float  # fraction of the text's fingerprints that come from the document
    start: int
    end: int


@dataclass(frozen=True)
class FingerprintIndex:
    """Registered documents. Immutable: `add`/`remove` return a new index."""

    salt: bytes
    shingle: int = 5
    window: int = 4
    documents: tuple[DocumentPrint, ...] = ()
    _postings: dict[int, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self._postings or not self.documents:
            return
        postings: dict[int, list[str]] = {}
        for doc in self.documents:
            for value in doc.hashes:
                postings.setdefault(value, []).append(doc.doc_id)
        object.__setattr__(self, "_postings", {k: tuple(v) for k, v in postings.items()})

    def prints(self, text: str, split: tuple[list[str], list[tuple[int, int]]] | None = None,
               ) -> list[tuple[int, int, int]]:
        """Winnowed (hash, start, end) fingerprints of `text`.

        Each token gets a keyed 64-bit hash; a shingle's hash is a polynomial rolling hash of its
        token hashes (mod 2^61 - 1), so the text is hashed in one linear pass.
        """
        words, spans = split if split is not None else split_tokens(text)
        size = self.shingle
        if len(words) < size:
            return []
        cache = {word: self._hash(word) for word in set(words)}
        values = [cache[word] for word in words]
        top = pow(_BASE, size - 1, _MOD)
        rolling = 0
        for value in values[:size]:
            rolling = (rolling * _BASE + value) % _MOD
        shingles = [rolling]
        for i in range(size, len(values)):
            rolling = ((rolling - values[i - size] * top) * _BASE + values[i]) % _MOD
            shingles.append(rolling)
        return [(shingles[j], spans[j][0], spans[j + size - 1][1]) for j in _winnow(shingles, self.window)]

    def _hash(self, token: str) -> int:
        digest = hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=8, key=self.salt[:64])
        return int.from_bytes(digest.digest(), "big") % _MOD

    def add(self, doc_id: str, name: str, data: bytes, text: str) -> FingerprintIndex:
        """A new index that also knows this document (`text` is its extracted text)."""
        if any(d.doc_id == doc_id for d in self.documents):
            raise ValueError(f"document id {doc_id!r} is already registered")
        split = split_tokens(text)
        doc = DocumentPrint(doc_id, name, hashlib.sha256(data).hexdigest(), _text_hash(split[0]),
                            frozenset(h for h, _, _ in self.prints(text, split)))
        postings = dict(self._postings)
        for value in doc.hashes:
            postings[value] = (*postings.get(value, ()), doc_id)
        return FingerprintIndex(self.salt, self.shingle, self.window, (*self.documents, doc), postings)

    def remove(self, doc_id: str) -> FingerprintIndex:
        if all(d.doc_id != doc_id for d in self.documents):
            raise KeyError(doc_id)
        return FingerprintIndex(self.salt, self.shingle, self.window,
                                tuple(d for d in self.documents if d.doc_id != doc_id))

    def match(self, text: str, *, data: bytes | None = None, min_overlap: float = 0.05,
              min_containment: float = 0.3, min_prints: int = 3) -> list[FingerprintMatch]:
        """Registered documents that `text` copies entirely or in part, best first."""
        split = split_tokens(text)
        prints = self.prints(text, split)
        text_hash = _text_hash(split[0])
        file_hash = hashlib.sha256(data).hexdigest() if data is not None else None
        hits: dict[str, list[tuple[int, int, int]]] = {}
        for value, start, end in prints:
            for doc_id in self._postings.get(value, ()):
                hits.setdefault(doc_id, []).append((value, start, end))
        matches = [self._judge(doc, hits.get(doc.doc_id, []), len(prints), text_hash, file_hash, len(text))
                   for doc in self.documents]
        kept = [m for m in matches if m.exact or (len({h[0] for h in hits.get(m.doc_id, [])}) >= min_prints and (
            m.overlap >= min_overlap or m.containment >= min_containment))]
        return sorted(kept, key=lambda m: (not m.exact, -m.overlap))

    @staticmethod
    def _judge(doc: DocumentPrint, spans: Sequence[tuple[int, int, int]], total: int, text_hash: str,
               file_hash: str | None, length: int) -> FingerprintMatch:
        exact = file_hash == doc.sha256 or (text_hash == doc.text_sha256 and bool(doc.hashes))
        unique = len({value for value, _, _ in spans})
        overlap = 1.0 if exact else min(1.0, unique / len(doc.hashes)) if doc.hashes else 0.0
        containment = min(1.0, len(spans) / total) if total else 0.0
        start = min((s for _, s, _ in spans), default=0)
        end = max((e for _, _, e in spans), default=length if exact else 0)
        return FingerprintMatch(doc.doc_id, doc.name, exact, round(overlap, 4), round(containment, 4), start, end)

    def findings(self, text: str, *, data: bytes | None = None) -> list[Finding]:
        """Matches as findings (`fingerprint:<doc_id>`), for `evaluate`."""
        return [Finding(f"fingerprint:{m.doc_id}", m.start, m.end, _confidence(m), level_for(_confidence(m)),
                        f"{m.name} ({'exact copy' if m.exact else f'{m.overlap:.0%} of it'})",
                        next(d.sha256 for d in self.documents if d.doc_id == m.doc_id),
                        ("exact copy",) if m.exact else ("shared passages",))
                for m in self.match(text, data=data)]

    def to_json(self) -> str:
        return json.dumps({"format": "leakguard-fingerprints", "version": FORMAT_VERSION,
                           "salt": self.salt.hex(), "shingle": self.shingle, "window": self.window,
                           "documents": [{"id": d.doc_id, "name": d.name, "sha256": d.sha256,
                                          "text_sha256": d.text_sha256, "hashes": sorted(d.hashes)}
                                         for d in self.documents]})

    @classmethod
    def from_json(cls, text: str) -> FingerprintIndex:
        data = json.loads(text)
        if data.get("format") != "leakguard-fingerprints" or data.get("version") != FORMAT_VERSION:
            raise ValueError("not a leakguard fingerprint index of a supported version")
        docs = tuple(DocumentPrint(d["id"], d["name"], d["sha256"], d["text_sha256"], frozenset(d["hashes"]))
                     for d in data["documents"])
        return cls(bytes.fromhex(data["salt"]), int(data["shingle"]), int(data["window"]), docs)


def _text_hash(words: list[str]) -> str:
    return hashlib.sha256(" ".join(words).encode("utf-8", "surrogatepass")).hexdigest()


def _confidence(match: FingerprintMatch) -> float:
    return 0.99 if match.exact else round(min(0.95, 0.5 + max(match.overlap, match.containment) / 2), 3)


__all__ = ["FingerprintIndex", "FingerprintMatch", "DocumentPrint", "normalise"]
