"""cpio (newc, crc, odc, binary) and ar archives (GNU long names, BSD names, .deb packages),
written by GNU cpio, binutils' ar and dpkg-deb."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.extract import Limits, extract
from rules.extract.budget import DEFAULT_LIMITS, Budget, Unscannable
from rules.extract.sniff import sniff
from rules.extract.unix import ar_members, cpio_members
from tests.fixtures.realparts import require_binary

SSN, CARD = "078-05-1120", "4111 1111 1111 1111"
LONG = "quarterly_payroll_export_for_finance.csv"


def _tree(root: Path) -> Path:
    (root / "hr").mkdir(parents=True)
    (root / "hr" / "payroll.csv").write_text(f"name,ssn\nAnna,{SSN}\n")
    (root / "cards.txt").write_text(f"card {CARD}\n" * 500)
    (root / LONG).write_text("ssn 219-09-9999\n")
    (root / "empty.txt").write_text("")
    return root


@pytest.mark.parametrize("layout", ["newc", "crc", "odc", "bin"])
def test_cpio_archives_of_every_layout(tmp_path: Path, layout: str) -> None:
    binary = require_binary("cpio", "cpio")
    tree = _tree(tmp_path / "src")
    (tree / "link.csv").hardlink_to(tree / "hr" / "payroll.csv")
    names = b"\n".join(str(p.relative_to(tree)).encode() for p in sorted(tree.rglob("*")))
    data = subprocess.run([binary, "-o", "-H", layout, "--quiet"], input=names, cwd=tree, capture_output=True,
                          check=True).stdout
    assert sniff(data, "backup.bin") == "cpio"
    got = dict(cpio_members(data, Budget(DEFAULT_LIMITS, len(data)), "x.cpio"))
    assert got["cards.txt"] == f"card {CARD}\n".encode() * 500 and got[LONG] == b"ssn 219-09-9999\n"
    assert SSN.encode() in got["hr/payroll.csv"] + got["link.csv"]  # newc keeps a hard link's data with one name
    result = extract(data, "backup.cpio")
    assert result.status == "ok", result.reason
    assert SSN in result.text and CARD in result.text


def test_ar_archives_with_long_names(tmp_path: Path) -> None:
    binary = require_binary("ar", "binutils")
    tree = _tree(tmp_path / "src")
    archive = tmp_path / "lib.a"
    subprocess.run([binary, "rc", str(archive), "cards.txt", LONG, "hr/payroll.csv"], cwd=tree, check=True)
    data = archive.read_bytes()
    assert sniff(data, "x.bin") == "ar"
    got = dict(ar_members(data, Budget(DEFAULT_LIMITS, len(data)), "lib.a"))
    assert got == {"cards.txt": (tree / "cards.txt").read_bytes(), LONG: b"ssn 219-09-9999\n",
                   "payroll.csv": (tree / "hr" / "payroll.csv").read_bytes()}


def test_bsd_names_are_read() -> None:
    """BSD ar (macOS) writes `#1/LEN` and the name at the start of the member's data."""
    name, body = LONG.encode() + b"\0\0", f"ssn {SSN}\n".encode()
    member = name + body
    header = f"#1/{len(name):<13}{0:<12}{0:<6}{0:<6}{644:<8}{len(member):<10}`\n".encode()
    data = b"!<arch>\n" + header + member + b"\n" * (len(member) & 1)
    assert dict(ar_members(data, Budget(DEFAULT_LIMITS, len(data)), "x.a")) == {LONG: body}


def test_a_debian_package_is_opened_to_its_files(tmp_path: Path) -> None:
    binary = require_binary("dpkg-deb", "dpkg")
    package = tmp_path / "pkg"
    (package / "DEBIAN").mkdir(parents=True)
    (package / "DEBIAN" / "control").write_text("Package: payroll\nVersion: 1.0\nArchitecture: all\n"
                                                 "Maintainer: x <x@example.com>\nDescription: x\n")
    (package / "opt" / "payroll").mkdir(parents=True)
    (package / "opt" / "payroll" / "export.csv").write_text(f"name,ssn\nAnna,{SSN}\n")
    out = tmp_path / "payroll.deb"
    subprocess.run([binary, "-Zxz", "--build", str(package), str(out)], check=True, capture_output=True)
    result = extract(out.read_bytes(), "payroll.deb")
    assert result.status == "ok", result.reason
    paths = [p.path for p in result.parts]
    assert any(p.startswith("payroll.deb/data.tar/") and p.endswith("opt/payroll/export.csv") for p in paths), paths
    assert SSN in result.text


def test_text_that_starts_like_cpio_stays_text() -> None:
    assert sniff(b"070701,070702,070707\n" * 20, "dates.csv") == "text"
    assert sniff(b"0707070707 is a number\n", "x.txt") == "text"


def test_damaged_archives_are_named() -> None:
    cases = {
        "no trailer": b"070701" + b"0" * 104,
        "a name past the end": b"070701" + b"0" * 88 + b"00001000" + b"0" * 8,
        "a size past the end": b"070707" + b"0" * 12 + b"100644" + b"0" * 35 + b"000002" + b"77777777777" + b"a\0",
        "ar member past the end": b"!<arch>\n" + b"a.txt/".ljust(48) + b"999999".ljust(10) + b"`\n" + b"x",
        "ar without its header end": b"!<arch>\n" + b"a.txt/".ljust(58) + b"??" + b"x" * 10,
        "thin ar": b"!<thin>\n",
    }
    for label, data in cases.items():
        result = extract(data, "x.bin")
        assert result.status == "unscannable", label


def test_a_cpio_of_many_large_files_stops_at_the_budget(tmp_path: Path) -> None:
    binary = require_binary("cpio", "cpio")
    tree = tmp_path / "src"
    tree.mkdir()
    for index in range(12):
        (tree / f"f{index}.bin").write_bytes(bytes(1 << 20))
    names = b"\n".join(f"f{i}.bin".encode() for i in range(12))
    data = subprocess.run([binary, "-o", "-H", "newc", "--quiet"], input=names, cwd=tree, capture_output=True,
                          check=True).stdout
    result = extract(data, "x.cpio", limits=Limits(max_expanded_bytes=4 << 20))
    assert result.status == "unscannable"
    assert any("expands beyond" in (p.reason or "") for p in result.parts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([b"070701", b"070707", b"\xc7\x71", b"!<arch>\n"]), st.binary(max_size=300))
def test_random_archives_never_crash(head: bytes, body: bytes) -> None:
    data = head + body
    reader = ar_members if head.startswith(b"!") else cpio_members
    try:
        for _name, content in reader(data, Budget(DEFAULT_LIMITS, len(data)), "x"):
            assert isinstance(content, bytes)
    except Unscannable:
        pass
