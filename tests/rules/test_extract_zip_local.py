"""Zips without their central directory (`rules/extract/zip_local.py`): the first volumes of split
zips, written by Info-ZIP's `zip -s` and 7-Zip's `-v` (Debian `zip`, `7zip`), and zips cut short."""

from __future__ import annotations

import io
import random
import subprocess
import zipfile
from pathlib import Path

import pytest

from rules.extract import extract
from rules.extract.sniff import sniff
from tests.fixtures.realparts import require_binary
from tests.rules import samples

CARD = "4111 1111 1111 1111"
RID = "11010519491231002X"


def _rows(seed: int, count: int) -> bytes:
    rng = random.Random(seed)
    return "".join(f"{n},{rng.randint(10**5, 10**6)},customer {rng.random():.6f}\n" for n in range(count)).encode()


FILES = {"a/customers.csv": f"name,card\nAda,{CARD}\n".encode() + _rows(1, 3000),
         "b/notes.txt": f"resident {RID}\n".encode() + _rows(2, 3000), "c/tail.csv": _rows(3, 3000)}


def _zipped(method: int, **options: object) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method, **options) as archive:  # type: ignore[arg-type]
        for name, content in FILES.items():
            archive.writestr(name, content)
    return out.getvalue()


def _written(folder: Path) -> Path:
    """`FILES` written into `folder`, for the archivers to pack."""
    for name, content in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return folder


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_zip_cut_short_gives_what_it_holds(method: int) -> None:
    whole = _zipped(method)
    cut = whole[: whole.index(b"c/tail.csv") + 4000]  # into the third file's data
    result = extract(cut, "download.zip")
    assert result.status == "unscannable"
    assert "2 file(s) read from their local headers" in (result.reason or "") or \
        "3 file(s) read from their local headers" in (result.reason or "")
    assert CARD in result.text and RID in result.text
    assert [p.path for p in result.parts if p.status == "ok"][:2] == ["download.zip/a/customers.csv",
                                                                      "download.zip/b/notes.txt"]


def test_a_zip_written_to_a_stream_is_read_through_its_data_descriptors() -> None:
    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, chunk: bytes) -> int:  # type: ignore[override]
            self.data += chunk
            return len(chunk)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:  # type: ignore[arg-type]
        for name, content in FILES.items():
            archive.writestr(zipfile.ZipInfo(name), content, zipfile.ZIP_DEFLATED)
    data = bytes(sink.data)
    assert data[6] & 0x08  # sizes in a data descriptor
    result = extract(data[: data.index(b"PK\x01\x02")], "stream.zip")  # its directory cut off
    assert "3 file(s) read from their local headers" in (result.reason or "")
    assert result.text.count(CARD) == 1 and RID in result.text


def test_the_first_volume_of_a_split_zip_is_read(tmp_path: Path) -> None:
    tool = require_binary("zip", "zip")
    source = _written(tmp_path / "src")
    subprocess.run([tool, "-q", "-r", "-s", "64k", str(tmp_path / "split.zip"), "."], cwd=source, check=True)
    first = (tmp_path / "split.z01").read_bytes()
    assert first.startswith(b"PK\x07\x08PK\x03\x04") and sniff(first, "split.z01") == "zip"
    result = extract(first, "split.z01")
    assert result.status == "unscannable" and "read from their local headers" in (result.reason or "")
    assert CARD in result.text


def test_the_first_volume_of_a_7zip_split_zip_is_read(tmp_path: Path) -> None:
    tool = require_binary("7zz", "7zip")
    source = _written(tmp_path / "src")
    subprocess.run([tool, "a", "-bd", "-tzip", "-v48k", str(tmp_path / "parts.zip"), "."], cwd=source, check=True,
                   capture_output=True)
    first = (tmp_path / "parts.zip.001").read_bytes()
    result = extract(first, "parts.zip.001")
    assert result.status == "unscannable" and CARD in result.text


def test_an_encrypted_entry_is_encrypted_and_nothing_is_lost() -> None:
    data = bytearray(_zipped(zipfile.ZIP_DEFLATED))
    second = data.index(b"PK\x03\x04", 4)
    data[second + 6] |= 1  # the second entry's "encrypted" flag
    result = extract(bytes(data[: data.index(b"PK\x01\x02")]), "locked.zip")
    assert result.status == "encrypted" and CARD in result.text


def test_a_bomb_without_a_directory_stops_at_the_limit() -> None:
    from rules.extract import Limits

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", bytes(64 << 20))
    data = out.getvalue()
    result = extract(data[: data.index(b"PK\x01\x02")], "bomb.zip", limits=Limits(max_expanded_bytes=8 << 20))
    assert result.status == "unscannable" and "bomb" in (result.reason or "")


def test_damaged_zips_without_a_directory_never_raise() -> None:
    cut = _zipped(zipfile.ZIP_DEFLATED)
    cut = cut[: cut.index(b"PK\x01\x02")]
    for copy in samples.damaged(cut, "zip-local", 300, most_flips=6, cut_chance=0.3, shortest=30):
        assert extract(copy, "x.zip").status in ("ok", "unscannable", "encrypted")


@pytest.mark.parametrize(("suffix", "name"), [("gz", "gzip"), ("bz2", "bzip2"), ("xz", "xz"), ("zst", "zstd")])
def test_a_compressed_file_cut_short_gives_what_it_holds(suffix: str, name: str) -> None:
    import bz2
    import gzip
    import lzma

    import zstandard

    rows = f"name,card\nAda,{CARD}\n".encode() + _rows(4, 60000)
    packers = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress,
               "zst": zstandard.ZstdCompressor().compress}
    packed = packers[suffix](rows)
    result = extract(packed[: len(packed) // 2], f"export.csv.{suffix}")
    assert result.status == "unscannable"
    assert f"truncated {name} stream, read as far as it goes" in (result.reason or "")
    assert CARD in result.text and [p.path for p in result.parts if p.status == "ok"] == ["export.csv"]


@pytest.mark.parametrize("packing", ["tar", "tar.gz"])
def test_a_tar_cut_short_gives_its_last_file_as_far_as_it_goes(packing: str) -> None:
    import gzip

    whole = samples.tar_of({"a/customers.csv": FILES["a/customers.csv"], "b/notes.txt": FILES["b/notes.txt"]})
    packed = gzip.compress(whole) if packing == "tar.gz" else whole
    result = extract(packed[: int(len(packed) * 0.8)], f"backup.{packing}")
    assert result.status == "unscannable" and CARD in result.text
    assert "tar cut short in b/notes.txt" in " ".join(p.reason or "" for p in result.parts)
    assert RID in result.text  # the cut file's first line


# Later volumes of split zips, and split or cut 7z archives

def _many(folder: Path, count: int = 12) -> dict[str, bytes]:
    """`count` CSV files, each opening with a line of its own, written into `folder`."""
    files = {f"part{k:02d}.csv": f"marker-{k:02d},{CARD}\n".encode() + _rows(10 + k, 4000) for k in range(count)}
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return files


def _whole_headers(volumes: list[Path], files: dict[str, bytes]) -> set[str]:
    """The entries whose local header (and name) lies wholly in one volume, from the volumes put
    back together."""
    whole = b"".join(v.read_bytes() for v in volumes)
    bounds = [0]
    for volume in volumes:
        bounds.append(bounds[-1] + volume.stat().st_size)
    expected = set()
    for name in files:
        at = whole.rfind(b"PK\x03\x04", 0, whole.index(name.encode()))
        if any(start <= at and at + 30 + len(name) <= end for start, end in zip(bounds, bounds[1:], strict=False)):
            expected.add(name)
    return expected


def _found_alone(volumes: list[Path], files: dict[str, bytes]) -> set[str]:
    """The entries whose first line is found, each volume read alone (each stays unscannable)."""
    found = set()
    for volume in volumes:
        result = extract(volume.read_bytes(), volume.name)
        assert result.status == "unscannable"
        found |= {name for name in files if f"marker-{name[4:6]}," in result.text}
    return found


@pytest.mark.parametrize("writer", ["zip -s", "7zz -tzip -v"])
def test_every_volume_of_a_split_zip_gives_the_entries_starting_in_it(writer: str, tmp_path: Path) -> None:
    """Each volume read alone, as an agent sees them copied one by one: every entry whose local
    header lies wholly in one volume is found there (its first line at least)."""
    files = _many(tmp_path / "src")
    if writer == "zip -s":
        subprocess.run([require_binary("zip", "zip"), "-q", "-s", "64k", str(tmp_path / "set.zip"), *files],
                       cwd=tmp_path / "src", check=True)
        volumes = sorted(tmp_path.glob("set.z[0-9]*")) + [tmp_path / "set.zip"]
    else:
        subprocess.run([require_binary("7zz", "7zip"), "a", "-bd", "-tzip", "-v64k", str(tmp_path / "set.zip"), *files],
                       cwd=tmp_path / "src", check=True, capture_output=True)
        volumes = sorted(tmp_path.glob("set.zip.[0-9]*"))
    assert len(volumes) >= 4
    expected = _whole_headers(volumes, files)
    assert len(expected) >= len(files) - 2
    assert _found_alone(volumes, files) >= expected
    later = extract(volumes[2].read_bytes(), volumes[2].name)
    assert "a later volume of a split zip archive" in (later.reason or "") and CARD in later.text


def test_a_file_merely_named_like_a_volume_is_named() -> None:
    result = extract(random.Random(3).randbytes(5000), "photos.z03")
    assert result.status == "unscannable" and "no entry starts in it" in (result.reason or "")


@pytest.mark.parametrize("method", ["LZMA2", "LZMA"])
def test_the_first_part_of_a_split_7z_gives_the_start_of_its_files(method: str, tmp_path: Path) -> None:
    files = _many(tmp_path / "src", 4)
    subprocess.run([require_binary("7zz", "7zip"), "a", "-bd", f"-m0={method}", "-v16k", str(tmp_path / "set.7z"),
                    *files], cwd=tmp_path / "src", check=True, capture_output=True)
    first, second = (tmp_path / "set.7z.001").read_bytes(), (tmp_path / "set.7z.002").read_bytes()
    result = extract(first, "set.7z.001")
    assert result.status == "unscannable" and "the start of its packed files decoded" in (result.reason or "")
    assert "marker-00," in result.text and CARD in result.text
    assert [p.path for p in result.parts if p.status == "ok"] == ["set.7z.001/start of the packed files"]
    later = extract(second, "set.7z.002")
    assert later.status == "unscannable" and "part 2 of a split 7z archive" in (later.reason or "")


@pytest.mark.parametrize("options", [["-m0=PPMd"], ["-pSecret1"]], ids=["ppmd", "password"])
def test_a_split_7z_whose_start_does_not_decode_alone_is_named(options: list[str], tmp_path: Path) -> None:
    files = _many(tmp_path / "src", 4)
    subprocess.run([require_binary("7zz", "7zip"), "a", "-bd", *options, "-v16k", str(tmp_path / "set.7z"), *files],
                   cwd=tmp_path / "src", check=True, capture_output=True)
    result = extract((tmp_path / "set.7z.001").read_bytes(), "set.7z.001")
    assert result.status == "unscannable" and "does not decode without it" in (result.reason or "")
    assert "marker-00" not in result.text


def test_a_7z_cut_short_gives_the_start_of_its_files(tmp_path: Path) -> None:
    files = _many(tmp_path / "src", 4)
    subprocess.run([require_binary("7zz", "7zip"), "a", "-bd", str(tmp_path / "all.7z"), *files],
                   cwd=tmp_path / "src", check=True, capture_output=True)
    whole = (tmp_path / "all.7z").read_bytes()
    assert extract(whole, "all.7z").status == "ok"
    result = extract(whole[: len(whole) // 2], "download.7z")
    assert result.status == "unscannable" and "marker-00," in result.text and "marker-01," in result.text


def test_a_zip_cut_into_pieces_by_split_gives_each_piece_s_entries(tmp_path: Path) -> None:
    """`split -b 60k set.zip set.zip.` makes set.zip.aa (a zip cut short), .ab, .ac...: pieces
    named as `split` names them are read as volumes."""
    files = _many(tmp_path / "src", 6)
    subprocess.run([require_binary("zip", "zip"), "-q", str(tmp_path / "set.zip"), *files], cwd=tmp_path / "src",
                   check=True)
    subprocess.run(["split", "-b", "60k", "set.zip", "set.zip."], cwd=tmp_path, check=True)
    pieces = sorted(tmp_path.glob("set.zip.a?"))
    assert [p.name for p in pieces[:3]] == ["set.zip.aa", "set.zip.ab", "set.zip.ac"]
    expected = _whole_headers(pieces, files)
    assert len(expected) >= len(files) - 1 and _found_alone(pieces, files) >= expected
    assert "a later volume of a split zip archive" in (extract(pieces[1].read_bytes(), "set.zip.ab").reason or "")
