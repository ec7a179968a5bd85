"""Where the text of a PDF page sits, read through pypdf, for `rules.extract.pdf_tables`.

Two readings. `LineStarts` rides along pypdf's plain extraction (an operator visitor, next to no
cost) and counts where text starts on each baseline: a page on which no two lines start at two
places or more holds no table, and is left at that. `positioned_runs` reads the page again with
pypdf's layout mode, whose text objects come with the x where they start and end; it is a private
part of pypdf (`pypdf._text_extraction._layout_mode`, there since pypdf 4), so any failure to
import or run it only means that the page keeps its plain text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from rules.extract.pdf_tables import Run

if TYPE_CHECKING:
    from pypdf import PageObject

Operation = tuple[list[Any], bytes]

#: Operators that move the pen to where text starts.
_MOVES = frozenset({b"Td", b"TD", b"Tm", b"T*", b"'", b'"'})
#: A kerning in a `TJ` array this wide (thousandths of an em) is a gap between cells, not a space.
_CELL_KERN = -1000
#: Text state parameters and their initial values (PDF 32000-1, 9.3.1).
_TEXT_STATE: dict[bytes, float] = {b"Tc": 0.0, b"Tw": 0.0, b"Tz": 100.0, b"TL": 0.0, b"Ts": 0.0}
#: What the layout reading may raise on a malformed page, besides pypdf's own errors.
_LAYOUT_ERRORS = (ImportError, ArithmeticError, LookupError, TypeError, ValueError, AttributeError,
                  RecursionError, NotImplementedError, OSError)


class LineStarts:
    """How many times text starts on each baseline, as pypdf's plain extraction moves the pen
    (`see` is its ``visitor_operand_after``)."""

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()

    def see(self, operator: bytes, operands: list[Any], cm: list[float], tm: list[float]) -> None:
        if operator in _MOVES:
            self.counts[_baseline(cm, tm)] += 1
        elif operator == b"TJ" and operands and isinstance(operands[0], list):
            gaps = sum(isinstance(item, int | float) and item <= _CELL_KERN for item in operands[0])
            self.counts[_baseline(cm, tm)] += gaps

    def several(self) -> bool:
        """Whether two lines or more start at two places or more."""
        return sum(count >= 2 for count in self.counts.values()) >= 2


def _baseline(cm: list[float], tm: list[float]) -> int:
    return round(tm[4] * cm[1] + tm[5] * cm[3] + cm[5])


def positioned_runs(page: PageObject) -> list[Run] | None:
    """The text runs of the page (one text object's text on one line) with where they start and
    end; None where the reading fails or is unsure (mirrored text). Rotated text is left out."""
    from pypdf.errors import PyPdfError

    try:
        from pypdf._text_extraction import _layout_mode
        from pypdf.generic import ArrayObject, ContentStream, StreamObject

        contents = page.get("/Contents")
        contents = contents.get_object() if contents is not None else None
        if not isinstance(contents, ArrayObject | StreamObject):
            return None
        # strings as bytes, for the fonts to decode (as pypdf's own readings do)
        operations = _restoring_text_state(ContentStream(contents, page.pdf, "bytes").operations)
        groups = _layout_mode.text_show_operations(operations, page._layout_mode_fonts(), True)
    except (PyPdfError, *_LAYOUT_ERRORS):
        return None
    if any(group["flip_sort"] != 1 for group in groups):
        return None
    return [Run(g["text"], g["tx"], g["displaced_tx"], g["ty"], g["font_height"]) for g in groups]


def _restoring_text_state(operations: Iterable[Operation]) -> Iterator[Operation]:
    """The operations, with the text state that each `Q` restores written out after it.

    A `Q` restores the text state saved by its `q` (PDF 32000-1, 8.4.2); pypdf's layout reading
    restores only the font, so a word spacing set to justify one line would widen every later run.
    """
    state, saved = dict(_TEXT_STATE), []
    for operands, operator in operations:
        yield operands, operator
        if operator in _TEXT_STATE and operands and isinstance(operands[0], int | float):
            state[operator] = float(operands[0])
        elif operator == b"q":
            saved.append(dict(state))
        elif operator == b"Q" and saved:
            state = saved.pop()
            yield from (([value], name) for name, value in state.items())
