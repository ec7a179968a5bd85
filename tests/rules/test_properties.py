"""Property tests: no input crashes the scanner or the extractor, and offsets always fit."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.detectors import scan_text
from rules.extract import Limits, extract

PIECES = st.sampled_from(["4111111111111111", "11010519491231002X", "a@b.co", " ", "-", "中文", "\n", "AKIA",
                          "eyJ", "://u:p@h", "1.2.3.4", "62", "\ud800", "é"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(PIECES, st.text(max_size=20)), max_size=40))
def test_scan_never_fails_and_offsets_fit(parts: list[str]) -> None:
    text = "".join(parts)
    for finding in scan_text(text):
        assert 0 <= finding.start < finding.end <= len(text)
        assert 0.0 <= finding.confidence <= 1.0
        assert finding.level in ("low", "medium", "high")


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["a.zip", "a.docx", "a.pdf", "a.gz", "a.eml", "a.html", "a.xml",
                                                  "a.tar", "a.xlsx", "a.bin"]))
def test_extract_never_raises(data: bytes, name: str) -> None:
    for prefix in (b"", b"PK\x03\x04", b"%PDF-1.4\n", b"\x1f\x8b", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        result = extract(prefix + data, name, limits=Limits(max_expanded_bytes=1 << 20))
        assert result.status in ("ok", "unscannable", "encrypted")
        assert (result.reason is None) == (result.status == "ok")
