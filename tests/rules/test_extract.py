"""Extraction of real formats, and hostile input: bombs, truncation, encryption, deep nesting."""

from __future__ import annotations

import bz2
import gzip
import io
import itertools
import json
import lzma
import time
import zipfile
from collections.abc import Callable

import pytest

from rules.extract import Limits, extract
from tests.rules import samples

SECRET = "身份证 11010519491231002X card 4111111111111111"


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("a.txt", lambda: SECRET.encode()),
        ("a.txt", lambda: SECRET.encode("gb18030")),
        ("a.txt", lambda: SECRET.encode("utf-16")),
        ("a.csv", lambda: f"name,id\nzhang,{SECRET}\n".encode()),
        ("a.json", lambda: json.dumps({"note": SECRET}, ensure_ascii=False).encode()),
        ("a.md", lambda: f"# Title\n\n* {SECRET}\n".encode()),
        ("a.xml", lambda: f"<?xml version='1.0'?><root><item>{SECRET}</item></root>".encode()),
        ("a.html", lambda: f"<html><script>var x=1</script><p>{SECRET}</p></html>".encode()),
        ("a.docx", lambda: samples.docx(["intro", SECRET])),
        ("a.xlsx", lambda: samples.xlsx([["name", "id"], ["zhang", SECRET]])),
        ("a.pptx", lambda: samples.pptx(["title", SECRET])),
        ("a.pdf", lambda: samples.pdf(["report", "card 4111111111111111 id 11010519491231002X"])),
        ("m.eml", lambda: samples.eml("see attachment", {"x.docx": samples.docx([SECRET])})),
        ("a.zip", lambda: samples.zip_of({"dir/x.docx": samples.docx([SECRET])})),
        ("a.tar.gz", lambda: samples.tar_gz_of({"x/a.txt": SECRET.encode()})),
        ("a.txt.gz", lambda: gzip.compress(SECRET.encode())),
        ("a.tar.bz2", lambda: bz2.compress(samples.tar_of({"x/a.csv": f"id\n{SECRET}\n".encode()}))),
        ("a.tar.xz", lambda: lzma.compress(samples.tar_of({"x/a.docx": samples.docx([SECRET])}))),
        ("a.txt.bz2", lambda: bz2.compress(b"first stream\n") + bz2.compress(SECRET.encode())),  # as pbzip2 writes
        ("a.txt.xz", lambda: lzma.compress(b"first stream\n") + lzma.compress(SECRET.encode())),
        ("backup.tbz2", lambda: bz2.compress(samples.tar_of({"y.txt": SECRET.encode()}))),
        ("nested.zip", lambda: samples.zip_of({"in.zip": samples.zip_of({"in.tar.gz": samples.tar_gz_of(
            {"deep.pdf": samples.pdf(["card 4111111111111111 id 11010519491231002X"])})})})),
    ],
)
def test_formats_yield_their_text(name: str, build: object) -> None:
    result = extract(build(), name)  # type: ignore[operator]
    assert result.status == "ok", result.reason
    assert "4111111111111111" in result.text
    assert "11010519491231002X" in result.text


def test_html_hides_scripts_and_keeps_link_targets() -> None:
    text = extract(b'<p>a<a href="mailto:x@y.com">b</a></p><script>secret()</script>', "x.html").text
    assert "mailto:x@y.com" in text and "secret()" not in text


def test_parts_locate_archive_members() -> None:
    data = samples.zip_of({"a.txt": b"first", "b.txt": b"second 4111111111111111"})
    result = extract(data, "x.zip")
    part = next(p for p in result.parts if p.path == "x.zip/b.txt")
    assert result.text[part.start : part.end] == "second 4111111111111111"


def test_zip_bomb_is_unscannable_quickly() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.txt", b"\0" * (40 << 20))
    started = time.monotonic()
    result = extract(buffer.getvalue(), "bomb.zip")
    assert result.status == "unscannable"
    assert "bomb" in (result.reason or "")
    assert time.monotonic() - started < 10  # generous; the real cost is milliseconds


def test_nested_zip_bomb_and_depth_limit() -> None:
    layer = b"hello"
    for depth in range(10):
        layer = samples.zip_of({f"l{depth}.zip": layer})
    result = extract(layer, "deep.zip")
    assert result.status == "unscannable"
    assert "nested deeper" in (result.reason or "")


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress])
def test_compressed_stream_bombs_are_stopped_at_the_expansion_limit(compress: Callable[[bytes], bytes]) -> None:
    result = extract(compress(b"0" * (40 << 20)), "x.dat")
    assert result.status == "unscannable" and "bomb" in (result.reason or "")


def test_a_stream_inside_an_archive_keeps_its_inner_name() -> None:
    data = samples.zip_of({"export/customers.csv.xz": lzma.compress(f"id\n{SECRET}\n".encode())})
    result = extract(data, "x.zip")
    assert [p.path for p in result.parts] == ["x.zip/export/customers.csv"]
    assert SECRET in result.text


def test_text_that_starts_with_bzh_is_still_text() -> None:
    assert extract(b"BZh9 is how a bzip2 file starts\n", "notes.txt").text.startswith("BZh9")


def test_too_many_entries() -> None:
    data = samples.zip_of({f"f{i}.txt": b"x" for i in range(60)})
    result = extract(data, "many.zip", limits=Limits(max_entries=50))
    assert result.status == "unscannable" and "entries" in (result.reason or "")


def test_input_size_limit() -> None:
    result = extract(b"x" * 2000, "big.txt", limits=Limits(max_input_bytes=1000))
    assert result.status == "unscannable" and "limit" in (result.reason or "")


def test_time_limit_uses_the_callers_clock() -> None:
    ticks = itertools.count(0, 10)
    data = samples.zip_of({f"f{i}.txt": b"x" for i in range(5)})
    result = extract(data, "slow.zip", limits=Limits(seconds=15, clock=lambda: float(next(ticks))))
    assert result.status == "unscannable" and "time limit" in (result.reason or "")


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("bad.pdf", samples.pdf(["x"])[:60], "malformed PDF"),
        ("bad.docx", samples.docx(["x"])[:100], "corrupt"),
        ("bad.zip", b"PK\x03\x04" + b"\x00" * 40, "corrupt"),
        ("bad.gz", gzip.compress(b"hello" * 1000)[:30], "gzip"),
        ("bad.bz2", bz2.compress(b"hello" * 1000)[:30], "truncated bzip2 stream"),
        ("bad.xz", lzma.compress(b"hello" * 1000)[:40], "truncated xz stream"),
        ("bad.tar.xz", lzma.compress(b"hello")[:24] + b"\x00" * 60, "corrupt xz"),
        ("data.tar.zst", b"(\xb5/\xfd" + b"\x00" * 40, "zstd stream"),
        ("bad.xml", b"<?xml version='1.0'?><a><b></a>", "malformed XML"),
        ("image.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/png"),
        ("legacy.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "legacy"),
    ],
)
def test_malformed_files_are_unscannable_with_a_reason(name: str, data: bytes, reason: str) -> None:
    result = extract(data, name)
    assert result.status == "unscannable"
    assert reason in (result.reason or "")


def test_billion_laughs_is_refused() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            b"<l>&b;&b;&b;</l>")
    result = extract(bomb, "x.xml")
    assert result.status == "unscannable" and "forbidden XML" in (result.reason or "")


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("secret.pdf", lambda: samples.encrypted_pdf(["card 4111111111111111"])),
        ("secret.docx", lambda: samples.encrypted_docx(["card 4111111111111111"])),
        ("secret.zip", lambda: samples.mark_zip_encrypted(samples.zip_of({"a.txt": b"4111111111111111"}))),
        ("outer.zip", lambda: samples.zip_of({"in.docx": samples.encrypted_docx(["x"]), "b.txt": b"plain"})),
    ],
)
def test_encrypted_content_is_reported_as_encrypted(name: str, build: object) -> None:
    result = extract(build(), name)  # type: ignore[operator]
    assert result.status == "encrypted"
    assert "4111111111111111" not in result.text


def test_readable_members_survive_a_broken_sibling() -> None:
    data = samples.zip_of({"good.txt": b"card 4111111111111111", "bad.pdf": b"%PDF-1.4 broken"})
    result = extract(data, "mixed.zip")
    assert result.status == "unscannable"
    assert "4111111111111111" in result.text


def test_pdf_with_too_many_pages() -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(60):
        writer.add_blank_page(width=100, height=100)
    buffer = io.BytesIO()
    writer.write(buffer)
    result = extract(buffer.getvalue(), "huge.pdf", limits=Limits(max_pdf_pages=50))
    assert result.status == "unscannable" and "60 pages" in (result.reason or "")


@pytest.mark.parametrize("edits", [
    {13: 0x0A, 208: 0x83, 222: 0x2A, 294: 0xB1, 437: 0x38, 581: 0x48},  # "Declared size 680000000000 ..."
    {29: 0x92, 124: 0x48, 227: 0xAA, 259: 0xD3, 279: 0xC2, 382: 0x72, 439: 0x88, 535: 0x72},  # "loop with self reference"
])
def test_a_pdf_that_trips_pypdfs_own_limits_is_unscannable(edits: dict[int, int]) -> None:
    """Byte flips a fuzzer found: pypdf raises its LimitReachedError, which is no PdfReadError."""
    data = bytearray(samples.pdf(["report", "card 4111111111111111"]))
    for at, value in edits.items():
        data[at] = value
    result = extract(bytes(data), "damaged.pdf")
    assert result.status == "unscannable" and "LimitReachedError" in (result.reason or "")


@pytest.mark.parametrize(("name", "build"), [
    ("a.docx", lambda: samples.docx(["intro", SECRET])),
    ("a.xlsx", lambda: samples.xlsx([["name", "id"], ["zhang", SECRET]])),
    ("a.zip", lambda: samples.zip_of({"dir/x.docx": samples.docx([SECRET])})),
    ("a.tar.gz", lambda: samples.tar_gz_of({"x/a.txt": SECRET.encode()})),
    ("m.eml", lambda: samples.eml("see attachment", {"x.docx": samples.docx([SECRET])})),
])
def test_damaged_files_never_raise(name: str, build: Callable[[], bytes]) -> None:
    """Bytes flipped and runs cut anywhere (a zip member's deflate stream broken, its version
    field garbled: both once raised out of `extract`)."""
    copies = samples.damaged(build(), name, 200, most_flips=8, cut_chance=0.2)
    assert {extract(data, name).status for data in copies} <= {"ok", "unscannable", "encrypted"}


def test_a_header_the_standard_librarys_parser_trips_on_is_still_read() -> None:
    """`From: alice@` raises IndexError inside email's header parser when the header is read as
    an address (found by fuzzing): headers are taken as written instead."""
    result = extract(b"From: alice@\nSubject: =?utf-8?q?card_4111_1111_1111_1111?=\n\nbody\n", "m.eml")
    assert result.status == "ok", result.reason
    assert result.text.startswith("From: alice@\nSubject: card 4111 1111 1111 1111\n")
