"""lzma ("alone"), lzip and lz4 streams, written by the real `lzma`, `lzip` and `lz4` commands,
alone and under tar."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from rules.extract import Limits, extract
from rules.extract.sniff import sniff
from tests.fixtures.realparts import require_binary

CARD = "4111 1111 1111 1111"
CSV = f"name,card\nAda,{CARD}\n".encode()
TOOLS = {"lzma": ("lzma", "xz-utils"), "lz": ("lzip", "lzip"), "lz4": ("lz4", "lz4"), "Z": ("compress", "ncompress")}


def compress(kind: str, data: bytes, *options: str) -> bytes:
    binary = require_binary(*TOOLS[kind])
    command = [binary, "-c", *options] if kind != "lz4" else [binary, "-c", "-q", *options]
    return subprocess.run(command, input=data, capture_output=True, check=True, timeout=120).stdout


CASES = [
    ("lzma", []), ("lzma", ["-9"]), ("lzma", ["-0"]),
    ("lz", []), ("lz", ["-9"]), ("lz", ["-0"]), ("lz", ["-b", "100000"]),  # members of 100 kB each
    ("lz4", []), ("lz4", ["-9"]), ("lz4", ["-BD"]), ("lz4", ["-B4", "--content-size"]), ("lz4", ["--no-frame-crc"]),
    ("lz4", ["-l"]),  # the legacy format
]


@pytest.mark.parametrize(("kind", "options"), CASES)
def test_a_compressed_csv_is_read(kind: str, options: list[str]) -> None:
    data = compress(kind, CSV * 20_000, *options)
    assert len(data) < len(CSV) * 20_000 // 4
    assert sniff(data, "export.bin") == kind
    result = extract(data, f"customers.csv.{kind}")
    assert result.status == "ok", result.reason
    assert [p.path for p in result.parts] == ["customers.csv"]
    assert result.text.count(CARD) == 20_000


@pytest.mark.parametrize(("kind", "flag"), [("lzma", "--lzma"), ("lz", "--lzip"), ("lz4", "--use-compress-program=lz4"), ("Z", "-Z")])
def test_a_tar_of_each_is_opened(tmp_path: Path, kind: str, flag: str) -> None:
    require_binary(*TOOLS[kind])
    tree = tmp_path / "export"
    tree.mkdir()
    (tree / "customers.csv").write_bytes(CSV)
    archive = tmp_path / f"export.tar.{kind}"
    subprocess.run(["tar", flag, "-cf", str(archive), "-C", str(tmp_path), "export"], check=True, timeout=60)
    result = extract(archive.read_bytes(), archive.name)
    assert result.status == "ok", result.reason
    assert "export.tar/export/customers.csv" in [p.path for p in result.parts] and CARD in result.text


@pytest.mark.parametrize("kind", ["lz", "lz4"])
def test_concatenated_streams_are_all_read(kind: str) -> None:
    result = extract(compress(kind, b"first part\n") + compress(kind, CSV), f"two.{kind}")
    assert result.status == "ok" and "first part" in result.text and CARD in result.text


@pytest.mark.parametrize("kind", ["lzma", "lz", "lz4"])
def test_a_cut_or_corrupt_stream_is_unscannable(kind: str) -> None:
    data = compress(kind, random.Random(5).randbytes(2000) + CSV * 1000)
    cut = extract(data[: len(data) // 2], f"cut.{kind}")
    assert cut.status == "unscannable" and ("truncated" in (cut.reason or "") or "corrupt" in (cut.reason or ""))
    broken = data[:30] + bytes(len(data) - 30)
    assert extract(broken, f"broken.{kind}").status == "unscannable"


def test_lzips_trailer_is_checked() -> None:
    data = bytearray(compress("lz", CSV * 100))
    data[-20] ^= 0xFF  # the CRC-32 of the data
    result = extract(bytes(data), "x.lz")
    assert result.status == "unscannable" and "trailer" in (result.reason or "")


@pytest.mark.parametrize("kind", ["lzma", "lz", "lz4"])
def test_a_bomb_stops_at_the_expansion_limit(kind: str) -> None:
    bomb = compress(kind, bytes(64 << 20), "-0" if kind == "lz" else "-9")  # lzip -9 takes 13 s over zeros
    assert len(bomb) < 1_000_000
    result = extract(bomb, f"zeros.{kind}", limits=Limits(max_expanded_bytes=16 << 20))
    assert result.status == "unscannable" and "decompression bomb?" in (result.reason or "")


def test_the_lzma_header_check_takes_nothing_else() -> None:
    """The "alone" format has no magic number: random bytes, other formats and text must not be
    taken for it (100,000 random headers, and of real files of other kinds)."""
    rng = random.Random(7)
    assert not any(sniff(rng.randbytes(64), "x.bin") == "lzma" for _ in range(100_000))
    for sample in Path(__file__).parent.joinpath("data").rglob("*"):
        if sample.is_file():
            assert sniff(sample.read_bytes(), sample.name) != "lzma", sample
    assert sniff(compress("lzma", b"x"), "x.bin") == "lzma"
