"""Property tests: no input crashes the scanner or the extractor, and offsets always fit."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.detectors import scan_text
from rules.extract import Limits, extract

PIECES = st.sampled_from(["4111111111111111", "11010519491231002X", "a@b.co", " ", "-", "中文", "\n", "AKIA",
                          "eyJ", "://u:p@h", "1.2.3.4", "62", "\ud800", "é",
                          # tables: delimiters, quotes, header words, short numbers (rules.tables)
                          ",", "\t", ";", "|", '"', "\r\n", "routing", "NHS number", "021000021", "450 557 7104"])


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


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(PIECES, st.text(max_size=20)), max_size=60))
def test_column_headers_never_fail(parts: list[str]) -> None:
    from rules.tables import TableIndex

    data = "".join(parts).encode("utf-8", "surrogatepass")
    index = TableIndex(data)
    for start in range(0, len(data), 7):
        header = index.header(start, min(len(data), start + 9))
        assert header is None or isinstance(header, str)
