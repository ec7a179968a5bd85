"""Disc images: ISO 9660 with Joliet and Rock Ridge, and UDF.

Images come from the real writers on this machine: genisoimage (ISO 9660, Joliet, Rock Ridge and
its UDF 1.02 bridge), xorriso (Rock Ridge trees deeper than ISO 9660's eight levels, zisofs
compression), mkudffs (empty UDF 1.50-2.60 volumes for every kind of medium: physical, sparable
and virtual partitions, UDF 2.50's metadata partition) and the pycdlib package (UDF 2.60 with
files). Hostile images are real ones with a field changed.
"""

from __future__ import annotations

import binascii
import io
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.detectors import scan_text
from rules.extract import Limits, extract
from rules.extract.budget import DEFAULT_LIMITS, Budget, EncryptedContent, Unscannable
from rules.extract.disc import SECTOR, disc_members, is_disc_image
from rules.extract.sniff import sniff
from tests.fixtures.realparts import require_binary

SSN, CARD, RID = "078-05-1120", "4111 1111 1111 1111", "11010519491231002X"
LONG_NAME = "Kundenübersicht mit langem Namen.txt"


def _tree(root: Path) -> Path:
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "a" / "b" / "c" / "deep.txt").write_text(f"SSN {SSN}\n")
    (root / "a" / LONG_NAME).write_text(f"身份证号 {RID}\n")
    (root / "big.txt").write_text(f"card {CARD}\n" * 3000)  # many sectors
    (root / "empty.txt").write_text("")
    return root


def genisoimage(tmp_path: Path, *options: str, tree: Path | None = None) -> bytes:
    binary = require_binary("genisoimage", "genisoimage")
    out = tmp_path / "out.iso"
    subprocess.run([binary, "-quiet", *options, "-o", str(out), str(tree or _tree(tmp_path / "src"))], check=True,
                   capture_output=True)
    return out.read_bytes()


def pycdlib_image(files: dict[str, bytes], udf: str | None = "2.60") -> bytes:
    """An image pycdlib writes: ISO 9660 with Rock Ridge and Joliet and, by default, UDF 2.60;
    `files` by path with '/' separators, directories made as needed."""
    import pycdlib  # a test dependency (pyproject.toml), so never skipped
    image = pycdlib.PyCdlib()
    image.new(udf=udf, joliet=3, rock_ridge="1.09")
    folders: dict[str, str] = {}  # path -> its ISO 9660 path
    for index, (path, content) in enumerate(files.items()):
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder not in folders:
                folders[folder] = f"{folders.get('/'.join(parts[:depth - 1]), '')}/D{len(folders)}"
                image.add_directory(folders[folder], rr_name=parts[depth - 1], joliet_path="/" + folder,
                                    udf_path="/" + folder if udf else None)
        iso_dir = folders.get("/".join(parts[:-1]), "")
        image.add_fp(io.BytesIO(content), len(content), f"{iso_dir}/F{index}.TXT;1", rr_name=parts[-1],
                     joliet_path="/" + path, udf_path="/" + path if udf else None)
    out = io.BytesIO()
    image.write_fp(out)
    image.close()
    return out.getvalue()


def udf_only(image: bytes) -> bytes:
    """The image with its ISO 9660 descriptors wiped: only the UDF tree is left, as on a disc
    Windows formats ("like a USB flash drive") or a Blu-ray."""
    data = bytearray(image)
    for index in range(16):
        at = 16 * SECTOR + index * SECTOR
        if data[at + 1 : at + 6] == b"CD001":
            data[at : at + SECTOR] = bytes(SECTOR)
    assert data[16 * SECTOR + 1 : 16 * SECTOR + 6] != b"CD001"
    return bytes(data)


def members(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Each part's path below the image, with its text."""
    return {p.path.split("/", 1)[1]: result.text[p.start : p.end] for p in result.parts if "/" in p.path}


def found(text: str) -> set[str]:
    return {f.detector for f in scan_text(text)}


@pytest.mark.parametrize(("options", "long_names"), [
    ((), False), (("-J",), True), (("-R",), True), (("-J", "-R"), True), (("-udf",), True),
    (("-J", "-R", "-udf"), True),
])
def test_genisoimage_images_are_read_under_their_best_names(tmp_path: Path, options: tuple[str, ...],
                                                             long_names: bool) -> None:
    data = genisoimage(tmp_path, *options)
    assert sniff(data, "backup.bin") == "disc" and is_disc_image(data)
    result = extract(data, "backup.iso")
    assert result.status == "ok", result.reason
    texts = members(result)
    deep = "a/b/c/deep.txt" if long_names else "A/B/C/DEEP.TXT"
    assert SSN in texts[deep]
    assert texts["big.txt" if long_names else "BIG.TXT"].count(CARD) == 3000
    if long_names:
        assert RID in texts[f"a/{LONG_NAME}"]
    else:  # ISO 9660 level 1 names only: 8.3, upper case
        assert any(RID in text for name, text in texts.items() if name.startswith("A/") and len(name) <= 14)
    assert {"us_ssn", "credit_card", "cn_resident_id"} <= found(result.text)


def test_a_file_hidden_from_the_primary_tree_is_read_from_joliet(tmp_path: Path) -> None:
    """`-hide` keeps a file out of the ISO 9660 and Rock Ridge trees, where Linux looks; Windows
    shows the Joliet tree, where it is. Every tree is read."""
    tree = _tree(tmp_path / "src")
    (tree / "hidden").mkdir()
    (tree / "hidden" / "secret.txt").write_text("ssn 219-09-9999\n")
    data = genisoimage(tmp_path, "-J", "-R", "-hide", "secret.txt", tree=tree)
    result = extract(data, "harmless.iso")
    assert result.status == "ok", result.reason
    assert "219-09-9999" in members(result)["hidden/secret.txt"]


def test_every_file_is_read_once_however_many_trees_list_it(tmp_path: Path) -> None:
    result = extract(genisoimage(tmp_path, "-J", "-R", "-udf"), "x.iso")
    assert sorted(members(result)) == sorted(["a/b/c/deep.txt", f"a/{LONG_NAME}", "big.txt", "empty.txt"])


@pytest.mark.parametrize("writer", ["genisoimage", "pycdlib"])
def test_an_image_with_only_udf_is_read(tmp_path: Path, writer: str) -> None:
    if writer == "genisoimage":
        image = genisoimage(tmp_path, "-udf")
    else:
        image = pycdlib_image({"payroll/Gehaltsübersicht.txt": f"SSN {SSN}\n".encode(),
                               "big.txt": f"card {CARD}\n".encode() * 4000})
    data = udf_only(image)
    assert sniff(data, "disc.img") == "disc"
    result = extract(data, "disc.img")
    assert result.status == "ok", result.reason
    texts = members(result)
    if writer == "genisoimage":
        assert SSN in texts["a/b/c/deep.txt"] and RID in texts[f"a/{LONG_NAME}"]
    else:
        assert SSN in texts["payroll/Gehaltsübersicht.txt"] and texts["big.txt"].count(CARD) == 4000


def test_udf_names_come_first_on_a_hybrid_image() -> None:
    data = pycdlib_image({"docs/Übersicht 2026.txt": f"SSN {SSN}\n".encode()})
    result = extract(data, "x.iso")
    assert result.status == "ok", result.reason
    assert list(members(result)) == ["docs/Übersicht 2026.txt"]


@pytest.mark.parametrize(("media", "revision"), [
    ("hd", "1.02"), ("hd", "2.01"), ("dvdram", "2.01"), ("cdrw", "1.50"), ("cdrw", "2.01"), ("dvdrw", "2.01"),
    ("cdr", "1.50"), ("cdr", "2.01"), ("dvdr", "2.60"), ("bdr", "2.50"), ("bdr", "2.60"),
])
def test_mkudffs_volumes_of_every_medium_are_read(tmp_path: Path, media: str, revision: str) -> None:
    """Empty volumes as mkudffs formats them: physical, sparable (cdrw, dvdrw) and virtual
    partitions (cdr, dvdr, bdr: the table is found after the zeros of the unwritten rest),
    UDF 2.50's metadata partition (bdr). The root directory is reached through each map."""
    binary = require_binary("mkudffs", "udftools")
    path = tmp_path / "u.img"
    with path.open("wb") as out:
        out.truncate(48 << 20)
    subprocess.run([binary, f"--media-type={media}", f"--udfrev={revision}", str(path)], check=True,
                   capture_output=True)
    data = path.read_bytes()
    assert sniff(data, "u.img") == "disc"
    parts = list(disc_members(data, Budget(DEFAULT_LIMITS, len(data)), "u.img"))
    assert [name for name, _ in parts if not name.startswith("Non-Allocatable")] == []
    assert extract(data, "u.img").status == "ok"


def test_xorriso_deep_trees_and_zisofs_compression(tmp_path: Path) -> None:
    binary = require_binary("xorriso", "xorriso")
    source = tmp_path / "src"
    deep = source.joinpath(*[f"level{i}" for i in range(12)])  # ISO 9660 allows 8; Rock Ridge relocates
    deep.mkdir(parents=True)
    (deep / "bottom.txt").write_text(f"SSN {SSN}\n")
    (source / "packed.txt").write_text(f"card {CARD}\n" * 20_000)  # 500 KB: several zisofs blocks
    out = tmp_path / "x.iso"
    subprocess.run([binary, "-outdev", str(out), "-blank", "as_needed", "-joliet", "on", "-map", str(source), "/",
                    "-set_filter_r", "--zisofs", "/packed.txt", "--", "-commit"], check=True, capture_output=True)
    data = out.read_bytes()
    assert data.count(CARD.encode()) < 10  # the text really is compressed on the image
    result = extract(data, "x.iso")
    assert result.status == "ok", result.reason
    texts = members(result)
    assert SSN in texts["/".join([f"level{i}" for i in range(12)] + ["bottom.txt"])]
    assert texts["packed.txt"] == f"card {CARD}\n" * 20_000


# Hostile images


def _records(data: bytes, name: bytes) -> list[int]:
    """Byte offsets of the ISO 9660 directory records whose identifier starts with `name`."""
    offsets, start = [], 0
    while (at := data.find(name, start)) >= 0:
        record = at - 33
        if record >= 0 and 34 <= data[record] <= 255 and data[record + 32] >= len(name):
            offsets.append(record)
        start = at + 1
    return offsets


def test_a_truncated_image_gives_what_it_holds_and_says_what_is_missing(tmp_path: Path) -> None:
    data = genisoimage(tmp_path, "-R")
    extents = {name: struct.unpack_from("<I", data, _records(data, name.upper().encode())[0] + 2)[0]
               for name in ("big.txt", "deep.txt")}
    last = max(extents, key=extents.__getitem__)
    cut = extents[last] * SECTOR + 10  # inside the file recorded last
    result = extract(data[:cut], "cut.iso")
    assert result.status == "unscannable"
    assert f"{last} (lies past the image's end)" in (result.reason or "")
    texts = members(result)  # what lies before the cut is read
    assert SSN in texts["a/b/c/deep.txt"] if last == "big.txt" else CARD in texts["big.txt"]


def test_a_directory_that_contains_its_ancestor_ends(tmp_path: Path) -> None:
    data = bytearray(genisoimage(tmp_path))
    pvd = 16 * SECTOR
    root_extent = struct.unpack_from("<I", data, pvd + 156 + 2)[0]
    for record in _records(bytes(data), b"C"):  # the C directory points back at the root
        if data[record + 32] == 1 and data[record + 25] & 2:
            struct.pack_into("<I", data, record + 2, root_extent)
            struct.pack_into(">I", data, record + 6, root_extent)
    result = extract(bytes(data), "loop.iso")
    assert result.status == "ok" and found(result.text) >= {"credit_card"}


def test_many_records_over_one_big_file_are_a_bomb(tmp_path: Path) -> None:
    """Each record points into the same 1 MB extent at a different length (read once per
    distinct extent, they still add up): the expansion limit stops them."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "big.bin").write_bytes(b"x" * (1 << 20))
    for index in range(60):
        (source / f"f{index:02d}.txt").write_text("small")
    data = bytearray(genisoimage(tmp_path, tree=source))
    big = _records(bytes(data), b"BIG.BIN")[0]
    extent = struct.unpack_from("<I", data, big + 2)[0]
    for index, record in enumerate(_records(bytes(data), b"F")):
        size = (1 << 20) - index
        struct.pack_into("<I", data, record + 2, extent)
        struct.pack_into("<I", data, record + 10, size)
    result = extract(bytes(data), "bomb.iso", limits=Limits(max_expanded_bytes=16 << 20))
    assert result.status == "unscannable" and "expands beyond" in (result.reason or "")


def test_an_interleaved_file_is_named_unread(tmp_path: Path) -> None:
    data = bytearray(genisoimage(tmp_path))
    record = _records(bytes(data), b"DEEP.TXT")[0]
    data[record + 26] = 1  # file unit size
    result = extract(bytes(data), "x.iso")
    assert result.status == "unscannable" and "DEEP.TXT (recorded interleaved)" in (result.reason or "")


def test_a_damaged_udf_tree_leaves_the_iso_tree_readable(tmp_path: Path) -> None:
    data = bytearray(genisoimage(tmp_path, "-R", "-udf"))
    anchor = 256 * SECTOR
    vds = struct.unpack_from("<I", data, anchor + 20)[0] * SECTOR
    data[vds + 16] ^= 0xFF  # the first volume descriptor's CRC no longer matches
    result = extract(bytes(data), "x.iso")
    assert result.status == "unscannable" and "UDF tree" in (result.reason or "")
    assert SSN in members(result)["a/b/c/deep.txt"]


def _retag(data: bytearray, at: int) -> None:
    """Make a changed UDF descriptor valid again: its CRC, then its tag checksum."""
    length = struct.unpack_from("<H", data, at + 10)[0]
    struct.pack_into("<H", data, at + 8, binascii.crc_hqx(bytes(data[at + 16 : at + 16 + length]), 0))
    data[at + 4] = (sum(data[at : at + 4]) + sum(data[at + 5 : at + 16])) & 0xFF


def test_a_huge_sparse_udf_file_is_refused_before_it_is_made() -> None:
    """A file entry of 1 GiB whose extent is allocated but not recorded (zeros): reading it
    would make a gigabyte of zeros from a few bytes. The expansion limit refuses it first."""
    data = bytearray(udf_only(pycdlib_image({"big.txt": b"x" * 100_000, "small.txt": f"SSN {SSN}".encode()})))
    entries = [at for at in range(0, len(data) - 2048, 2048)
               if struct.unpack_from("<H", data, at)[0] in (261, 266) and struct.unpack_from("<Q", data, at + 56)[0] == 100_000]
    assert len(entries) == 1
    at = entries[0]
    struct.pack_into("<Q", data, at + 56, 0x3FFFF800)
    extended = struct.unpack_from("<H", data, at)[0] == 266
    ea_length = struct.unpack_from("<I", data, at + (208 if extended else 168))[0]
    first = at + (216 if extended else 176) + ea_length
    struct.pack_into("<I", data, first, (1 << 30) | 0x3FFFF800)  # allocated, not recorded
    _retag(data, at)
    result = extract(bytes(data), "sparse.img")
    assert result.status == "unscannable" and "expands beyond" in (result.reason or "")


def test_an_unreadable_file_is_named_even_after_an_empty_one() -> None:
    """Files with no bytes on the disc (an empty one, a broken one) are told apart by name: an
    empty file must not hide a broken one."""
    data = bytearray(udf_only(pycdlib_image({"a_empty.txt": b"", "b.txt": f"SSN {SSN}".encode() * 50})))
    entries = [at for at in range(0, len(data) - 2048, 2048)
               if struct.unpack_from("<H", data, at)[0] in (261, 266) and struct.unpack_from("<Q", data, at + 56)[0] == 750]
    assert len(entries) == 1
    data[entries[0] + 100] ^= 0xFF  # its CRC no longer matches
    result = extract(bytes(data), "x.img")
    assert result.status == "unscannable" and "b.txt (no valid UDF file entry)" in (result.reason or "")


def test_a_file_of_sectors_is_not_taken_for_an_image() -> None:
    assert not is_disc_image(bytes(64 * SECTOR))
    assert not is_disc_image(b"CD001" * 20_000)
    fake = bytearray(40 * SECTOR)
    fake[16 * SECTOR : 16 * SECTOR + 6] = b"\x01CD001"  # a descriptor header and nothing else
    result = extract(bytes(fake), "fake.iso")
    assert result.status == "unscannable" and result.file_type == "disc"


_SMALL: dict[str, bytes] = {}


def _small_image() -> bytes:
    if "image" not in _SMALL:
        _SMALL["image"] = pycdlib_image({"a/b.txt": b"card 4111 1111 1111 1111\n", "c.txt": b"x" * 5000})
    return _SMALL["image"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(16 * SECTOR, 300 * SECTOR), st.integers(0, 255)), min_size=1, max_size=12))
def test_damaged_images_never_crash_the_reader(changes: list[tuple[int, int]]) -> None:
    data = bytearray(_small_image())
    for offset, value in changes:
        data[offset % len(data)] = value
    try:
        for _name, content in disc_members(bytes(data), Budget(DEFAULT_LIMITS, len(data)), "x.iso"):
            assert isinstance(content, bytes)
    except (Unscannable, EncryptedContent):
        pass
    assert extract(bytes(data), "x.iso").status in ("ok", "unscannable", "encrypted")
