"""Encrypted files and messages: OpenPGP, S/MIME and CMS, `openssl enc`, age. The fixtures in
data/sealed were written by GnuPG 2.2.40, OpenSSL 3.0.19 and age 1.1.1 (`data/sealed/make.sh`);
a few more are written here by the real tools when they are installed."""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest

from rules.detectors import scan_text
from rules.extract import extract
from rules.extract.sealed import detached_signature, sealed, sealed_blocks, signed_content
from tests.rules import samples

DATA = Path(__file__).parent / "data" / "sealed"
CARD = "4111 1111 1111 1111"

ENCRYPTED = {
    "symmetric.gpg": "symmetric.gpg: an OpenPGP-encrypted file",
    "public.gpg": "public.gpg: an OpenPGP-encrypted file",
    "symmetric.asc": "symmetric.asc: holds an OpenPGP-encrypted message (armored)",
    "public.asc": "public.asc: holds an OpenPGP-encrypted message (armored)",
    "openssl.enc": "openssl.enc: an OpenSSL-encrypted file (openssl enc)",
    "openssl.b64": "openssl.b64: an OpenSSL-encrypted file (openssl enc, base64)",
    "cms.p7m": "cms.p7m: an S/MIME or CMS encrypted message (enveloped data)",
    "cms.pem": "cms.pem: holds an S/MIME or CMS encrypted message (enveloped data), PEM",
    "smime.eml": "smime.eml/smime.p7m: an S/MIME or CMS encrypted message (enveloped data)",
    "secret.age": "secret.age: an age-encrypted file",
    "secret.age.txt": "secret.age.txt: holds an age-encrypted file (armored)",
}


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.mark.parametrize("name", ENCRYPTED)
def test_encrypted_files_are_reported_encrypted(name: str) -> None:
    result = extract(fixture(name), name)
    assert (result.status, result.reason) == ("encrypted", ENCRYPTED[name])
    assert CARD not in result.text


@pytest.mark.parametrize("name", ["clearsigned.asc", "signed.eml", "opaque.eml", "signed.p7m"])
def test_signed_but_readable_content_is_read(name: str) -> None:
    result = extract(fixture(name), name)
    assert result.status == "ok", result.reason
    assert any(f.detector == "credit_card" for f in scan_text(result.text))


def test_an_smime_signature_part_is_no_content_rather_than_unscannable() -> None:
    signature = next(p for p in samples_parts(fixture("signed.eml")) if p[0] == "smime.p7s")[1]
    assert detached_signature(signature)
    assert not detached_signature(fixture("cms.p7m")) and not detached_signature(b"\x30\x80\x06")


def samples_parts(mail: bytes) -> list[tuple[str, bytes]]:
    from rules.extract.budget import Budget, Limits
    from rules.extract.documents import email_content

    return email_content(mail, Budget(Limits(), len(mail)), "m")[1]


@pytest.mark.parametrize("name", ["signed.asc", "signed.gpg"])
def test_signed_only_openpgp_is_read_not_called_encrypted(name: str) -> None:
    data = fixture(name)
    assert sealed(data) is None and sealed_blocks(data) == []
    result = extract(data, name)
    assert result.status == "ok" and [p.path for p in result.parts] == [f"{name}/signed content"]
    assert result.text.rstrip("\n") == fixture("secret.txt").decode().rstrip("\n")


def test_a_signed_openpgp_bomb_stops_at_the_expansion_limit() -> None:
    import zlib

    from rules.extract import Limits

    literal = b"b\x00\x00\x00\x00\x00" + bytes(50 << 20)
    packed = zlib.compress(bytes([0xCB, 0xFF]) + len(literal).to_bytes(4, "big") + literal, 9)
    bomb = bytes([0xA3, 0x02]) + packed  # compressed data packet (ZLIB), indeterminate length
    result = extract(bomb, "bomb.gpg", limits=Limits(max_expanded_bytes=8 << 20))
    assert result.status == "unscannable" and "decompression bomb" in (result.reason or "")


def test_encrypted_files_inside_archives_and_mails_make_them_encrypted() -> None:
    inner = {"export/customers.csv.gpg": fixture("public.gpg"), "readme.txt": f"card {CARD}".encode()}
    result = extract(samples.zip_of(inner), "out.zip")
    assert result.status == "encrypted" and result.reason == "out.zip/export/customers.csv.gpg: an OpenPGP-encrypted file"
    assert CARD in result.text  # the readable member is still read
    mail = samples.eml("figures attached", {"q3.xlsx.age": fixture("secret.age")})
    assert extract(mail, "m.eml").reason == "m.eml/q3.xlsx.age: an age-encrypted file"


def test_an_inline_pgp_block_in_a_mail_body_makes_it_encrypted_and_the_rest_is_read() -> None:
    body = f"Hi Bob, card {CARD} as agreed, and the rest below.\n\n" + fixture("public.asc").decode() + "\nAlice\n"
    result = extract(samples.eml(body, {}), "inline.eml")
    assert result.status == "encrypted" and result.reason == "inline.eml: holds an OpenPGP-encrypted message (armored)"
    assert CARD in result.text


def test_several_blocks_are_counted() -> None:
    text = b"\n".join([b"notes", fixture("symmetric.asc"), b"and", fixture("secret.age.txt"), fixture("cms.pem")])
    result = extract(text, "bundle.txt")
    assert result.reason == ("bundle.txt: holds 3 encrypted blocks (an OpenPGP-encrypted message (armored), an "
                             "age-encrypted file (armored), an S/MIME or CMS encrypted message (enveloped data), PEM)")


@pytest.mark.parametrize("data", [
    b"-----BEGIN PGP MESSAGE-----\n\nbm90IGEgcGFja2V0IGF0IGFsbA==\n-----END PGP MESSAGE-----\n",  # base64 of prose
    b"-----BEGIN PGP MESSAGE-----\nthe markers quoted in a how-to, no body\n",
    b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF\n-----END PGP PUBLIC KEY BLOCK-----\n",
    b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    b"Salted__",  # nothing after the salt marker
    b"U2FsdGVkX1 is what an openssl enc -a file starts with, as this sentence says.",
    *(bytes([0x85, 0x01, 0x0C, 0x03]) + random.Random(seed).randbytes(300) for seed in range(200)),  # a public-key
    # session key packet header, then noise (was os.urandom: 1 run in 50 or so made a packet after it)
    bytes([0xC3, 0x0D, 0x04]) + bytes(13),  # a passphrase session-key packet and no data packet after it
    b"\x30\x82\x01\x00\x06\x09" + bytes.fromhex("2a864886f70d010701") + bytes(10),  # CMS plain data
])
def test_look_alikes_are_not_encrypted(data: bytes) -> None:
    assert sealed(data) is None and sealed_blocks(data) == []
    assert extract(data, "look-alike.bin").status != "encrypted"


@pytest.mark.parametrize("name", sorted(ENCRYPTED) + ["signed.eml", "signed.gpg", "clearsigned.asc", "opaque.eml",
                                                      "signed.p7m"])
def test_damaged_copies_never_raise(name: str) -> None:
    for copy in samples.damaged(fixture(name), name, 150, most_flips=3, cut_chance=0.3):
        assert extract(copy, name).status in ("ok", "unscannable", "encrypted")
        detached_signature(copy)
        signed_content(copy)


def _run(*command: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> bytes:
    return subprocess.run(command, input=stdin, capture_output=True, check=True, timeout=60,
                          env={**os.environ, **(env or {})}).stdout


@pytest.mark.parametrize("options", [
    ["--cipher-algo", "AES256", "--compress-algo", "none"],
    ["--cipher-algo", "CAMELLIA128", "--s2k-mode", "3"],
    ["--armor", "--cipher-algo", "TWOFISH", "--force-mdc"],
])
def test_fresh_gpg_output_is_encrypted(tmp_path: Path, options: list[str]) -> None:
    from tests.fixtures.realparts import require_binary

    require_binary("gpg", "gnupg")
    data = _run("gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", os.urandom(8).hex(),
                "--symmetric", *options, "-o", "-", stdin=f"card {CARD}\n".encode() * 50,
                env={"GNUPGHOME": str(tmp_path)})
    assert extract(data, "out.bin").status == "encrypted"


@pytest.mark.parametrize("cipher", ["-aes-128-ctr", "-chacha20", "-des3"])
def test_fresh_openssl_enc_output_is_encrypted(cipher: str) -> None:
    from tests.fixtures.realparts import require_binary

    require_binary("openssl", "openssl")
    for armor in ([], ["-a"]):
        data = _run("openssl", "enc", cipher, "-pbkdf2", "-salt", *armor, "-pass", "pass:x", stdin=CARD.encode())
        assert extract(data, "secret.dat").status == "encrypted", (cipher, armor)


def test_an_opaque_signed_mail_is_read_through_its_signature() -> None:
    result = extract(fixture("opaque.eml"), "opaque.eml")
    assert [p.path for p in result.parts] == ["opaque.eml", "opaque.eml/smime.p7m/signed.eml"]
    assert signed_content(fixture("cms.p7m")) is None and signed_content(fixture("public.gpg")) is None
    assert signed_content(samples_parts(fixture("signed.eml"))[-1][1]) is None  # detached: nothing inside


def test_streamed_ber_signed_content_in_pieces_is_joined(tmp_path: Path) -> None:
    from tests.fixtures.realparts import require_binary

    require_binary("openssl", "openssl")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=s", "-days", "1", "-keyout", str(key),
         "-out", str(cert))
    content = os.urandom(30_000).hex().encode() + f"\ncard {CARD}\n".encode()
    signed = _run("openssl", "cms", "-sign", "-nodetach", "-binary", "-stream", "-outform", "DER", "-signer", str(cert),
                  "-inkey", str(key), stdin=content)
    assert signed[:2] == b"\x30\x80"  # indefinite lengths: the content comes in pieces
    assert signed_content(signed) == content
    assert CARD in extract(signed, "streamed.p7m").text


@pytest.mark.parametrize("compression", ["zip", "zlib", "bzip2", "none"])
def test_fresh_gpg_signed_files_are_read(tmp_path: Path, compression: str) -> None:
    from tests.fixtures.realparts import require_binary

    require_binary("gpg", "gnupg")
    home = {"GNUPGHOME": str(tmp_path)}
    _run("gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", "Signer <s@example.com>", "default",
         "default", "never", env=home)
    content = os.urandom(100_000).hex().encode() + f"\ncard {CARD}\n".encode()  # streamed: pieces of the literal
    for armor in ([], ["--armor"]):
        signed = _run("gpg", "--batch", "--quiet", "--compress-algo", compression, "--sign", *armor, stdin=content, env=home)
        result = extract(signed, "signed.gpg")
        assert result.status == "ok" and result.text.rstrip("\n") == content.decode().rstrip("\n"), (compression, armor)
