"""7z archives: real archives written by 7-Zip 22.01 (Debian's `7zip`, `7zz a -t7z`) from the same
four files (a CSV of card numbers, notes/readme.txt with a resident ID, a docx, an empty file)
and an empty folder, one archive per method: `plain` (-mx=9: LZMA2, solid, LZMA-encoded header),
`lzma1` (-m0=LZMA -ms=off: one folder per file), `deflate`, `bzip2`, `copy` (-m0=Copy -mhc=off:
a plain header), `bcj` (-m0=BCJ -m1=LZMA2), `delta` (-m0=Delta:4 -m1=LZMA), `ppmd` (-m0=PPMd),
`locked` (-psecret: contents encrypted, names visible), `locked_names` (-psecret -mhe=on), and
`bomb` (40 MiB of zeros in 6 KB). `deflate64` (-m0=Deflate64, one CSV) was written by 7-Zip 26.02
on 2026-12-07 for a coder that is still not read."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.detectors import scan_text
from rules.extract import extract
from tests.rules import samples

DATA = Path(__file__).parent / "data" / "sevenzip"


def archive(name: str) -> bytes:
    return (DATA / f"{name}.7z").read_bytes()


@pytest.mark.parametrize("method", ["plain", "lzma1", "deflate", "bzip2", "copy", "bcj", "delta", "ppmd"])
def test_every_supported_method_gives_every_file(method: str) -> None:
    result = extract(archive(method), f"{method}.7z")
    assert result.status == "ok", result.reason
    assert [p.path for p in result.parts] == [f"{method}.7z/customers.csv", f"{method}.7z/notes/readme.txt",
                                              f"{method}.7z/report.docx"]  # the empty file has no part
    found = [(f.detector, f.level, result.text[f.start : f.end]) for f in scan_text(result.text)]
    assert [text for d, _, text in found if d == "credit_card"] == [
        "4111 1111 1111 1111", "5500 0000 0000 0004", "4111 1111 1111 1111"]  # the CSV's two, the docx's one
    assert ("cn_resident_id", "high", "11010519491231002X") in found


def test_encrypted_contents_are_reported_with_the_names_it_shows() -> None:
    result = extract(archive("locked"), "locked.7z")
    assert result.status == "encrypted"
    assert result.reason == "locked.7z: password-protected 7z archive (customers.csv, notes/readme.txt, report.docx)"


def test_encrypted_names_are_reported_encrypted() -> None:
    result = extract(archive("locked_names"), "locked_names.7z")
    assert result.status == "encrypted" and result.reason == "locked_names.7z: password-protected 7z archive"


def test_an_unsupported_coder_is_named() -> None:
    result = extract(archive("deflate64"), "deflate64.7z")
    assert result.status == "unscannable" and "7z coder Deflate64 is not supported" in (result.reason or "")


def test_a_damaged_ppmd_stream_is_named() -> None:
    data = bytearray(archive("ppmd"))
    data[40] ^= 0x55  # inside the packed stream, which starts after the 32-byte signature header
    result = extract(bytes(data), "ppmd.7z")
    assert result.status == "unscannable" and "ppmd.7z" in (result.reason or "")


def test_a_7z_bomb_stops_at_the_expansion_limit() -> None:
    result = extract(archive("bomb"), "bomb.7z")
    assert result.status == "unscannable" and "bomb" in (result.reason or "")


def test_a_7z_inside_a_zip_is_read() -> None:
    result = extract(samples.zip_of({"backup/plain.7z": archive("plain")}), "outer.zip")
    assert result.status == "ok" and "outer.zip/backup/plain.7z/customers.csv" in [p.path for p in result.parts]


@pytest.mark.parametrize(("data", "reason"), [
    (archive("plain")[:100], "truncated 7z archive"),
    (archive("plain")[:-1] + bytes([archive("plain")[-1] ^ 0xFF]), "header checksum"),
    (b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 10, "not a 7z archive"),
])
def test_a_broken_7z_is_unscannable_with_a_reason(data: bytes, reason: str) -> None:
    result = extract(data, "broken.7z")
    assert result.status == "unscannable" and reason in (result.reason or "")


@pytest.mark.parametrize("method", ["plain", "copy", "lzma1", "bcj", "locked"])
def test_damaged_7z_archives_never_raise(method: str) -> None:
    """Bytes flipped and runs cut anywhere: always a result, never an exception."""
    copies = samples.damaged(archive(method), method, 300, most_flips=6, cut_chance=0.2, shortest=32)
    assert {extract(data, f"x.{method}.7z").status for data in copies} <= {"ok", "unscannable", "encrypted"}


def _number(n: int) -> bytes:
    """A 7z NUMBER (7zFormat.txt): leading one bits of the first byte count the bytes that follow."""
    for extra in range(8):
        if n < 1 << (7 * (extra + 1)):
            high = n >> (8 * extra)
            return bytes([(0xFF00 >> extra) & 0xFF | high]) + (n & ((1 << (8 * extra)) - 1)).to_bytes(extra, "little")
    return b"\xff" + n.to_bytes(8, "little")


def _with_header(header: bytes) -> bytes:
    import struct
    import zlib

    start = struct.pack("<QQI", 0, len(header), zlib.crc32(header))
    return b"7z\xbc\xaf\x27\x1c\x00\x04" + struct.pack("<I", zlib.crc32(start)) + start + header


@pytest.mark.parametrize(("streams", "reason"), [
    # one folder of 100 Copy coders (7-Zip stops at 64)
    (b"\x06\x00\x01\x09\x00\x00\x07\x0b\x01\x00" + _number(100) + b"\x01\x00" * 100, "7z folder of 100 coders"),
    # one folder said to hold 2^20 + 1 files
    (b"\x06\x00\x01\x09\x00\x00\x07\x0b\x01\x00\x01\x01\x00\x0c\x00\x00\x08\x0d" + _number((1 << 20) + 1),
     "lists 1048577 items"),
    # two folders said to hold 600,000 files each
    (b"\x06\x00\x02\x09\x00\x00\x00\x07\x0b\x02\x00\x01\x01\x00\x01\x01\x00\x0c\x00\x00\x00\x08\x0d"
     + _number(600_000) * 2, "more than 1048576 files"),
])
def test_a_hostile_header_is_refused_before_it_costs_memory(streams: bytes, reason: str) -> None:
    result = extract(_with_header(b"\x01\x04" + streams), "hostile.7z")
    assert result.status == "unscannable" and reason in (result.reason or "")


def test_numbers_are_written_as_7z_writes_them() -> None:
    assert [_number(n) for n in (5, 0x80, 0x4000)] == [b"\x05", b"\x80\x80", b"\xc0\x00\x40"]
