"""Document fingerprints and exact data match with edited copies."""

from __future__ import annotations

import random

import pytest

from rules.edm import EdmError, EdmIndex, build_edm_index
from rules.extract import extract
from rules.fingerprint import FingerprintIndex
from tests.rules import samples

SALT = bytes(range(16))


def _document(seed: int) -> list[str]:
    rng = random.Random(seed)
    words = ["revenue", "margin", "pipeline", "launch", "phoenix", "supplier", "contract", "forecast", "region", "board", "risk", "hiring"]
    paragraphs = [" ".join(rng.choice(words) for _ in range(60)) + "." for _ in range(20)]
    paragraphs.append("凤凰计划的核心算法采用了新的压缩方法，预计明年第二季度上线，所有数据必须严格保密，不得对外透露任何细节。")
    return paragraphs


@pytest.fixture(scope="module")
def index() -> FingerprintIndex:
    paragraphs = _document(1)
    data = samples.docx(paragraphs)
    index = FingerprintIndex(SALT).add("plan", "plan.docx", data, extract(data, "plan.docx").text)
    other = _document(2)
    return index.add("other", "other.docx", b"other", "\n".join(other))


def test_exact_copy_by_bytes_and_by_text(index: FingerprintIndex) -> None:
    data = samples.docx(_document(1))
    assert index.match(extract(data, "x.docx").text, data=data)[0].exact
    reformatted = "  ".join(_document(1)).upper()  # one paragraph, upper case, extra spaces
    best = index.match(reformatted)[0]
    assert best.doc_id == "plan" and best.exact


def test_other_file_type_still_matches(index: FingerprintIndex) -> None:
    pdf = samples.pdf([p[:200] for p in _document(1)[:8]])
    matches = index.match(extract(pdf, "x.pdf").text)
    assert matches and matches[0].doc_id == "plan"


def test_paragraph_pasted_into_an_email(index: FingerprintIndex) -> None:
    paragraph = _document(1)[5]
    mail = samples.eml(f"Hi Bob,\n\nas discussed:\n\n{paragraph}\n\nRegards, Eve", {})
    match = index.match(extract(mail, "m.eml").text)[0]
    assert match.doc_id == "plan" and not match.exact
    assert 0.02 < match.overlap < 0.2 and match.containment > 0.5


def test_edited_copy_reports_partial_overlap(index: FingerprintIndex) -> None:
    paragraphs = _document(1)
    edited = paragraphs[:10] + ["A completely new paragraph about something else entirely."] * 3
    match = index.match("\n".join(edited))[0]
    assert match.doc_id == "plan" and 0.3 < match.overlap < 0.7


def test_chinese_paragraph_matches(index: FingerprintIndex) -> None:
    matches = index.match("转发：凤凰计划的核心算法采用了新的压缩方法，预计明年第二季度上线。请查收")
    assert {m.doc_id for m in matches} == {"plan", "other"}  # both documents end with this sentence
    assert all(m.containment > 0.8 for m in matches)


def test_unrelated_text_does_not_match(index: FingerprintIndex) -> None:
    assert index.match(" ".join(_document(99))) == []
    assert index.match("") == []


def test_findings_and_round_trip(index: FingerprintIndex) -> None:
    finding = index.findings(_document(1)[3])[0]
    assert finding.detector == "fingerprint:plan" and "plan.docx" in finding.preview
    assert finding.basis == ("shared passages",)
    assert FingerprintIndex.from_json(index.to_json()) == index
    assert [d.doc_id for d in index.remove("plan").documents] == ["other"]


CUSTOMERS = """name,phone,email,id_number,city
张三,138-1234-5678,zhang.san@example.com,11010519491231002X,北京
John Smith,+1 415 555 0100,john.smith@acme.com,123-45-6789,San Francisco
李四,13900001111,lisi@example.cn,440305199001011234,深圳
"""


@pytest.fixture(scope="module")
def edm() -> EdmIndex:
    return build_edm_index(CUSTOMERS, salt=SALT, min_fields=2, proximity=200)


def test_edm_stores_no_value_in_clear(edm: EdmIndex) -> None:
    stored = edm.to_json()
    for value in ("张三", "13812345678", "138-1234-5678", "zhang.san", "John", "Smith", "11010519491231002X", "北京"):
        assert value not in stored and value.lower() not in stored


def test_edm_finds_two_fields_of_one_record_reformatted(edm: EdmIndex) -> None:
    matches = edm.match("客户张三，电话 138 1234 5678，已核实。")
    assert [(m.record, m.fields) for m in matches] == [(0, ("name", "phone"))]
    english = edm.match("Ticket from JOHN SMITH <John.Smith@acme.com>")
    assert [(m.record, m.fields) for m in english] == [(1, ("name", "email"))]


def test_edm_needs_enough_fields_near_each_other(edm: EdmIndex) -> None:
    assert edm.match("张三 went home") == []
    far = "张三" + " filler" * 100 + " 13812345678"
    assert edm.match(far) == []
    mixed = edm.match("张三 and 13900001111")  # fields of two different records
    assert mixed == []


def test_edm_reports_more_fields_with_more_confidence(edm: EdmIndex) -> None:
    two = edm.findings("张三 13812345678")[0]
    four = edm.findings("张三 13812345678 zhang.san@example.com 北京")[0]
    assert four.confidence > two.confidence and "record #1" in four.preview and four.basis == ("record fields",)


def test_edm_round_trip_and_bad_csv(edm: EdmIndex) -> None:
    assert EdmIndex.from_json(edm.to_json()) == edm
    with pytest.raises(EdmError):
        build_edm_index("", salt=SALT)
    with pytest.raises(EdmError):
        build_edm_index("a,b\n", salt=SALT)
    with pytest.raises(EdmError):
        build_edm_index(CUSTOMERS, salt=SALT, columns=["nope"])
