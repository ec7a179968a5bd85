"""zstd streams (`.zst`, `.tar.zst`), written by the real `zstd` command."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rules.extract import Limits, extract
from rules.extract.sniff import sniff
from tests.fixtures.realparts import require_binary
from tests.rules import samples

CARD = "4111 1111 1111 1111"
CSV = f"name,card\nAda,{CARD}\n".encode()


def zstd(data: bytes, *options: str) -> bytes:
    require_binary("zstd", "zstd")
    return subprocess.run(["zstd", "-q", "-c", *options], input=data, capture_output=True, check=True, timeout=120).stdout


@pytest.mark.parametrize("options", [[], ["-19"], ["--long=27"], ["-T2", "-B65536"]])
def test_a_compressed_csv_is_read(options: list[str]) -> None:
    data = zstd(CSV * 5000, *options)
    assert sniff(data, "export.bin") == "zst"
    result = extract(data, "customers.csv.zst")
    assert result.status == "ok" and [p.path for p in result.parts] == ["customers.csv"]
    assert result.text.count(CARD) == 5000


def test_a_tar_zst_is_opened(tmp_path: Path) -> None:
    require_binary("zstd", "zstd")
    tree = tmp_path / "export"
    tree.mkdir()
    (tree / "customers.csv").write_bytes(CSV)
    archive = tmp_path / "export.tar.zst"
    subprocess.run(["tar", "--zstd", "-cf", str(archive), "-C", str(tmp_path), "export"], check=True, timeout=60)
    result = extract(archive.read_bytes(), "export.tar.zst")
    assert result.status == "ok" and "export.tar/export/customers.csv" in [p.path for p in result.parts]
    assert CARD in result.text


def test_concatenated_frames_are_all_read() -> None:
    result = extract(zstd(b"first part\n") + zstd(CSV), "two.zst")
    assert result.status == "ok" and "first part" in result.text and CARD in result.text


def test_a_cut_or_corrupt_stream_is_unscannable() -> None:
    data = zstd(CSV * 1000)
    assert "truncated zstd" in (extract(data[:-10], "cut.zst").reason or "")
    broken = data[:20] + bytes(len(data) - 20)
    assert extract(broken, "broken.zst").status == "unscannable"


def test_a_zstd_bomb_stops_at_the_expansion_limit() -> None:
    bomb = zstd(bytes(300 << 20), "-19")
    assert len(bomb) < 100_000
    result = extract(bomb, "zeros.zst", limits=Limits(max_expanded_bytes=32 << 20))
    assert result.status == "unscannable" and "decompression bomb" in (result.reason or "")


def test_damaged_copies_never_raise() -> None:
    for copy in samples.damaged(zstd(CSV * 100), "zstd", 200, most_flips=4, cut_chance=0.3):
        assert extract(copy, "fuzz.zst").status in ("ok", "unscannable")
