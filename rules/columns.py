"""Columns named by their values: a table column whose cells pass a detector's check far more often
than chance holds that type, whatever its header says.

Short numbers with one check digit (routing numbers, NHS numbers, SINs, Aadhaar numbers) carry
too little structure to be reported on their own: a random 9-digit number passes the routing
check about one time in ten. Written without a word that names them they stay at low confidence
or are not reported at all (as in Purview), and in a table whose header nobody listed ("R/T
Number", "加国社保号") they are missed. A column, though, is a sample of one kind of value: five
distinct values of one column that all pass a check that random numbers pass one time in ten
happen by chance once in 100,000 columns. So a column is named by its values when

- at least `MIN_VALUES` distinct whole cells of it match the detector's pattern,
- at least `MIN_SHARE` of them pass its check (a typo or two may fail), and
- the binomial tail, the chance that as many pass if the column held random numbers of the
  pattern's shape (`Detector.chance` each), is at most `ALPHA`.

A one-column list (one value per line, as a column copied from a spreadsheet reaches the
clipboard) counts as a column too, one per block of lines between blank lines
(`rules.tables.TableIndex.list_of`), and so do the values a paragraph lists inline ("please
update 021000021, 011000015 and ...", `TableIndex.inline_of`) unless a negative word labels the
list ("order numbers 021000021, ..."). Then the valid cells count as named by a context word
(`rules.context.confidence`; a negative word in the column's header still lowers them). Distinct
values are counted, so a column repeating one number is one sample. Only a bounded number of
values per column is remembered, which bounds memory on hostile input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from math import comb
from typing import TYPE_CHECKING

from rules.context import NEGATIVE_CHARS, confidence, labelled_negative
from rules.detector import Detector
from rules.finding import Finding, digest_value, level_for, redact
from rules.tables import INLINE

if TYPE_CHECKING:
    from rules.scan_state import ScanState

#: Largest chance, for a column of random values, of passing as often as the column did.
ALPHA = 1e-5
MIN_VALUES = 5
MIN_SHARE = 0.9
#: Distinct values remembered per column (and valid cells kept for reporting).
MAX_VALUES = 512

#: (detector index, delimiter, byte offset of the table's header line, column number)
ColumnKey = tuple[int, int, int, int]


@dataclass(slots=True)
class _Column:
    seen: set[bytes] = field(default_factory=set)
    valid: set[bytes] = field(default_factory=set)
    cells: list[tuple[int, int]] = field(default_factory=list)  # byte spans of the valid cells
    first: int = -1  # byte offset of the first value counted


class ColumnTally:
    """Per-scan counts of the candidates of each table column, for the detectors that have a chance."""

    def __init__(self) -> None:
        self._columns: dict[ColumnKey, _Column] = {}

    def add(self, key: ColumnKey, value: bytes, span: tuple[int, int], check: Callable[[], bool]) -> bool:
        """Count one whole cell of the column `key` that matched the detector's pattern (`value`:
        its digits; `check()` runs the detector's check, only for a value new to the column).
        Returns whether the value passes."""
        column = self._columns.get(key)
        if column is None:
            column = self._columns[key] = _Column(first=span[0])
        if value in column.seen:
            valid = value in column.valid
        else:
            valid = check()
            if len(column.seen) < MAX_VALUES:
                column.seen.add(value)
                if valid:
                    column.valid.add(value)
        if valid and value in column.valid and len(column.cells) < MAX_VALUES:
            column.cells.append(span)
        return valid

    def named(self, chances: Sequence[float]) -> Iterator[tuple[ColumnKey, int, int]]:
        """(column key, byte start, byte end) of the valid cells of every column named by its values."""
        for key, column in self._columns.items():
            if named_by_values(len(column.seen), len(column.valid), chances[key[0]]):
                yield from ((key, start, end) for start, end in column.cells)

    def first(self, key: ColumnKey) -> int:
        """Byte offset of the first value counted for the column `key`."""
        return self._columns[key].first


def _labelled(state: ScanState, detector: Detector, key: ColumnKey) -> bool:
    """Whether a negative word right before an inline list's first value labels the list."""
    first = state.columns.first(key)
    lead = state.offsets.data[max(key[2], first - 4 * NEGATIVE_CHARS):first]
    return labelled_negative(detector, lead.decode("utf-8", "replace"))


def named_by_values(values: int, valid: int, chance: float) -> bool:
    """Whether `valid` of `values` distinct values passing a check is far beyond `chance` each."""
    if values < MIN_VALUES or valid < MIN_SHARE * values or not 0 < chance < 1:
        return False
    return binomial_tail(values, valid, chance) <= ALPHA * (1 + 1e-9)  # 0.1 ** 5 is a hair above 1e-5


def binomial_tail(trials: int, successes: int, chance: float) -> float:
    """P(X >= successes) for X ~ Binomial(trials, chance)."""
    return sum(comb(trials, k) * chance**k * (1 - chance) ** (trials - k) for k in range(successes, trials + 1))


def with_named_columns(state: ScanState, detectors: Sequence[Detector], findings: list[Finding]) -> list[Finding]:
    """`findings` with the valid cells of every column named by its values, each as if a context
    word named it: new findings, or in place of a lower one at the same cell (in text order)."""
    cells = sorted(state.columns.named([d.chance for d in detectors]), key=lambda cell: cell[1])
    if not cells:
        return findings
    at = {(f.detector, f.start): position for position, f in enumerate(findings)}
    labelled = {key for key, _, _ in cells if key[1] == INLINE and _labelled(state, detectors[key[0]], key)}
    state.offsets.rewind()
    for (index, delimiter, table, number), bstart, bend in cells:
        if (index, delimiter, table, number) in labelled:
            continue
        detector, budget = detectors[index], state.budget
        start, end = state.offsets.chars(bstart), state.offsets.chars(bend)
        header = state.tables.header_of(delimiter, table, number)
        judged = confidence(detector, state.text, start, end, header, named=True)
        position = at.get((detector.id, start))
        if judged is None or (position is not None and findings[position].confidence >= judged.score):
            continue
        if position is None and budget.findings[index] <= 0:
            budget.truncated.add(index)
            continue
        value = state.text[start:end]
        finding = Finding(detector.id, start, end, judged.score, level_for(judged.score), redact(value),
                          digest_value(value, state.key), judged.basis)
        if position is None:
            budget.findings[index] -= 1
            at[detector.id, start] = len(findings)
            findings.append(finding)
        else:
            findings[position] = finding
    return findings
