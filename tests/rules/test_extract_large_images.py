"""Disc and disk images above the input limit are read through a memory map (`extract_path`);
other large files are not read. The limits are made small here so that the images can be too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rules.extract import Limits, extract, extract_path
from tests.fixtures.realparts import require_binary

SSN = "078-05-1120"
SMALL = Limits(max_input_bytes=1 << 20, max_image_bytes=16 << 20)


def iso(tmp_path: Path) -> Path:
    genisoimage = require_binary("genisoimage", "genisoimage")
    source = tmp_path / "src"
    source.mkdir()
    (source / "payroll.txt").write_text(f"SSN {SSN}\n")
    (source / "photos.bin").write_bytes(bytes(3 << 20))  # makes the image 3 MB, over the 1 MB input limit
    image = tmp_path / "backup.iso"
    subprocess.run([genisoimage, "-quiet", "-J", "-R", "-o", str(image), str(source)], check=True)
    return image


def test_an_image_over_the_input_limit_is_read_through_a_map(tmp_path: Path) -> None:
    image = iso(tmp_path)
    assert image.stat().st_size > SMALL.max_input_bytes
    assert "above the limit" in (extract(image.read_bytes(), "backup.iso", limits=SMALL).reason or "")
    result = extract_path(str(image), limits=SMALL)
    assert SSN in result.text and f"{image}/payroll.txt" in {p.path for p in result.parts}
    assert result.file_type == "disc"


def test_a_virtual_disk_over_the_input_limit_too(tmp_path: Path) -> None:
    from tests.rules.test_extract_disk import converted, ntfs_volume, partitioned

    disk = partitioned(tmp_path, ntfs_volume(tmp_path, streams=False), "gpt")
    vhd = tmp_path / "disk.vhd"
    vhd.write_bytes(converted(tmp_path, disk, "vpc"))
    result = extract_path(str(vhd), limits=Limits(max_input_bytes=1 << 20, max_image_bytes=64 << 20))
    assert result.status == "ok", result.reason
    assert SSN in result.text


def test_an_outlook_data_file_over_the_input_limit_too(tmp_path: Path) -> None:
    from tests.rules.pst_pack import Attachment, Folder, Message, pst_bytes

    scans = [Attachment(f"scan{n}.bin", data=bytes(300_000)) for n in range(5)]  # 1.5 MB, over the 1 MB limit
    pst = tmp_path / "archive.pst"
    pst.write_bytes(pst_bytes([Folder("Inbox", [Message("payroll", body=f"SSN {SSN}", attachments=scans)])]))
    assert pst.stat().st_size > SMALL.max_input_bytes
    result = extract_path(str(pst), limits=SMALL)
    assert SSN in result.text and result.file_type == "pst"


def test_other_large_files_and_larger_images_are_not_read(tmp_path: Path) -> None:
    big = tmp_path / "notes.txt"
    big.write_bytes(f"ssn {SSN}\n".encode() * 200_000)
    result = extract_path(str(big), limits=SMALL)
    assert result.status == "unscannable" and "above the limit of 1048576" in (result.reason or "") and not result.text
    image = iso(tmp_path)
    result = extract_path(str(image), limits=Limits(max_input_bytes=1 << 20, max_image_bytes=2 << 20))
    assert result.status == "unscannable" and "above the limit of 2097152" in (result.reason or "")


def test_the_cli_reads_a_large_image(tmp_path: Path) -> None:
    image = iso(tmp_path)
    done = subprocess.run([sys.executable, "-m", "leakguard.cli", "rules", "scan", "--format", "jsonl", "--progress",
                           "never", "--max-bytes", str(1 << 20), str(image)], capture_output=True, text=True, timeout=120)
    assert '"detector": "us_ssn"' in done.stdout and '"member": "payroll.txt"' in done.stdout, done.stderr
    capped = subprocess.run([sys.executable, "-m", "leakguard.cli", "rules", "scan", "--format", "jsonl", "--progress",
                             "never", "--max-bytes", str(1 << 20), "--max-image-bytes", str(2 << 20), str(image)],
                            capture_output=True, text=True, timeout=120)
    assert "us_ssn" not in capped.stdout and "above the limit of 2097152" in capped.stderr


def test_a_onenote_section_over_the_input_limit_too(tmp_path: Path) -> None:
    """A notebook section with a recording inserted: read through the map, its files taken out."""
    from tests.rules.one_pack import Embedded, Page, one_bytes

    section = tmp_path / "Meetings.one"
    section.write_bytes(one_bytes([Page("Board", [f"SSN {SSN}"], files=[
        Embedded("recording.bin", os.urandom(3 << 20), ".bin"), Embedded("minutes.txt", f"ssn {SSN}\n".encode())])]))
    assert section.stat().st_size > SMALL.max_input_bytes
    result = extract_path(str(section), limits=SMALL)
    assert result.file_type == "onenote" and result.text.count(SSN) == 2


def test_parquet_and_orc_files_over_the_input_limit_too(tmp_path: Path) -> None:
    """A table of 3 MB of noise and one SSN, written by pyarrow as Parquet and as ORC."""
    import pyarrow as pa
    import pyarrow.orc as orc
    import pyarrow.parquet as pq

    table = pa.table({"note": [os.urandom(3 << 20).hex()[: 3 << 20], f"SSN {SSN}"]})
    for name, write in (("customers.parquet", pq.write_table), ("customers.orc", orc.write_table)):
        path = tmp_path / name
        write(table, str(path))
        assert path.stat().st_size > SMALL.max_input_bytes
        result = extract_path(str(path), limits=SMALL)
        assert (result.status, result.file_type) == ("ok", name.rpartition(".")[2]) and SSN in result.text, result.reason
