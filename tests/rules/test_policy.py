"""Policy loading: the default pack, round trips, and errors that name file, line and field."""

from __future__ import annotations

import textwrap

import pytest

from rules.model import CHANNELS
from rules.policy import PolicyError, default_policy_text, dump_policy, load_policy

MINIMAL = """\
version: 1
zone: high
rules:
  - id: cards
    when:
      detectors: [credit_card]
    action: block
"""


@pytest.mark.parametrize("zone", ["low", "medium", "high"])
def test_default_pack_loads_and_round_trips(zone: str) -> None:
    policy = load_policy(default_policy_text(zone), source=f"{zone}.yaml")
    assert policy.zone == zone and policy.rules
    assert load_policy(dump_policy(policy)) == policy


def test_default_pack_gets_stricter_with_the_zone() -> None:
    low, high = (load_policy(default_policy_text(z)) for z in ("low", "high"))
    assert high.watermark.visible_template and not low.watermark.visible_template
    assert {r.action for r in high.rules} & {"block", "quarantine"}
    assert any(r.when.extraction for r in high.rules)


def test_unknown_zone_has_no_default() -> None:
    with pytest.raises(ValueError):
        default_policy_text("secret")


def test_custom_zone_and_defaults() -> None:
    policy = load_policy(MINIMAL.replace("zone: high", "zone: lab-7"))
    rule = policy.rules[0]
    assert policy.zone == "lab-7" and rule.channels == CHANNELS and rule.severity == "medium"
    assert policy.watermark.invisible is True and policy.default_action == "allow"


def test_full_rule_parses() -> None:
    policy = load_policy(textwrap.dedent("""\
        version: 1
        zone: medium
        watermark: {invisible: false, visible_template: "{user}@{host} {date}", visible_opacity: 0.2}
        detectors:
          - id: employee_id
            pattern: 'EMP-\\d{6}'
            context: [employee]
        keywords:
          - id: codenames
            words: [Phoenix, 凤凰计划]
        rules:
          - id: r1
            channels: [file_upload, removable_media]
            when:
              detectors: [employee_id, codenames, credit_card]
              min_confidence: high
              min_count: 3
              file_types: [.docx, XLSX]
              min_size: 1KB
              max_size: 10MiB
            destinations: {allow: [corp.example.com], deny: ["*.dropbox.com"]}
            applications: {deny: [chrome]}
            usb: {allow: [{vendor: "0781", serial: ABC}], deny: [{vendor: 0x1234}]}
            action: block_with_override
            severity: critical
            message: justify
        """), source="full.yaml")
    rule = policy.rules[0]
    assert rule.when.min_confidence == 0.85 and rule.when.min_count == 3
    assert rule.when.file_types == ("docx", "xlsx")
    assert (rule.when.min_size, rule.when.max_size) == (1000, 10 * 2**20)
    assert rule.usb.deny[0].vendor == "1234" and rule.usb.allow[0].serial == "ABC"
    assert policy.detectors[0].id == "employee_id" and policy.keywords[0].words == ("Phoenix", "凤凰计划")
    assert policy.watermark.visible_opacity == 0.2 and policy.watermark.invisible is False
    assert load_policy(dump_policy(policy)) == policy


ERRORS = [
    ("version: 1\nzone: high\nrules: [\n", 4, "", "invalid YAML"),
    ("- just\n- a list\n", 1, "", "must be a YAML mapping"),
    ("version: 1\nrules: []\n", 1, "zone", "required"),
    ("version: 1\nzone: Top Secret\n", 2, "zone", "custom lower-case"),
    ("version: 2\nzone: high\n", 1, "version", "outside"),
    ("version: 1\nzone: high\nrulez: []\n", 3, "rulez", "unknown field"),
    (MINIMAL.replace("action: block", "action: nuke"), 7, "rules[0].action", "'nuke' is not one of"),
    (MINIMAL.replace("[credit_card]", "[credit_cards]"), 6, "rules[0].when.detectors", "unknown detector"),
    (MINIMAL.replace("    action: block", "    channels: [email]\n    action: block"), 7, "rules[0].channels",
     "'email' is not one of"),
    (MINIMAL.replace("      detectors: [credit_card]", "      detectors: [credit_card]\n      min_count: 0"), 7,
     "rules[0].when.min_count", "outside"),
    (MINIMAL.replace("      detectors: [credit_card]", "      detectors: [credit_card]\n      min_confidence: huge"), 7,
     "rules[0].when.min_confidence", "low, medium, high"),
    (MINIMAL.replace("      detectors: [credit_card]", "      detectors: [credit_card]\n      max_size: lots"), 7,
     "rules[0].when.max_size", "size"),
    (MINIMAL + "  - id: cards\n    action: block\n", 8, "rules[1].id", "duplicate id"),
    (MINIMAL.replace("version: 1\n", "version: 1\nwatermark: {visible_template: '{password}'}\n"), 2,
     "watermark.visible_template", "unknown placeholder"),
    (MINIMAL.replace("version: 1\n", "version: 1\nwatermark: {visible_opacity: 3}\n"), 2,
     "watermark.visible_opacity", "outside"),
    (MINIMAL.replace("version: 1\n", "version: 1\ndetectors:\n  - id: mine\n    pattern: '(a)\\1'\n"), 4,
     "detectors[0].pattern", "RE2"),
    (MINIMAL.replace("version: 1\n", "version: 1\ndetectors:\n  - id: mine\n    pattern: '(?<=x)y'\n"), 4,
     "detectors[0].pattern", "lookaround"),
    (MINIMAL.replace("version: 1\n", "version: 1\ndetectors:\n  - id: mine\n    pattern: 'a*'\n"), 4,
     "detectors[0].pattern", "empty string"),
    (MINIMAL.replace("version: 1\n", "version: 1\ndetectors:\n  - id: email\n    pattern: 'x+'\n"), 3,
     "detectors[0].id", "clashes with a built-in"),
    (MINIMAL.replace("version: 1\n", "version: 1\nkeywords:\n  - id: kw\n    words: []\n"), 4,
     "keywords[0].words", "at least one"),
    (MINIMAL.replace("    action: block", "    usb: {allow: [{vendor: sandisk}]}\n    action: block"), 7,
     "rules[0].usb.allow[0].vendor", "hex USB id"),
    ("version: 1\nzone: high\nzone: low\n", 3, "zone", "duplicate key"),
    (MINIMAL.replace("version: 1\n", "version: 1\ndetectors:\n  - id: mine\n    pattern: 'x+'\n    checksum: crc\n"), 5,
     "detectors[0].checksum", "'crc' is not one of: luhn, verhoeff, mod97"),
    (MINIMAL.replace("version: 1\n", "version: 1\ndetectors:\n  - id: mine\n    pattern: 'x+'\n    column_names: [1]\n"), 5,
     "detectors[0].column_names", "list of non-empty strings"),
]


@pytest.mark.parametrize(("text", "line", "field", "message"), ERRORS)
def test_errors_name_file_line_and_field(text: str, line: int, field: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(text, source="pack/zone.yaml")
    error = caught.value
    assert (error.source, error.line, error.field) == ("pack/zone.yaml", line, field), str(error)
    assert message in str(error)
    assert str(error).startswith(f"pack/zone.yaml:{line}: ")


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        # found by mutating the default packs (2026-12-07): each raised a bare exception
        (lambda t: t.replace("zone:", "zone: \ud800 #", 1), 5, "not Unicode text"),  # a JSON "\ud800" escape
        (lambda t: t.replace("version: 1", "version: ."), 4, "must be an integer"),  # "." was taken for a float
    ],
)
def test_text_the_parser_choked_on_is_a_policy_error(change, line: int, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError) as caught:
        load_policy(change(default_policy_text("low")), source="p.yaml")
    assert caught.value.line == line and message in str(caught.value)


def test_500_rule_pack_loads(benchmark_pack: str) -> None:
    policy = load_policy(benchmark_pack)
    assert len(policy.rules) == 500


@pytest.fixture
def benchmark_pack() -> str:
    from bench.rules_corpus import policy_pack

    return policy_pack(500)


EMPLOYEE_POLICY = textwrap.dedent("""\
    version: 1
    zone: medium
    detectors:
      - id: employee_id
        pattern: '\\bE\\d{7}\\b'
        checksum: luhn
        context: [employee]
        column_names: [Emp No., EID]
        needs_context: true
        score: 0.5
    rules:
      - id: staff
        when: {detectors: [employee_id], min_confidence: medium}
        action: block
    """)


def _employee_ids(count: int, valid: bool = True) -> list[str]:
    from rules.checksums import luhn_valid

    numbers = (f"{n:07d}" for n in range(1_234_567, 9_999_999, 7919))
    return [f"E{n}" for n in numbers if luhn_valid(n) is valid][:count]


def test_a_policy_detector_with_a_checksum_and_column_names() -> None:
    """Purview-style custom types: a check digit scheme by name, header-only column names, and
    with a checksum a column of them is named by its values (`rules.columns`)."""
    from rules.detectors import scanner_for_policy

    policy = load_policy(EMPLOYEE_POLICY, source="staff.yaml")
    detector = policy.detectors[0]
    assert detector.checksum and detector.chance == 0.1 and detector.column_names == ("emp", "eid")
    assert load_policy(dump_policy(policy)) == policy
    scanner = scanner_for_policy(policy)
    good, bad = _employee_ids(8), _employee_ids(1, valid=False)
    assert [f.level for f in scanner.scan(f"employee {good[0]}, employee {bad[0]}")] == ["medium"]
    assert [f.level for f in scanner.scan(f"Name,EID\nAnn,{good[0]}\n")] == ["medium"]  # the header names it
    assert scanner.scan(f"Name,Staff\nAnn,{good[0]}\n") == []  # needs a word: none here
    column = "Name,Staff\n" + "".join(f"Ann,{value}\n" for value in good)
    assert [f.level for f in scanner.scan(column)] == ["medium"] * 8  # eight values that all pass


@pytest.mark.parametrize(("value", "valid"), [
    ("97", False), ("98", False), ("195", True), (str(97 * 10**40 + 1), True),
    ("1" * 5000, False), ("0" * 4999 + "98", True),  # longer than Python parses as an int by default
])
def test_mod97_over_long_matches(value: str, valid: bool) -> None:
    """A policy pattern like `\\d+` can match thousands of digits: the check answers, never raises."""
    from rules.checksums import NAMED_CHECKS

    assert NAMED_CHECKS["mod97"][0](value) is valid
    assert all(isinstance(check(value), bool) for check, _ in NAMED_CHECKS.values())
