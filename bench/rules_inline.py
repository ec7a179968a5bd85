"""The inline-list slice of the labelled corpus: values that a paragraph lists one after another.

"Please update 021000021, 011000015 and 026009593 before Friday." is how a spreadsheet column often
leaves a company in an e-mail or a chat message. Each paragraph lists 1-12 values of one type after
a neutral word (never one of the detectors' context words), in English ("A, B, C and D") or Chinese
("A、B、C和D") or semicolon-separated; sentences of prose around it. Paragraphs listing the prose
corpus's 9- and 12-digit hard negatives and phone numbers the same way (5-12 of them, bare) sit
between them, so that a list of numbers that only look like a type costs precision.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from bench.rules_corpus import hanzi, sentence
from bench.rules_tables import NEGATIVE_COLUMNS

#: text, labels, part ("1-4 values" or "5+ values"), the list's form
InlineDocument = tuple[str, list[tuple[str, int, int]], str, str]
PARTS = ("1-4 values", "5+ values")
#: (form name, words before the list, separator, last separator, words after)
_FORMS = (
    ("en, and", "Please update {} before Friday: ", ", ", " and ", ". Thanks."),
    ("en, or", "Can someone check {}: ", ", ", " or ", "? They bounced."),
    ("en, semicolon", "Here are {}: ", "; ", "; ", "."),
    ("zh, 、和", "请核对以下{}：", "、", "和", "。"),
    ("zh, ，及", "{}如下：", "，", "及", "。"),
)
_NEUTRAL = ("the new values", "these", "the numbers", "the entries", "our records")
_NEUTRAL_ZH = ("新的数值", "这些号码", "以下条目", "记录")
#: Hard-negative columns with a short numeric shape (QQ, case and ticket numbers, byte counts,
#: amounts, AWS accounts, UPC barcodes, phone numbers): a list of them names nothing.
_LOOK_ALIKES = tuple(c for c in NEGATIVE_COLUMNS if c[0] in
                     ("QQ", "Case", "Customer No", "Bytes", "Duration (ns)", "Rows", "AWS Account", "UPC", "Phone"))


def _paragraph(rng: random.Random, values: list[str], kind: str | None) -> tuple[str, list[tuple[str, int, int]], str]:
    name, before, separator, last, after = rng.choice(_FORMS)
    intro = before.format(rng.choice(_NEUTRAL_ZH if name.startswith("zh") else _NEUTRAL))
    lead = (hanzi(rng, 20) if name.startswith("zh") else sentence(rng, rng.randint(6, 14))) + " "
    text, labels = lead + intro, []
    for number, value in enumerate(values):
        if number:
            text += last if number == len(values) - 1 else separator
        if kind is not None:
            labels.append((kind, len(text), len(text) + len(value)))
        text += value
    return text + after + " " + sentence(rng, rng.randint(4, 10)), labels, name


def inline_documents(seed: int, per_type: int,
                     generators: dict[str, Callable[[random.Random], str]]) -> list[InlineDocument]:
    """For each type, paragraphs listing `per_type` values in all (1, 2, 3, 5, 8 or 12 per
    paragraph); after every second one, a paragraph listing 5-12 look-alike numbers."""
    rng = random.Random(seed)
    documents: list[InlineDocument] = []
    for kind in sorted(generators):
        remaining, number = per_type, 0
        while remaining:
            count = min(remaining, rng.choice((1, 2, 3, 5, 8, 12)))
            text, labels, form = _paragraph(rng, [generators[kind](rng) for _ in range(count)], kind)
            documents.append((text, labels, PARTS[count >= 5], form))
            remaining, number = remaining - count, number + 1
            if number % 2 == 0:
                column = rng.choice(_LOOK_ALIKES)
                text, _, form = _paragraph(rng, [column[2](rng) for _ in range(rng.randint(5, 12))], None)
                documents.append((text, [], PARTS[1], form))
    return documents
