"""Structural rules the issuing authorities publish, beyond the check digit (sources in each
detector's docstring). Every number here has a correct check digit, so only the structure decides."""

from __future__ import annotations

import pytest

from rules.detectors import scan_text, scanner_for

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
    # USCC (GB 32100): registration authority and its categories, then a province's division code;
    # every code here passes both its GB 32100 and its GB 11714 check.
    ("cn_uscc", "91110108MA1832369X", True),
    ("cn_uscc", "Y1310115MA1832369R", True),
    ("cn_uscc", "A9440300MA1832369B", True),
    ("cn_uscc", "N2710000MA1832369W", True),
    ("cn_uscc", "99110108MA18323695", False),  # authority 9 has categories 1-3 only
    ("cn_uscc", "1A110108MA1832369A", False),  # a letter is no category
    ("cn_uscc", "91190108MA1832369Y", False),  # 19 is no province
    ("cn_uscc", "91000108MA18323693", False),
]
LABELS = {"us_aba_routing": "routing number", "uk_nhs": "NHS number", "ca_sin": "SIN", "in_aadhaar": "Aadhaar",
          "cn_uscc": "统一社会信用代码"}


@pytest.mark.parametrize(("detector", "number", "allowed"), CASES)
def test_published_structure(detector: str, number: str, allowed: bool) -> None:
    text = f"{LABELS[detector]}: {number}"
    found = [text[f.start : f.end] for f in scan_text(text, detectors=[detector])]
    assert found == ([number] if allowed else [])


def _decoys(rows: int, width: int, seed: int) -> list[str]:
    """Numbers of `width` digits that the structure rules out before any check digit is computed."""
    import random

    rng = random.Random(seed)
    return ["9" + "".join(rng.choice("0123456789") for _ in range(width - 1)) for _ in range(rows)]


@pytest.mark.parametrize(("detector", "header", "width", "value"), [
    ("cn_uscc", "统一社会信用代码", 18, "91110108MA1832369X"),
    ("us_aba_routing", "Routing Number", 9, "021000021"),
])
def test_structure_keeps_the_candidate_cap_for_real_values(detector: str, header: str, width: int,
                                                           value: str) -> None:
    """A tall export whose other column holds thousands of numbers of the same length (invoice or
    ticket numbers) and whose typed column is filled only at the bottom: the decoys never become
    candidates (their first digits are ruled out), so the values below them are still reached."""
    rows = [f"{decoy},{value if i >= 2990 else ''}" for i, decoy in enumerate(_decoys(3000, width, 1))]
    text = f"Ticket,{header}\n" + "\n".join(rows) + "\n"
    result = scanner_for([detector]).scan_report(text)
    assert [f.level for f in result.findings] == ["medium" if detector == "us_aba_routing" else "high"] * 10
    assert result.truncated == ()


@pytest.mark.parametrize("text", [
    "Name,Invoice No\nWang,133672011142687262\n",
    "姓名,发票号码\n王伟,713497040320214712\n",
    "invoice no. 133672011142687262 paid",
    "订单号：133672011142687262",
])
def test_invoice_numbers_that_pass_the_uscc_checks_stay_low(text: str) -> None:
    """One 18-digit number in a few hundred passes both USCC checks by chance; under an invoice or
    order label it is reported at low confidence only, which default policies do not act on."""
    assert [f.level for f in scan_text(text, detectors=["cn_uscc"])] == ["low"]


def test_uscc_on_an_invoice_is_named_by_its_taxpayer_label() -> None:
    """A VAT invoice labels the buyer's and seller's codes 纳税人识别号 (taxpayer number), and its
    own number 发票号码: the codes are named, the word "invoice" alone lowers nothing."""
    text = "发票号码：24112000000012345678\n购买方 纳税人识别号：91110108MA1832369X"
    assert [f.level for f in scan_text(text, detectors=["cn_uscc"])] == ["high"]
    assert [f.level for f in scan_text("Invoice: 91110108MA1832369X", detectors=["cn_uscc"])] == ["medium"]
