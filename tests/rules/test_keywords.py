"""Keyword dictionaries with Aho-Corasick: Chinese without word boundaries, Latin with them."""

from __future__ import annotations

from rules.detectors import scan_text
from rules.keywords import KeywordList, KeywordMatcher

CODENAMES = KeywordList("codenames", ("Phoenix", "凤凰计划", "blue sky", "机密"))


def hits(text: str, *lists: KeywordList) -> list[tuple[str, str]]:
    return [(f.detector, text[f.start : f.end]) for f in scan_text(text, detectors=[], keywords=lists or (CODENAMES,))]


def test_chinese_keywords_match_inside_running_text() -> None:
    assert hits("关于凤凰计划的机密文件") == [("codenames", "凤凰计划"), ("codenames", "机密")]


def test_latin_keywords_need_word_boundaries_and_ignore_case() -> None:
    assert hits("Project PHOENIX starts; Blue Sky review") == [("codenames", "PHOENIX"), ("codenames", "Blue Sky")]
    assert hits("phoenixville and blue skyline") == []


def test_case_sensitive_list() -> None:
    exact = KeywordList("exact", ("ACME-X",), case_sensitive=True)
    assert hits("acme-x ACME-X", exact) == [("exact", "ACME-X")]


def test_overlapping_keywords_from_two_lists() -> None:
    other = KeywordList("other", ("计划",))
    assert hits("凤凰计划", CODENAMES, other) == [("codenames", "凤凰计划"), ("other", "计划")]


def test_keywords_found_in_a_large_text_across_chunks() -> None:
    text = "普通文本。" * 20_000 + "Phoenix" + " filler" * 5000 + "机密"
    assert [v for _, v in hits(text)] == ["Phoenix", "机密"]


def test_matcher_offsets_with_characters_that_lower_to_two() -> None:
    matcher = KeywordMatcher([KeywordList("k", ("secret",))])
    text = "İİ secret"
    assert [(s, e) for _, s, e in matcher.find(text)] == [(3, 9)]
