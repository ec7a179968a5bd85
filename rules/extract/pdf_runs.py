"""Where the text of a PDF page sits, read through pypdf, for `rules.extract.pdf_tables`.

Two readings. `LineStarts` rides along pypdf's plain extraction (an operator visitor, next to no
cost) and counts where text starts on each baseline: a page on which no two lines start at two
places or more holds no table, and is left at that. `positioned_runs` reads the page again with
pypdf's layout mode, whose text objects come with the x where they start and end; it is a private
part of pypdf (`pypdf._text_extraction._layout_mode`, there since pypdf 4), so any failure to
import or run it only means that the page keeps its plain text.
"""

from __future__ import annotations

import math
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
#: How far up the page tree to look for inherited resources (as pypdf's own reading, with a bound).
_MAX_PARENTS = 32
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
    end; None where the reading fails or is unsure (text flipped on part of the page only).

    A page with a `/Rotate` is read as it is displayed first (a landscape table printed on a
    portrait page is drawn turned and shown upright) and, when no text is upright there, as it is
    drawn (an upright page turned by its viewer). Text turned in the frame read is left out."""
    rotation = page_rotation(page)
    groups = _text_groups(page, rotation)
    if rotation and groups is not None and not any(g["text"].strip() for g in groups):
        groups = _text_groups(page, 0)
    if groups is None:
        return None
    flips = {group["flip_sort"] for group in groups}
    if len(flips) > 1:
        return None
    # A page whose y axis points down throughout (Chromium's and Word's "publish" PDFs flip it
    # for the whole page and draw upright text in that space): its baselines count downwards.
    down = flips == {-1}
    return [Run(g["text"], g["tx"], g["displaced_tx"], -g["ty"] if down else g["ty"], g["font_height"]) for g in groups]


def _text_groups(page: PageObject, rotation: int) -> list[Any] | None:
    """pypdf's layout reading of the page's text objects, in the frame turned by `rotation`."""
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
        fonts = page._layout_mode_fonts()
        _scale_type3_widths(page, fonts)
        groups: list[Any] = _layout_mode.text_show_operations(_displayed(operations, rotation), fonts, True)
    except (PyPdfError, *_LAYOUT_ERRORS):
        return None
    return groups


#: The matrix that turns a page's user space as its `/Rotate` shows it (clockwise, PDF 32000-1,
#: 7.7.3.3): a producer printing landscape on a portrait page draws its text turned the other way
#: and sets `/Rotate`, and only on the displayed page do the table's rows run across.
_DISPLAY = {90: [0, -1, 1, 0, 0, 0], 180: [-1, 0, 0, -1, 0, 0], 270: [0, 1, -1, 0, 0, 0]}


def page_rotation(page: PageObject) -> int:
    """The page's `/Rotate` (inherited, as pypdf reads it) in 0, 90, 180 or 270; 0 when malformed."""
    from pypdf.errors import PyPdfError

    try:
        rotation = int(page.rotation) % 360
    except (PyPdfError, TypeError, ValueError, AttributeError, OverflowError, RecursionError):
        return 0
    return rotation if rotation in _DISPLAY else 0


def _displayed(operations: Iterable[Operation], rotation: int) -> Iterator[Operation]:
    """The operations drawn in the displayed page's frame: inside a `q` ... `Q` that starts with a
    `cm` of the rotation (the layout reading applies a `cm` only within a saved state)."""
    if not rotation:
        yield from operations
        return
    yield [], b"q"
    yield _DISPLAY[rotation], b"cm"
    yield from operations
    yield [], b"Q"


def _scale_type3_widths(page: PageObject, fonts: dict[str, Any]) -> None:
    """Put the widths of the page's Type 3 fonts into thousandths of an em, as pypdf's layout
    reading takes every font's widths to be.

    A Type 3 font's widths are in its own glyph space, which its `/FontMatrix` maps to text space
    (PDF 32000-1, 9.6.5); Chromium draws synthetic-bold CJK glyphs with a matrix of 1/256, so pypdf
    took a one-em glyph for a quarter em and wrote the rest as spaces.
    """
    node: Any = page
    scaled: set[str] = set()
    for _ in range(_MAX_PARENTS):
        resources = node.get("/Resources")
        resources = resources.get_object() if resources is not None else None
        declared = resources.get("/Font") if isinstance(resources, dict) else None
        declared = declared.get_object() if declared is not None else None
        for name, font in fonts.items():
            entry = declared.get(name) if isinstance(declared, dict) else None
            entry = entry.get_object() if entry is not None else None
            if isinstance(entry, dict) and entry.get("/Subtype") == "/Type3":
                matrix = entry.get("/FontMatrix")
                scale = float(matrix[0]) * 1000.0 if isinstance(matrix, list) and matrix else 1.0
                if math.isfinite(scale) and scale > 0 and scale != 1.0 and name not in scaled:
                    font.character_widths = {c: w * scale for c, w in font.character_widths.items()}
                    font.space_width = font.space_width * scale
                    scaled.add(name)
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
        if not isinstance(node, dict):
            return


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
