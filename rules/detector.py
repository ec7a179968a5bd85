"""A detector is mostly data: an RE2 pattern, a score, context words and an optional check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Validator = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Detector:
    """One sensitive-information type.

    `pattern` uses RE2 syntax (linear time, no backreferences or lookaround) and is matched over
    the UTF-8 bytes of the text. `validate` gets the matched text and rejects candidates whose
    check digit or structure is wrong. `score` is the confidence of a valid match without context;
    a `context` word within `window` characters adds `boost`; a `negative` word right before the
    hit (it labels the number, as in "order 4111...") subtracts it.
    Detectors with `needs_context` are too generic to report without a context word.

    `column_names` are names of a table column holding this type ("RTN", "UID", "SIN"-like
    abbreviations) that are too ambiguous as a word in running text: they count only as the whole
    header cell of the hit's column (give or take a "No" / "Number" / "#" / "号码" suffix and
    punctuation, `rules.context.names_column`), never in the proximity window.

    `printed` is the grouping the issuer prints the number in (Aadhaar's "2341 2341 2346"), as a
    Python regex over the whole hit: a hit written that way, and not one run of a longer row of
    digit groups (a card or an IBAN), adds `boost` / 2, because a number in its own printed form
    is seldom anything else, where a bare run of digits is often a machine id.

    `chance` is the share of random strings of the pattern's shape that `validate` passes (for
    short numbers whose bare values are not acted on): a table column whose values pass far more
    often than that is named by them (`rules.columns`).
    """

    id: str
    category: str
    pattern: str
    description: str
    score: float = 0.6
    validate: Validator | None = None
    context: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()
    needs_context: bool = False
    boost: float = 0.3
    window: int = 64
    checksum: bool = False
    #: Not reported when inside a finding of one of these detectors (an e-mail inside a URL's credentials).
    yields_to: tuple[str, ...] = ()
    #: Rejected when glued to an identifier (``SKU-13812345678``, ``id_4111...``).
    standalone: bool = False
    #: Header-only names: lower-case, counted only as a whole column header (see above).
    column_names: tuple[str, ...] = ()
    printed: str = ""
    chance: float = 0.0
