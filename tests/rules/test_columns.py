"""Columns named by their values (`rules.columns`): a column of short numbers that all pass their
check is of that type under any header; columns of random numbers, repeated values, or too few
values are not."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import pytest

from bench.rules_values import in_aadhaar, uk_nhs
from rules.catalog import BUILTIN_DETECTORS
from rules.columns import ALPHA, binomial_tail, named_by_values
from rules.detectors import scan_text

DETECTORS = {d.id: d for d in BUILTIN_DETECTORS}


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


#: Random strings of each pattern's shape (a SIN needs its separators; an Aadhaar starts with 2-9).
SHAPES: dict[str, Callable[[random.Random], str]] = {
    "us_aba_routing": lambda r: _digits(r, 9), "uk_nhs": lambda r: _digits(r, 10),
    "ca_sin": lambda r: f"{_digits(r, 3)} {_digits(r, 3)} {_digits(r, 3)}",
    "in_aadhaar": lambda r: str(r.randint(2, 9)) + _digits(r, 11)}


def _valid(detector: str) -> Callable[[random.Random], str]:
    """Values of the shape that pass the detector's pattern and check (drawn until one does)."""
    found, shape = DETECTORS[detector], SHAPES[detector]
    pattern, check = re.compile(found.pattern), found.validate
    assert check is not None

    def draw(rng: random.Random) -> str:
        while not (pattern.fullmatch(value := shape(rng)) and check(value)):
            pass
        return value

    return draw


VALID: dict[str, Callable[[random.Random], str]] = {
    "us_aba_routing": _valid("us_aba_routing"), "ca_sin": _valid("ca_sin"), "uk_nhs": uk_nhs, "in_aadhaar": in_aadhaar}


def table(header: str, values: list[str], sep: str = ",") -> str:
    """A table whose middle column, headed `header`, holds `values`; a column of bare 9-digit counts beside."""
    rng = random.Random(len(values))
    rows = "".join(f'"Smith, Ann"{sep}{v}{sep}{rng.randint(10**8, 10**9 - 1)}\n' for v in values)
    return f"Name{sep}{header}{sep}Bytes\n{rows}"


def levels(text: str, detector: str) -> list[str]:
    return [f.level for f in scan_text(text, detectors=[detector])]


@pytest.mark.parametrize("detector", sorted(SHAPES))
def test_declared_chance_is_what_random_values_of_the_shape_pass(detector: str) -> None:
    """`Detector.chance` is measured, and no lower than the truth (the column test stays conservative)."""
    rng, found = random.Random(7), DETECTORS[detector]
    pattern, check = re.compile(found.pattern), found.validate
    assert check is not None
    shaped = [s for s in (SHAPES[detector](rng) for _ in range(60_000)) if pattern.fullmatch(s)]
    share = sum(map(check, shaped)) / len(shaped)
    assert len(shaped) > 20_000 and share <= found.chance * 1.05 and found.chance <= share * 1.3


@pytest.mark.parametrize("detector", sorted(VALID))
@pytest.mark.parametrize("header", ["R/T Number", "加国社保号", "Column 2", ""])
def test_a_column_of_valid_numbers_is_named_by_them_under_any_header(detector: str, header: str) -> None:
    rng = random.Random(1)
    values = [VALID[detector](rng) for _ in range(8)]
    found = levels(table(header, values), detector)
    assert len(found) == 8 and set(found) <= {"medium", "high"}


@pytest.mark.parametrize("detector", sorted(VALID))
def test_too_few_values_name_nothing(detector: str) -> None:
    """Four values that all pass happen by chance once in 10,000 columns (0.1 ** 4): not enough."""
    rng = random.Random(2)
    values = [VALID[detector](rng).replace(" ", "") if detector == "in_aadhaar" else VALID[detector](rng)
              for _ in range(4)]  # an Aadhaar in its printed grouping is medium on its own
    assert set(levels(table("Column 2", values), detector)) <= {"low"}


@pytest.mark.parametrize("detector", sorted(SHAPES))
def test_columns_of_random_numbers_are_not_named(detector: str) -> None:
    """300 tables of 12 random values of the pattern's shape: about one in ten of each passes, none is named."""
    rng = random.Random(3)
    text = "\n".join(table("Value", [SHAPES[detector](rng) for _ in range(12)]) for _ in range(300))
    assert set(levels(text, detector)) <= {"low"}


def test_one_value_repeated_is_one_sample() -> None:
    """A column that repeats one routing number (every employee at the same bank) is one value."""
    assert set(levels(table("Column 2", ["021000021"] * 20), "us_aba_routing")) == {"low"}


def test_a_column_mostly_failing_its_check_is_not_named() -> None:
    """Many more passes than chance, but most values fail: not a column of routing numbers."""
    rng = random.Random(4)
    valid = [VALID["us_aba_routing"](rng) for _ in range(10)]
    invalid = [v[:-1] + str((int(v[-1]) + 1) % 10) for v in (VALID["us_aba_routing"](rng) for _ in range(20))]
    assert set(levels(table("Code", valid + invalid), "us_aba_routing")) == {"low"}
    assert set(levels(table("Code", valid + invalid[:1]), "us_aba_routing")) == {"medium"}  # one typo is fine


def test_each_table_is_its_own_sample() -> None:
    """Two tables of three routing numbers each, apart: neither has five values."""
    rng = random.Random(5)
    text = table("A", [VALID["us_aba_routing"](rng) for _ in range(3)]) + "\nNotes\n\n"
    text += table("B", [VALID["us_aba_routing"](rng) for _ in range(3)])
    assert set(levels(text, "us_aba_routing")) == {"low"}


def test_values_inside_longer_cells_are_not_counted() -> None:
    rng = random.Random(6)
    values = [f"order {VALID['us_aba_routing'](rng)}" for _ in range(8)]
    assert not {"medium", "high"} & set(levels(table("Code", values), "us_aba_routing"))


@pytest.mark.parametrize(("values", "valid", "chance", "named"), [
    (5, 5, 0.1, True), (4, 4, 0.1, False), (5, 4, 0.1, False), (10, 9, 0.1, True), (20, 18, 0.1, True),
    (20, 17, 0.1, False), (5, 5, 0.08, True), (5, 5, 0.045, True), (4, 4, 0.045, False),
    (100, 100, 0.0, False), (100, 100, 1.0, False),
])
def test_named_by_values(values: int, valid: int, chance: float, named: bool) -> None:
    assert named_by_values(values, valid, chance) is named


def test_binomial_tail_reference_values() -> None:
    assert binomial_tail(5, 5, 0.1) == pytest.approx(1e-5)
    assert binomial_tail(10, 9, 0.1) == pytest.approx(10 * 0.1**9 * 0.9 + 0.1**10)
    assert binomial_tail(3, 0, 0.3) == pytest.approx(1.0)
    assert ALPHA == 1e-5


@pytest.mark.parametrize(("text", "basis"), [
    ("routing number 021000021", ("check digit", "context word")),
    ("Name,Routing\nAnn,021000021\n", ("check digit", "column header")),
    ("growth 021000021", ("check digit",)),
    ("order 021000021", ("check digit", "negative word")),
    ("x 2341 2341 2346", ("check digit", "printed form")),
])
def test_a_finding_says_why(text: str, basis: tuple[str, ...]) -> None:
    assert [f.basis for f in scan_text(text, detectors=["us_aba_routing", "in_aadhaar"])] == [basis]


def test_a_column_named_by_its_values_says_so() -> None:
    rng = random.Random(8)
    found = scan_text(table("Column 2", [VALID["ca_sin"](rng) for _ in range(6)]), detectors=["ca_sin"])
    assert {f.basis for f in found} == {("check digit", "column values")}


@pytest.mark.parametrize("detector", sorted(VALID))
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_one_column_list_is_named_by_its_values(detector: str, newline: str) -> None:
    """A column copied from a spreadsheet reaches the clipboard as one value per line, no delimiter."""
    rng = random.Random(9)
    values = [VALID[detector](rng) for _ in range(6)]
    found = levels(newline.join(values) + newline, detector)
    assert len(found) == 6 and set(found) <= {"medium", "high"}
    split = newline.join(values[:3]) + newline * 2 + newline.join(values[3:]) + newline  # two lists of three
    alone = {"low", "medium"} if detector == "in_aadhaar" else {"low"}  # a printed Aadhaar is medium on its own
    assert set(levels(split, detector)) <= alone


@pytest.mark.parametrize("detector", sorted(SHAPES))
def test_one_column_lists_of_random_numbers_are_not_named(detector: str) -> None:
    rng = random.Random(10)
    text = "\n\n".join("\n".join(SHAPES[detector](rng) for _ in range(12)) for _ in range(200))
    assert set(levels(text, detector)) <= {"low"}


def test_a_negative_header_still_lowers_a_column_named_by_its_values() -> None:
    """Values that pass the routing check under "Order No" stay low: the header labels them."""
    rng = random.Random(11)
    values = [VALID["us_aba_routing"](rng) for _ in range(8)]
    assert set(levels(table("Order No", values), "us_aba_routing")) == {"low"}
    assert set(levels(table("Column 2", values), "us_aba_routing")) == {"medium"}


@pytest.mark.parametrize(("marker", "named"), [
    ("- {}", True), ("* {}", True), ("\u2022 {}", True), ("{n}. {}", True), ("  {n}) \"{}\"", True),
    ("x {}", False), ("see {}", False), ("{} ok", False),
])
def test_bulleted_and_numbered_lists_count_too(marker: str, named: bool) -> None:
    rng = random.Random(12)
    lines = [marker.format(VALID["us_aba_routing"](rng), n=n) for n in range(1, 7)]
    assert set(levels("\n".join(lines) + "\n", "us_aba_routing")) == ({"medium"} if named else {"low"})


def _inline(values: list[str], form: str) -> str:
    return form.format(", ".join(values[:-1]), values[-1])


@pytest.mark.parametrize("detector", sorted(VALID))
@pytest.mark.parametrize("form", [
    "Please update {} and {} before Friday.", "请更新{}和{}。", "Numbers: {}; {}", "{} or {}\n",
])
def test_values_listed_in_a_sentence_are_named_by_them(detector: str, form: str) -> None:
    """Five or more values that a paragraph lists, one after another, are a sample of one kind."""
    rng = random.Random(13)
    values = [VALID[detector](rng) for _ in range(6)]
    if form.startswith("请"):
        text = form.format("、".join(values[:-1]), values[-1])
    elif ";" in form:
        text = form.format("; ".join(values[:-1]), values[-1])
    else:
        text = _inline(values, form)
    found = scan_text(text, detectors=[detector])
    assert len(found) == 6 and {f.level for f in found} <= {"medium", "high"}, text
    assert all("column values" in f.basis or "printed form" in f.basis for f in found)


@pytest.mark.parametrize("detector", sorted(SHAPES))
def test_sentences_listing_random_numbers_name_nothing(detector: str) -> None:
    """300 paragraphs each listing 12 random values of the pattern's shape (one in ten passes)."""
    rng = random.Random(14)
    text = "\n\n".join(_inline([SHAPES[detector](rng) for _ in range(12)], "Values {} and {} were checked.")
                       for _ in range(300))
    assert set(levels(text, detector)) <= {"low"}


def test_an_inline_list_needs_five_values_in_one_paragraph_and_separators() -> None:
    rng = random.Random(15)
    values = [VALID["us_aba_routing"](rng) for _ in range(6)]
    assert set(levels(_inline(values[:4], "Update {} and {}."), "us_aba_routing")) == {"low"}
    split = _inline(values[:3], "Update {} and {}.") + "\n\n" + _inline(values[3:], "Then {} and {}.")
    assert set(levels(split, "us_aba_routing")) == {"low"}  # two paragraphs of three
    prose = " ".join(f"On day {n} we paid {v} for lunch." for n, v in enumerate(values))
    assert set(levels(prose, "us_aba_routing")) == {"low"}  # numbers in prose, not a list


def test_a_negative_word_before_an_inline_list_labels_the_list() -> None:
    rng = random.Random(16)
    values = [VALID["us_aba_routing"](rng) for _ in range(6)]
    assert set(levels(_inline(values, "Order numbers {} and {} shipped."), "us_aba_routing")) == {"low"}
    assert set(levels(_inline(values, "Please pay {} and {} today."), "us_aba_routing")) == {"medium"}
