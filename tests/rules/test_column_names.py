"""Column names the four short numeric formats are known by in table headers (`Detector.column_names`
and their context words), and how a header cell is reduced to the name it gives."""

from __future__ import annotations

import pytest

from rules.catalog import BUILTIN_DETECTORS
from rules.context import column_label
from rules.detectors import scan_text

ROUTING = "021000021"  # 3-7-1 check digit, Federal Reserve district 02
AADHAAR = "234123412346"  # Verhoeff
NHS = "450 557 7104"  # mod 11, England's 4xx range
SIN = "146 454 285"  # Luhn


def table(header: str, value: str, sep: str = ",") -> str:
    """A three-column table whose middle column, headed `header`, holds `value` (after 30 rows)."""
    rows = "".join(f"Ann {i}{sep}{sep}x\n" for i in range(30))
    return f"Name{sep}{header}{sep}Date\n{rows}Bob{sep}{value}{sep}2025-02-01\n"


def levels(text: str, detector: str) -> list[str]:
    return [f.level for f in scan_text(text, detectors=[detector])]


# (header, detector, value, level of the value's finding under that header; None: not reported)
HEADERS = [
    ("RTN", "us_aba_routing", ROUTING, "medium"),
    ("RTN #", "us_aba_routing", ROUTING, "medium"),
    ("ABA#", "us_aba_routing", ROUTING, "medium"),
    ("Routing Transit No.", "us_aba_routing", ROUTING, "medium"),
    ("路由号码", "us_aba_routing", ROUTING, "medium"),
    ("银行路由号", "us_aba_routing", ROUTING, "medium"),
    ("Return RTN date", "us_aba_routing", ROUTING, "low"),  # an abbreviation inside a longer name
    ("Customer No", "us_aba_routing", ROUTING, "low"),
    ("UID", "in_aadhaar", AADHAAR, "high"),
    ("UID No.", "in_aadhaar", AADHAAR, "high"),
    ("uid_number", "in_aadhaar", AADHAAR, "high"),
    ("UIDAI", "in_aadhaar", AADHAAR, "high"),
    ("Aadhaar No", "in_aadhaar", AADHAAR, "high"),
    ("阿达尔号", "in_aadhaar", AADHAAR, "high"),
    ("印度身份证号", "in_aadhaar", AADHAAR, "high"),
    ("Aadhaar号码", "in_aadhaar", AADHAAR, "high"),
    ("User UID", "in_aadhaar", AADHAAR, "low"),  # a user id column, not the Aadhaar's name
    ("session_uid", "in_aadhaar", AADHAAR, "low"),
    ("SIN", "ca_sin", SIN, "medium"),
    ("NAS", "ca_sin", SIN, "medium"),
    ("N° NAS", "ca_sin", SIN, "medium"),
    ("Numéro d'assurance sociale", "ca_sin", SIN, "medium"),
    ("社会保险号", "ca_sin", SIN, "medium"),
    ("加拿大社会保险号", "ca_sin", SIN, "medium"),
    ("NAS share", "ca_sin", SIN, None),  # network storage, not a SIN
    ("NHS No", "uk_nhs", NHS, "medium"),
    ("NHS number", "uk_nhs", NHS, "medium"),
    ("CHI", "uk_nhs", NHS, "medium"),
    ("CHI No.", "uk_nhs", NHS, "medium"),
    ("NHS号码", "uk_nhs", NHS, "medium"),
    ("英国医保号", "uk_nhs", NHS, "medium"),
    ("国民保健号", "uk_nhs", NHS, "medium"),
    ("Chi-square", "uk_nhs", NHS, None),
]


@pytest.mark.parametrize(("header", "detector", "value", "expected"), HEADERS, ids=[h[0] for h in HEADERS])
@pytest.mark.parametrize("sep", [",", "\t"])
def test_header_names_the_column(header: str, detector: str, value: str, expected: str | None, sep: str) -> None:
    assert levels(table(header, value, sep), detector) == ([expected] if expected else [])


# Header-only names are no context words in running text: "RTN", "UID", "NAS", "CHI" mean other things.
PROSE = [
    (f"rtn {ROUTING} days", "us_aba_routing", ["low"]),
    (f"请汇至路由号 {ROUTING}", "us_aba_routing", ["medium"]),
    (f"uid {AADHAAR}", "in_aadhaar", ["low"]),
    (f"阿达尔号 {AADHAAR}", "in_aadhaar", ["high"]),
    (f"nas {SIN}", "ca_sin", []),
    (f"numéro d'assurance sociale {SIN}", "ca_sin", ["medium"]),
    (f"chi {NHS}", "uk_nhs", []),
    (f"CHI number {NHS}", "uk_nhs", ["medium"]),
    (f"英国医保号 {NHS}", "uk_nhs", ["medium"]),
]


@pytest.mark.parametrize(("text", "detector", "expected"), PROSE, ids=[p[0] for p in PROSE])
def test_header_only_names_do_not_count_in_prose(text: str, detector: str, expected: list[str]) -> None:
    assert levels(text, detector) == expected


def test_header_only_name_in_a_neighbouring_column_or_row_does_not_count() -> None:
    assert levels(f"RTN,ticket\nx,{ROUTING}\n", "us_aba_routing") == ["low"]
    assert levels(f"name,note\nBob,RTN {ROUTING}\n", "us_aba_routing") == ["low"]  # not a whole cell


@pytest.mark.parametrize(("header", "label"), [
    ("rtn", "rtn"), ("rtn #", "rtn"), ("uid no.", "uid"), ("uid_number", "uid"), ("no. nas", "nas"),
    ("n° nas", "nas"), ("chi-no", "chi"), ("user uid", "user uid"), ("no", "no"), ("nhs号码", "nhs"),
    ("阿达尔号", "阿达尔"), ("号", "号"), ("  sin  no ", "sin"),
])
def test_column_label(header: str, label: str) -> None:
    assert column_label(header) == label


def test_column_names_are_explicit_header_only_words() -> None:
    with_names = {d.id: d.column_names for d in BUILTIN_DETECTORS if d.column_names}
    assert with_names == {"us_aba_routing": ("rtn",), "in_aadhaar": ("uid",), "ca_sin": ("nas",), "uk_nhs": ("chi",)}
    for detector in BUILTIN_DETECTORS:
        for name in detector.column_names:
            assert name == column_label(name) and name not in detector.context
