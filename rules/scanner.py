"""One pass over the text for every detector and keyword list.

The text is encoded to UTF-8 once and cut into 32 KiB chunks. One RE2 set (one DFA for every
detector and keyword literal; more only for very large custom selections) says which detectors can
match in a chunk; only those run their own RE2 regex there, and Python only sees candidate hits (check digits, context
words). RE2 runs in linear time, so no input can make a pattern backtrack; caps on candidates and
findings per detector bound the Python work on hostile input.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import re2

from rules.columns import with_named_columns
from rules.context import confidence, names_column
from rules.detector import Detector
from rules.finding import DEFAULT_DIGEST_KEY, Finding, digest_value, level_for, redact
from rules.keywords import KeywordList, KeywordMatcher
from rules.scan_state import MAX_FINDINGS, ScanState
from rules.tables import TableIndex
from rules.unmask import MASKED_PATTERN, unmask

#: Measured on the mixed corpus: an RE2 set pass over 32 KiB windows runs about 1.5x as fast as over
#: 8 KiB ones (less per-call and overlap cost), and per-detector regexes are a small share either way.
CHUNK_BYTES = 32 * 1024
#: Longest match we promise to see whole when it crosses a chunk boundary.
OVERLAP_BYTES = 1024
#: Patterns per RE2 set: the 52 built-ins and a few keyword lists fit in one; this only splits very
#: large custom selections, whose single DFA would outgrow its memory budget.
SET_SIZE = 80
_MAX_MEM = 256 << 20
#: How far before a chunk a context word may sit (the detectors' window, in UTF-8 bytes).
_CONTEXT_BYTES = 3 * 64
RawHit = tuple[int, int, int, int]  # (detector index, byte start, byte end, mode)
#: How a candidate is judged: a word of its detector may be near; only a table header can name it;
#: it is only counted for its column (`rules.columns`), as nothing near or above names it.
NEAR, HEADER, TALLY = 0, 1, 2


class TextScanner(Protocol):
    def scan(self, text: str, *, key: bytes = ...) -> list[Finding]: ...


class PatternError(ValueError):
    """A pattern RE2 cannot compile (backreferences, lookaround, too large...)."""


@dataclass(frozen=True, slots=True)
class ScanResult:
    findings: list[Finding]
    #: Detectors that hit a cap: the text holds more of them than `findings` lists.
    truncated: tuple[str, ...] = ()


def _options() -> re2.Options:
    options = re2.Options()
    options.max_mem = _MAX_MEM
    options.log_errors = False
    return options


def compile_pattern(pattern: str) -> re2._Regexp:
    """Compile with RE2 or raise `PatternError` saying why."""
    try:
        return re2.compile(pattern.encode("utf-8"), options=_options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(reason) from None


def _compile_set(patterns: Iterable[str]) -> re2.Set:
    regex_set = re2.Set.SearchSet(_options())
    for pattern in patterns:
        regex_set.Add(pattern.encode("utf-8"))
    regex_set.Compile()
    return regex_set


#: Lane member standing for "some keyword list may match here".
KEYWORDS = -1
#: Lane member standing for "a full-width digit or letter, or an invisible character, is here"
#: (`rules.unmask`): found in the pass the sets make anyway, so a text without any costs nothing.
MASKED = -2


def _lanes(detectors: Sequence[Detector], keyword_patterns: Sequence[str]) -> list[tuple[re2.Set, tuple[int, ...]]]:
    """RE2 sets over all detector patterns and keyword literals, `SET_SIZE` patterns per set.

    Measured over 32 KiB windows with a warm DFA: one set of all 52 built-ins plus keywords costs
    about 3 ms/MB, two sets split by family about 4.5 ms/MB (each is a full pass over the bytes).
    """
    members = (*range(len(detectors)), *(KEYWORDS,) * len(keyword_patterns), MASKED)
    patterns = [*(d.pattern for d in detectors), *keyword_patterns, MASKED_PATTERN]
    return [(_compile_set(patterns[i : i + SET_SIZE]), members[i : i + SET_SIZE])
            for i in range(0, len(patterns), SET_SIZE)]


class Scanner:
    """Compiled detectors and keyword lists; immutable and safe to share."""

    def __init__(self, detectors: Sequence[Detector], keywords: Sequence[KeywordList] = ()) -> None:
        self.detectors = tuple(detectors)
        self.keywords = KeywordMatcher([k for k in keywords if any(k.words)])
        self._regexes = [compile_pattern(d.pattern) for d in self.detectors]
        #: For detectors that need a context word: one regex of their words, to skip chunks without any.
        self._context = [_context_regex(d.context) if d.needs_context and d.context else None for d in self.detectors]
        #: The same plus their header-only column names: what may name them from a table header.
        self._column = [_context_regex(d.context, d.column_names) if c is not None and d.column_names else c
                        for c, d in zip(self._context, self.detectors, strict=True)]
        #: Detectors whose context or negative words may also stand in a table's column header.
        self._by_column = [bool(d.context or d.negative or d.column_names) for d in self.detectors]
        #: Detectors whose table columns may be named by their values (`rules.columns`).
        self._chances = [d.chance for d in self.detectors]
        words = [("" if k.case_sensitive else "(?i)") + re2.escape(w) for k in self.keywords.lists for w in k.words if w]
        self._lanes = _lanes(self.detectors, words)

    def scan(self, text: str, *, key: bytes = DEFAULT_DIGEST_KEY) -> list[Finding]:
        """All findings in `text`, ordered by position. Character offsets, redacted previews."""
        return self.scan_report(text, key=key).findings

    def scan_report(self, text: str, *, key: bytes = DEFAULT_DIGEST_KEY) -> ScanResult:
        """Like `scan`, and also says which detectors were capped on this text. Full-width
        digits and letters and invisible characters are undone first (`rules.unmask`); offsets
        are the given text's."""
        result, masked = self._scan_report(text, key)
        if not masked:
            return result
        unmasked = unmask(text)  # rare: scanned again, as it reads
        result, _ = self._scan_report(unmasked.text, key)
        if not unmasked.removed_at:
            return result
        moved = [replace(f, start=unmasked.original(f.start), end=unmasked.original(f.end - 1) + 1)
                 for f in result.findings]
        return ScanResult(moved, result.truncated)

    def _scan_report(self, text: str, key: bytes) -> tuple[ScanResult, bool]:
        state = ScanState(text, key, len(self.detectors))
        data = state.offsets.data
        view = memoryview(data)  # windows without copying the bytes
        findings: list[Finding] = []
        keyword_windows: list[tuple[int, int]] = []
        for start in range(0, len(data), CHUNK_BYTES):
            start = _char_start(data, start)
            end = _char_start(data, min(len(data), start + CHUNK_BYTES))
            if end <= start:
                continue
            hits, keyword_hit = self._chunk_hits(state, view[start : end + OVERLAP_BYTES], start, end)
            for index, bstart, bend, mode in sorted(hits, key=lambda h: h[1]):
                finding = self._judge(state, index, bstart, bend, mode)
                if finding is not None:
                    findings.append(finding)
            if keyword_hit:
                char_start = state.offsets.chars(start)
                keyword_windows.append((char_start, char_start + end - start + OVERLAP_BYTES))
        findings.extend(self._keyword_findings(text, keyword_windows, key))
        findings = with_named_columns(state, self.detectors, findings)
        findings = self._drop_yielding(findings)
        findings.sort(key=lambda f: (f.start, f.detector))
        return ScanResult(findings, tuple(self.detectors[i].id for i in sorted(state.budget.truncated))), state.masked

    def _chunk_hits(self, state: ScanState, window: memoryview, start: int, end: int) -> tuple[list[RawHit], bool]:
        """Candidate hits of one chunk; a detector that needs a context word gets `HEADER` for
        candidates with none near, which only a table header can still rescue, or `TALLY` when
        only its column's values can (`rules.columns`)."""
        data, budget = state.offsets.data, state.budget
        hits: list[RawHit] = []
        keyword_hit = False
        for regex_set, members in self._lanes:
            for member in regex_set.Match(window) or ():
                index = members[member]
                if index == KEYWORDS:
                    keyword_hit = True
                    continue
                if index == MASKED:
                    state.masked = True
                    continue
                context, column = self._context[index], self._column[index]
                if budget.exhausted(index):
                    continue
                if context is None or column is None:
                    self._candidates(state, index, None, start, end, hits)
                elif column.search(data, max(0, start - _CONTEXT_BYTES), end + OVERLAP_BYTES) is not None:
                    near = _ContextWords.find(self.detectors[index], context, column, data, start, end)
                    self._candidates(state, index, near, start, end, hits)
                elif self._chances[index] or state.header_names(index, column, start):
                    self._candidates(state, index, _NO_WORDS, start, end, hits)
        return hits, keyword_hit

    def _candidates(self, state: ScanState, index: int, near: _ContextWords | None, start: int, end: int,
                    hits: list[RawHit]) -> None:
        """A detector's candidates in one chunk. With `near` (it needs a context word), those with
        no word near get `HEADER` if a table header may still name them: a word of the detector
        earlier in the chunk in a line with a delimiter, or a table reaching into the chunk whose
        header above holds one; the others get `TALLY` if their column's values may name them, or
        are only counted."""
        budget = state.budget
        for match_start, match_end in _spans(self._regexes[index], state.offsets.data, start, end + OVERLAP_BYTES):
            if match_start >= end:
                break
            if near is None or near.around(match_start, match_end):
                hits.append((index, match_start, match_end, NEAR))
            elif near.header_before(state.tables, match_start) or state.header_names(index, self._column[index], start):
                hits.append((index, match_start, match_end, HEADER))
            elif self._chances[index]:
                hits.append((index, match_start, match_end, TALLY))
            elif budget.findings[index] <= 0:
                budget.truncated.add(index)
            budget.candidates[index] -= 1
            if budget.candidates[index] <= 0:
                budget.truncated.add(index)
                break

    def _judge(self, state: ScanState, index: int, bstart: int, bend: int, mode: int) -> Finding | None:
        """A finding for a candidate (byte offsets), or None. `HEADER`: no context word near, so
        only a table column header naming the detector can make it one; `TALLY`: only counted for
        its column, which its values may name later (`rules.columns.with_named_columns`)."""
        budget = state.budget
        if budget.findings[index] <= 0:
            budget.truncated.add(index)
            return None
        detector = self.detectors[index]
        value = state.offsets.data[bstart:bend].decode("utf-8", "surrogatepass")
        checked = self._chances[index] > 0  # its column counts every candidate, valid or not
        if checked:
            valid = self._tally(state, index, bstart, bend, value)
            if mode == TALLY or not valid:
                return None
        header = None
        if mode == HEADER:
            header = state.tables.header(bstart, bend, self._column[index])
            if not header or not names_column(header, detector):
                return None
        if not checked and detector.validate is not None and not detector.validate(value):
            return None
        if mode != HEADER and self._by_column[index]:
            header = state.tables.header(bstart, bend)
        start, end = state.offsets.chars(bstart), state.offsets.chars(bend)
        judged = confidence(detector, state.text, start, end, header)
        if judged is None:
            return None
        budget.findings[index] -= 1
        return Finding(detector.id, start, end, judged.score, level_for(judged.score), redact(value),
                       digest_value(value, state.key), judged.basis)

    def _tally(self, state: ScanState, index: int, bstart: int, bend: int, value: str) -> bool:
        """Whether the candidate passes its detector's check; a whole table cell, a whole line of a
        one-column list, or a value listed inline in a sentence, is also counted for its column
        (`rules.columns`), which checks each distinct value once."""
        validate = self.detectors[index].validate

        def check() -> bool:
            return validate is None or validate(value)

        tables = state.tables
        column = tables.column_of(bstart, bend) or tables.list_of(bstart, bend) or tables.inline_of(bstart, bend)
        if column is None:
            return check()
        digits = state.offsets.data[bstart:bend].translate(None, b" -")
        return state.columns.add((index, *column), digits, (bstart, bend), check)

    def _drop_yielding(self, findings: list[Finding]) -> list[Finding]:
        """Remove findings that lie inside a finding of a detector they yield to."""
        yields = {d.id: d.yields_to for d in self.detectors if d.yields_to}
        if not yields:
            return findings
        wanted = {target for targets in yields.values() for target in targets}
        spans: dict[str, list[tuple[int, int]]] = {}
        for f in findings:
            if f.detector in wanted:
                spans.setdefault(f.detector, []).append((f.start, f.end))
        return [f for f in findings if not any(s <= f.start and f.end <= e for target in yields.get(f.detector, ())
                                               for s, e in spans.get(target, ()))]

    def _keyword_findings(self, text: str, windows: list[tuple[int, int]], key: bytes) -> list[Finding]:
        seen: set[tuple[str, int]] = set()
        found: list[Finding] = []
        for window_start, window_end in windows:
            for lst, start, end in self.keywords.find(text, window_start, window_end):
                if (lst.id, start) in seen or len(found) >= MAX_FINDINGS:
                    continue
                seen.add((lst.id, start))
                value = text[start:end]
                found.append(Finding(lst.id, start, end, lst.score, level_for(lst.score), redact(value),
                                     digest_value(value, key)))
        return found


def _spans(regex: re2._Regexp, data: bytes, pos: int, endpos: int) -> Iterator[tuple[int, int]]:
    """Match spans over bytes. Uses the binding's matcher directly when it is there: the public
    `finditer` builds a match object per hit, which costs more than the match itself."""
    matcher = getattr(regex, "_regexp", None)
    if matcher is None:
        for match in regex.finditer(data, pos, endpos):
            yield match.start(), match.end()
        return
    anchor = re2._Anchor.UNANCHORED
    endpos = min(endpos, len(data))
    while pos <= endpos:
        spans = matcher.Match(anchor, data, pos, endpos)
        match_start, match_end = spans[0]
        if match_start < 0:
            return
        yield match_start, match_end
        pos = match_end if match_end > pos else pos + 1


class _ContextWords:
    """Where a detector's context words sit around a chunk, to skip hits with none close enough.

    A hit keeps its chance if a word starts within the detector's window in characters, counted
    generously in bytes (up to 4 per character), widened by the longest word (a word that overlaps
    a longer one is not reported by the regex separately). Header-only column names (`column`) do
    not count there; they are only looked for, with the words, in lines that may head a table.
    """

    def __init__(self, starts: list[int], before: int = 0, after: int = 0,
                 column: tuple[re2._Regexp, bytes, int, int] | None = None) -> None:
        self.starts, self.before, self.after = starts, before, after
        self._column = column  # (regex of words and column names, data, low, high) when they differ
        self._headers: list[int] | None = None  # starts of the lines with a word and a delimiter

    @classmethod
    def find(cls, detector: Detector, context: re2._Regexp, column: re2._Regexp, data: bytes,
             start: int, end: int) -> _ContextWords:
        longest = max(len(w.encode("utf-8")) for w in detector.context + detector.column_names)
        before, after = 4 * detector.window + longest, 4 * (detector.window // 2)
        low, high = max(0, start - before), end + OVERLAP_BYTES + after
        starts = [word_start for word_start, _ in _spans(context, data, low, high)]
        return cls(starts, before, after, None if column is context else (column, data, low, high))

    def around(self, start: int, end: int) -> bool:
        index = bisect_left(self.starts, start - self.before)
        return index < len(self.starts) and self.starts[index] <= end + self.after

    def header_before(self, tables: TableIndex, start: int) -> bool:
        """Whether a word sits before `start` in a line with a delimiter: a header row above it,
        perhaps. Words in prose or logs do not count, so their candidates skip the table lookup."""
        if self._headers is None:
            starts = self.starts
            if self._column is not None:
                regex, data, low, high = self._column
                starts = [word_start for word_start, _ in _spans(regex, data, low, high)]
            self._headers = [line for line in map(tables.delimited_line, starts) if line is not None]
        return bool(self._headers) and self._headers[0] < start


#: For a chunk with no context word at all, which a table header above may still name.
_NO_WORDS = _ContextWords([])


def _context_regex(words: tuple[str, ...], whole: tuple[str, ...] = ()) -> re2._Regexp:
    """Any of `words`, or of `whole` as a whole word (so that "chi" does not stop at every "machine")."""
    pattern = [re2.escape(w) for w in words] + [rf"\b{re2.escape(w)}\b" if w.isascii() else re2.escape(w) for w in whole]
    return compile_pattern("(?i)(?:" + "|".join(pattern) + ")")


def _char_start(data: bytes, offset: int) -> int:
    """Move forward to the first byte of a UTF-8 character."""
    while offset < len(data) and (data[offset] & 0xC0) == 0x80:
        offset += 1
    return offset
