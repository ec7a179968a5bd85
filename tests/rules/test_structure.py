"""Structural rules the issuing authorities publish, beyond the check digit (sources in each
detector's docstring). Every number here has a correct check digit, so only the structure decides."""

from __future__ import annotations

import pytest

from rules.detectors import scan_text

# (detector, number with a valid check digit, whether the structure allows it)
CASES = [
    # ABA: first two digits 00-12 (00 US government), 21-32 thrift, 61-72 electronic, 80 traveller's cheques.
    ("us_aba_routing", "001000009", True),
    ("us_aba_routing", "051000004", True),
    ("us_aba_routing", "121000002", True),
    ("us_aba_routing", "211000006", True),
    ("us_aba_routing", "321000006", True),
    ("us_aba_routing", "611000004", True),
    ("us_aba_routing", "721000004", True),
    ("us_aba_routing", "801000005", True),
    ("us_aba_routing", "131000005", False),
    ("us_aba_routing", "201000003", False),
    ("us_aba_routing", "331000009", False),
    ("us_aba_routing", "601000001", False),
    ("us_aba_routing", "731000007", False),
    ("us_aba_routing", "791000005", False),
    ("us_aba_routing", "811000008", False),
    ("us_aba_routing", "991000009", False),
    # NHS / CHI / H&C: 3xx, 4xx, 6xx, 7xx; 0-2 only as a CHI birth date DDMM; never 5xx, 8xx, 9xx.
    ("uk_nhs", "401 023 2137", True),
    ("uk_nhs", "640 123 4563", True),
    ("uk_nhs", "705 123 4560", True),
    ("uk_nhs", "300 012 3458", True),  # England's 3xx
    ("uk_nhs", "320 000 0015", True),  # Northern Ireland
    ("uk_nhs", "010 100 0014", True),  # CHI, born 01/01
    ("uk_nhs", "290 288 1231", True),  # CHI, born 29/02
    ("uk_nhs", "311 299 1230", True),  # CHI, born 31/12
    ("uk_nhs", "001 012 3458", False),  # CHI day 00
    ("uk_nhs", "151 312 3459", False),  # CHI month 13
    ("uk_nhs", "550 123 4564", False),
    ("uk_nhs", "850 123 4567", False),
    ("uk_nhs", "943 476 5919", False),  # the textbook example: a 9xx number is never issued
    # SIN: never 0 (not assigned) or 8 (business numbers); 9 is issued to temporary residents.
    ("ca_sin", "146 454 285", True),
    ("ca_sin", "746 454 289", True),
    ("ca_sin", "946 454 287", True),
    ("ca_sin", "046 454 286", False),  # the fictitious SIN used in examples
    ("ca_sin", "846 454 288", False),
    # Aadhaar: never 0 or 1 first.
    ("in_aadhaar", "2341 2341 2346", True),
    ("in_aadhaar", "9341 2341 2340", True),
    ("in_aadhaar", "0341 2341 2341", False),
    ("in_aadhaar", "1341 2341 2342", False),
]
LABELS = {"us_aba_routing": "routing number", "uk_nhs": "NHS number", "ca_sin": "SIN", "in_aadhaar": "Aadhaar"}


@pytest.mark.parametrize(("detector", "number", "allowed"), CASES)
def test_published_structure(detector: str, number: str, allowed: bool) -> None:
    text = f"{LABELS[detector]}: {number}"
    found = [text[f.start : f.end] for f in scan_text(text, detectors=[detector])]
    assert found == ([number] if allowed else [])
