"""Files written into a text as base64 (`rules/extract/encoded.py`), encoded by the real `base64`
command (wrapped at 76, and `-w0` as PowerShell's ToBase64String writes one line)."""

from __future__ import annotations

import base64
import random
import subprocess
from pathlib import Path

import pytest

from rules.detectors import scan_text
from rules.extract import Limits, extract
from tests.fixtures.realparts import require_binary
from tests.rules import samples

SSN, CARD = "078-05-1120", "4111 1111 1111 1111"


def b64(data: bytes, *options: str) -> bytes:
    binary = require_binary("base64", "coreutils")
    return subprocess.run([binary, *options], input=data, capture_output=True, check=True).stdout


def members(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.path for p in result.parts]


FILES = {
    "docx": lambda: samples.docx([f"Employee SSN {SSN}"]),
    "xlsx": lambda: samples.xlsx([["Card"], [CARD]]),
    "zip": lambda: samples.zip_of({"export/pay.csv": f"name,ssn\nAnna,{SSN}\n".encode()
                                   + "".join(f"Person {i},{i * 7919 % 10**9:09d}\n" for i in range(40)).encode()}),
    "csv": lambda: f"name,card\nAnna,{CARD}\n".encode() * 20,
}


@pytest.mark.parametrize("wrap", [[], ["-w0"], ["-w64"]])
@pytest.mark.parametrize("kind", sorted(FILES))
def test_a_file_pasted_as_base64_into_a_text_is_read(kind: str, wrap: list[str]) -> None:
    encoded = b64(FILES[kind](), *wrap)
    text = b"Hi team, here is the export you asked for\n" + encoded + b"\nthanks, Anna\n"
    result = extract(text, "notes.txt")
    assert result.status == "ok", result.reason
    assert any(p.startswith("notes.txt/base64 block 1") for p in members(result)), members(result)
    found = {f.detector for f in scan_text(result.text)}
    assert found & {"us_ssn", "credit_card"}, found


def test_base64_inside_json_and_mail() -> None:
    encoded = base64.b64encode(FILES["zip"]()).decode()
    result = extract(f'{{"name": "backup", "content": "{encoded}"}}'.encode(), "payload.json")
    assert SSN in result.text and any("base64 block" in p for p in members(result))
    mail = samples.eml(f"Pasting it here:\n\n{b64(FILES['csv']()).decode()}\nbye", {})
    result = extract(mail, "mail.eml")
    assert CARD in result.text and any("base64 block" in p for p in members(result))


def test_what_decodes_to_no_readable_file_is_left_alone(tmp_path: Path) -> None:
    """A certificate in PEM, random bytes, a long hex string: no member, no change to the text."""
    openssl = require_binary("openssl", "openssl")
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-subj", "/CN=example", "-days", "1"], check=True, capture_output=True)
    texts = {"cert.pem": cert.read_bytes(), "random.txt": b64(random.Random(1).randbytes(5000)),
             "hex.txt": random.Random(2).randbytes(2000).hex().encode(), "words.txt": b"lorem ipsum " * 5000}
    for name, data in texts.items():
        result = extract(data, name)
        assert result.status == "ok" and not any("base64 block" in p for p in members(result)), name


def test_a_bomb_written_as_base64_meets_the_limits() -> None:
    bomb = samples.zip_of({"zeros.txt": bytes(64 << 20)})
    result = extract(b"x " + b64(bomb) + b" y", "notes.txt", limits=Limits(max_expanded_bytes=16 << 20))
    assert result.status == "unscannable" and "decompression bomb?" in " ".join(p.reason or "" for p in result.parts)


def test_a_file_of_many_public_keys_stays_ok(tmp_path: Path) -> None:
    """A known_hosts or authorized_keys of 2,000 RSA keys: 2,000 long runs that decode to binary."""
    noise = random.Random(3)
    keys = b"".join(b"host%d.example.com ssh-rsa AAAAB3NzaC1yc2E" % i + base64.b64encode(noise.randbytes(270)) + b"\n"
                    for i in range(2000))
    result = extract(keys, "known_hosts")
    assert result.status == "ok" and not any("base64 block" in p for p in members(result))


def test_a_text_padded_with_junk_runs_is_named_not_read_forever() -> None:
    noise = random.Random(4)
    junk = b" ".join(base64.b64encode(noise.randbytes(240)) for _ in range(16_500))
    real = base64.b64encode(FILES["csv"]())
    result = extract(junk + b" " + real, "padded.txt")
    assert result.status == "unscannable" and "runs of base64 characters" in (result.reason or "")


@pytest.mark.parametrize("kind", ["zip", "csv"])
def test_a_file_written_as_hex_is_read(kind: str) -> None:
    binary = require_binary("xxd", "xxd")
    dump = subprocess.run([binary, "-p"], input=FILES[kind](), capture_output=True, check=True).stdout
    result = extract(b"hex dump follows\n" + dump + b"end\n", "dump.txt")
    assert result.status == "ok", result.reason
    assert any(p.startswith("dump.txt/hex block 1") for p in members(result)), members(result)
    assert SSN in result.text or CARD in result.text


@pytest.mark.parametrize("digit", "0123456789")
def test_a_run_of_one_digit_is_text_not_hex_within_hex(digit: str) -> None:
    """40,000 threes are the hex of 20,000 threes, and so on: once decoded at every level until
    the depth limit, which made a plain file `unscannable` (seen on an exFAT stick's filler
    file). One byte repeated is no file; a hex dump of a card number is still read."""
    result = extract(digit.encode() * 40_000, "filler.txt")
    assert result.status == "ok", result.reason
    assert members(result) == ["filler.txt"]
    dump = CARD.replace(" ", "").encode().hex().encode() * 40
    assert CARD.replace(" ", "") in extract(dump, "hexcard.txt").text


def test_more_files_than_the_cap_are_named_not_dropped() -> None:
    blocks = [base64.b64encode(f"file {i} ssn {SSN}\n".encode() * 20) for i in range(70)]
    result = extract(b" ".join(blocks), "many.json")
    assert result.status == "unscannable" and "more than 64 files written as base64" in (result.reason or "")
    assert sum("base64 block" in p for p in members(result)) == 64


def test_blocks_next_to_each_other_and_to_words() -> None:
    first, second = base64.encodebytes(FILES["csv"]()), base64.encodebytes(f"ssn {SSN}\n".encode() * 30)
    text = b"see\n" + first + second + b"end\n"  # two blocks, one after the other, words joined by line breaks
    result = extract(text, "two.txt")
    assert [p for p in members(result) if "base64 block" in p] == ["two.txt/base64 block 1", "two.txt/base64 block 2"]
    assert CARD in result.text and SSN in result.text
