"""Full-width digits and invisible characters inside values: undone before the detectors run,
with offsets still the given text's."""

from __future__ import annotations

import pytest

from rules.detectors import scan_text
from rules.unmask import unmask

CASES = [
    ("card 4111\u200b1111\u200b1111\u200b1111 end", "credit_card", "4111\u200b1111\u200b1111\u200b1111"),
    ("card 4111\u00ad1111\u00ad1111\u00ad1111", "credit_card", "4111\u00ad1111\u00ad1111\u00ad1111"),
    ("card ４１１１ １１１１ １１１１ １１１１", "credit_card", "４１１１ １１１１ １１１１ １１１１"),
    ("身份证号码：１１０１０５１９４９１２３１００２Ｘ", "cn_resident_id", "１１０１０５１９４９１２３１００２Ｘ"),
    ("身份证号码：1101\u200d0519491231002X，\u2060请核对", "cn_resident_id", "1101\u200d0519491231002X"),
    ("\ufeffSSN 078\u200c-05-1120 and ４１１１ １１１１ １１１１ １１１１", "us_ssn", "078\u200c-05-1120"),
]


@pytest.mark.parametrize("text, detector, value", CASES)
def test_hidden_values_are_found_where_they_are(text: str, detector: str, value: str) -> None:
    found = [(f.detector, text[f.start : f.end]) for f in scan_text(text)]
    assert (detector, value) in found  # each of these was missed before


def test_offsets_map_back_past_every_removed_character() -> None:
    text = "a\u200bb\u200b\u200bc d"
    unmasked = unmask(text)
    assert unmasked.text == "abc d"
    assert [text[unmasked.original(i)] for i in range(len(unmasked.text))] == list("abc d")


def test_full_width_punctuation_and_plain_text_are_left_as_they_are() -> None:
    assert unmask("身份证号码，：11010519491231002X").text == "身份证号码，：11010519491231002X"
    plain = "card 4111 1111 1111 1111"
    assert unmask(plain).text is plain and not unmask(plain).removed_at
