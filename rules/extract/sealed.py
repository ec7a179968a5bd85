"""Encrypted files and messages that are neither archives nor documents.

Encrypting a file before it leaves (`gpg -c`, `openssl enc`, `age`, an S/MIME mail) is the
simplest way past a content scanner, and such a file is random bytes or base64 to the
detectors: it was `unscannable` ("no text to extract from binary data") or, armored as text,
scanned as if it were prose and passed `ok`. It is recognised here by its structure, so that it
is reported `encrypted` and policy can block it:

- OpenPGP (RFC 4880, RFC 9580; `gpg --encrypt`, `gpg --symmetric`): one or more encrypted
  session-key packets (public-key or passphrase), then an encrypted data packet, each packet's
  header and version checked, binary or ASCII-armored (`-----BEGIN PGP MESSAGE-----`, whose body
  must decode to the same packets: a signed-only or compressed message is not encrypted);
- CMS / PKCS #7 enveloped, authenticated-enveloped or encrypted data (RFC 5652; S/MIME
  encryption, `openssl smime -encrypt`, `openssl cms -encrypt`), DER or PEM;
- `openssl enc` with a salt (`Salted__`, and its base64 form `U2FsdGVkX1`);
- age (`age-encryption.org/v1`, binary or armored);
- LUKS volume images.

Only the first bytes of a file, or of each armored block, are looked at.

A CMS signed-data is recognised too: detached (`smime.p7s`, `detached_signature`) it holds no
content, and a signed mail is not unscannable for it; opaque (an S/MIME mail signed with the
content inside, `signed_content`) its content is read.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import zlib

#: Encrypted session-key packets (public key, passphrase), and the data packets they precede:
#: symmetrically encrypted (legacy), integrity-protected, and AEAD (GnuPG's OCB).
_PGP_SESSION_KEYS = {1: frozenset({3, 6}), 3: frozenset({4, 5, 6})}  # tag: versions
_PGP_DATA = {9: None, 18: frozenset({1, 2}), 20: frozenset({1})}  # tag: versions (None: no version byte)
_PGP_MARKER = 10
_PGP_ENCRYPTION_ALGORITHMS = frozenset({1, 2, 16, 18, 20, 25, 26})
_PGP_PACKETS_LOOKED_AT = 64

# DER object identifiers of CMS content types that carry ciphertext
_CMS_ENCRYPTED = {
    bytes.fromhex("2a864886f70d010703"): "an S/MIME or CMS encrypted message (enveloped data)",
    bytes.fromhex("2a864886f70d010706"): "a CMS encrypted message (encrypted data)",
    bytes.fromhex("2a864886f70d0109100117"): "an S/MIME or CMS encrypted message (authenticated enveloped data)",
}
_CMS_SIGNED = bytes.fromhex("2a864886f70d010702")
_ARMORS = (b"PGP MESSAGE", b"AGE ENCRYPTED FILE", b"PKCS7", b"CMS")
MAX_ARMORED_BLOCKS = 100


def sealed(data: bytes) -> str | None:
    """What kind of encrypted file `data` is, or None when it is none of those known here."""
    if data.startswith(b"Salted__") and len(data) > 16:
        return "an OpenSSL-encrypted file (openssl enc)"
    if data.lstrip()[:10] == b"U2FsdGVkX1" and _base64_only(data):
        return "an OpenSSL-encrypted file (openssl enc, base64)"
    if data.startswith(b"age-encryption.org/v1\n"):
        return "an age-encrypted file"
    if data.startswith(b"LUKS\xba\xbe"):
        return "a LUKS encrypted volume"
    if _openpgp_encrypted(data):
        return "an OpenPGP-encrypted file"
    return _cms_encrypted(data)


def sealed_blocks(data: bytes) -> list[str]:
    """What each encrypted block ASCII-armored in `data` (a text) is: an OpenPGP message, an age
    file, or PEM CMS data whose content is ciphertext (at most `MAX_ARMORED_BLOCKS` are looked at)."""
    found: list[str] = []
    at = data.find(b"-----BEGIN ")
    while at >= 0 and len(found) < MAX_ARMORED_BLOCKS:
        label_end = data.find(b"-----", at + 11)
        label = data[at + 11 : label_end] if 0 <= label_end - at - 11 <= 32 else b""
        if label in _ARMORS:
            described = _armored(label, data[label_end + 5 : label_end + 5 + 4096])
            if described is not None:
                found.append(described)
        at = data.find(b"-----BEGIN ", at + 11)
    return found


def _armored(label: bytes, body: bytes) -> str | None:
    if label == b"AGE ENCRYPTED FILE":
        return "an age-encrypted file (armored)"
    lines = body.replace(b"\r", b"").split(b"\n")
    if label == b"PGP MESSAGE" and b"" in lines[1:]:  # armor headers ("Version: ..."), then a blank line
        lines = lines[lines.index(b"", 1) + 1 :]
    encoded = b""
    for line in lines:
        if line.startswith((b"-----", b"=")):  # the end line, or the armor checksum
            break
        encoded += line.strip()
    head = _decode(encoded[: len(encoded) // 4 * 4][:1024])
    if label == b"PGP MESSAGE":
        return "an OpenPGP-encrypted message (armored)" if head and _openpgp_encrypted(head, partial=True) else None
    described = _cms_encrypted(head) if head else None
    return None if described is None else f"{described}, PEM"


def _decode(encoded: bytes) -> bytes | None:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _base64_only(data: bytes) -> bool:
    body = b"".join(data.split())
    return len(body) >= 24 and _decode(body[: len(body) // 4 * 4]) is not None


def _openpgp_encrypted(data: bytes, *, partial: bool = False) -> bool:
    """Whether `data` starts with OpenPGP session-key packets followed by an encrypted data
    packet (`partial`: `data` is only the first bytes of the message, so the data packet's
    header is enough)."""
    pos, keys = 0, 0
    for _ in range(_PGP_PACKETS_LOOKED_AT):
        header = _pgp_header(data, pos)
        if header is None:
            return False
        tag, body, length = header
        if tag in _PGP_DATA:
            versions = _PGP_DATA[tag]
            return keys > 0 and (versions is None or (body < len(data) and data[body] in versions))
        if tag in _PGP_SESSION_KEYS:
            if body >= len(data) or data[body] not in _PGP_SESSION_KEYS[tag] or length is None:
                return False
            if tag == 1 and not _pkesk_algorithm_ok(data, body):
                return False
            keys += 1
        elif tag != _PGP_MARKER or keys:
            return False
        if length is None:
            return False
        if body + length > len(data):
            return partial and keys > 0  # the rest of the message lies past what was decoded
        pos = body + length
    return False


def _pkesk_algorithm_ok(data: bytes, body: int) -> bool:
    """A public-key session-key packet names an encryption algorithm (RFC 9580 9.1: RSA, Elgamal,
    ECDH, X25519, X448): noise after a plausible header seldom does."""
    if data[body] == 6:  # a length, then the key's version and fingerprint
        return body + 1 < len(data) and _algorithm_at(data, body + 2 + data[body + 1])
    return _algorithm_at(data, body + 9)  # version 3: then the key id


def _algorithm_at(data: bytes, at: int) -> bool:
    return at < len(data) and data[at] in _PGP_ENCRYPTION_ALGORITHMS


def _pgp_header(data: bytes, pos: int) -> tuple[int, int, int | None] | None:
    """(tag, where the body starts, body length or None when partial or indeterminate) of the
    packet at `pos`, or None when there is no packet header there."""
    if pos >= len(data) or not data[pos] & 0x80:
        return None
    first = data[pos]
    if first & 0x40:  # new format
        tag = first & 0x3F
        if pos + 1 >= len(data):
            return None
        octet = data[pos + 1]
        if octet < 192:
            return tag, pos + 2, octet
        if octet < 224:
            if pos + 2 >= len(data):
                return None
            return tag, pos + 3, ((octet - 192) << 8) + data[pos + 2] + 192
        if octet == 255:
            if pos + 5 >= len(data):
                return None
            return tag, pos + 6, int.from_bytes(data[pos + 2 : pos + 6], "big")
        return tag, pos + 2, None  # a partial body length: only data packets may start so
    tag, kind = (first >> 2) & 0x0F, first & 0x03
    if kind == 3:
        return tag, pos + 1, None
    size = 1 << kind
    if pos + size >= len(data):
        return None
    return tag, pos + 1 + size, int.from_bytes(data[pos + 1 : pos + 1 + size], "big")


def _cms_encrypted(data: bytes) -> str | None:
    """What CMS content type carrying ciphertext `data` (DER or BER) is, or None: a ContentInfo
    SEQUENCE whose first element is one of `_CMS_ENCRYPTED`'s object identifiers."""
    if len(data) < 16 or data[0] != 0x30:
        return None
    octet = data[1]
    at = 2 if octet < 0x80 or octet == 0x80 else 2 + (octet & 0x7F)
    if octet > 0x84 or data[at] != 0x06:
        return None
    size = data[at + 1]
    return _CMS_ENCRYPTED.get(data[at + 2 : at + 2 + size])


def detached_signature(data: bytes) -> bool:
    """Whether `data` (DER or BER) is a CMS signed-data without its content: the signature part
    of an S/MIME-signed mail (`smime.p7s`), whose content is the mail's other part."""
    return _signed(data) == b""


def signed_content(data: bytes) -> bytes | None:
    """The content a CMS signed-data holds inside it (an opaque-signed S/MIME mail's MIME entity,
    `openssl cms -sign -nodetach`), or None when `data` is no signed-data holding content."""
    content = _signed(data)
    return content or None


#: At most this many pieces of a constructed OCTET STRING are joined.
MAX_PIECES = 10_000


def _signed(data: bytes) -> bytes | None:
    """The encapsulated content of a CMS signed-data (b"" when detached), or None when `data` is
    no signed-data."""
    try:
        tag, at, _ = _ber(data, 0)
        if tag != 0x30:
            return None
        tag, oid, oid_end = _ber(data, at)
        if tag != 0x06 or oid_end is None or data[oid:oid_end] != _CMS_SIGNED:
            return None
        tag, at, _ = _ber(data, oid_end)  # [0] EXPLICIT content
        if tag != 0xA0:
            return None
        tag, at, _ = _ber(data, at)  # SignedData
        if tag != 0x30:
            return None
        at = _skip(data, at, 0)  # version
        at = _skip(data, at, 0)  # digest algorithms
        tag, inner, inner_end = _ber(data, at)  # encapsulated content info
        if tag != 0x30:
            return None
        after_type = _skip(data, inner, 0)
        if after_type == inner_end or (inner_end is None and data[after_type : after_type + 2] == b"\0\0"):
            return b""
        tag, at, _ = _ber(data, after_type)  # [0] EXPLICIT eContent
        if tag != 0xA0:
            return None
        return _octets(data, at, 0)
    except IndexError:
        return None


def _octets(data: bytes, pos: int, depth: int) -> bytes:
    """The bytes of the OCTET STRING at `pos`, primitive or constructed (in pieces, as streaming
    BER writes it)."""
    tag, at, end = _ber(data, pos)
    if tag == 0x04 and end is not None:
        return data[at:end]
    if tag != 0x24 or depth > 8:
        raise IndexError("no OCTET STRING")
    pieces: list[bytes] = []
    while (at < end) if end is not None else (data[at : at + 2] != b"\0\0"):
        if len(pieces) >= MAX_PIECES:
            raise IndexError("too many pieces")
        pieces.append(_octets(data, at, depth + 1))
        at = _skip(data, at, 0)
    return b"".join(pieces)


def _ber(data: bytes, pos: int) -> tuple[int, int, int | None]:
    """(tag, where the content starts, where it ends or None when the length is indefinite) of
    the element at `pos`; IndexError when it does not fit in `data`."""
    tag, octet = data[pos], data[pos + 1]
    if tag & 0x1F == 0x1F:
        raise IndexError("high tag numbers are not used here")
    if octet == 0x80:
        return tag, pos + 2, None
    if octet < 0x80:
        end = pos + 2 + octet
        start = pos + 2
    else:
        size = octet & 0x7F
        if size > 4:
            raise IndexError("length too long")
        start = pos + 2 + size
        end = start + int.from_bytes(data[pos + 2 : start], "big")
    if end > len(data):
        raise IndexError("element runs past the end")
    return tag, start, end


def _skip(data: bytes, pos: int, depth: int) -> int:
    """Where the element at `pos` ends (walking an indefinite-length one to its end marker)."""
    if depth > 16:
        raise IndexError("nested too deeply")
    _, at, end = _ber(data, pos)
    if end is not None:
        return end
    while data[at : at + 2] != b"\0\0":
        at = _skip(data, at, depth + 1)
    return at + 2


# OpenPGP messages that are signed, not encrypted: their literal data is readable

_PGP_COMPRESSED, _PGP_LITERAL, _PGP_SIGNATURE, _PGP_ONE_PASS = 8, 11, 2, 4


def openpgp_literal(data: bytes, limit: int) -> bytes | None:
    """The literal data of a signed-only (or merely compressed) OpenPGP message, `gpg --sign`,
    binary or armored, decompressed to at most `limit` bytes; None when `data` is no such
    message. Raises ValueError when it expands past `limit`."""
    armored = data.lstrip()[:27] == b"-----BEGIN PGP MESSAGE-----"
    if armored:
        data = _armor_body(data.lstrip()[27:]) or b""
    return _literal(data, limit, 0)


def _armor_body(block: bytes) -> bytes | None:
    lines = block.replace(b"\r", b"").split(b"\n")
    if b"" in lines[1:]:
        lines = lines[lines.index(b"", 1) + 1 :]
    encoded = b"".join(line.strip() for line in _until_end(lines))
    return _decode(encoded)


def _until_end(lines: list[bytes]) -> list[bytes]:
    for count, line in enumerate(lines):
        if line.startswith((b"-----", b"=")):
            return lines[:count]
    return lines


def _literal(data: bytes, limit: int, depth: int) -> bytes | None:
    pos = 0
    for _ in range(_PGP_PACKETS_LOOKED_AT):
        header = _pgp_header(data, pos)
        if header is None or depth > 2:
            return None
        tag, body, length = header
        payload, pos = _pgp_body(data, body, length, data[pos] & 0x40 != 0)
        if tag == _PGP_COMPRESSED:
            return _literal(_inflate(payload, limit), limit, depth + 1)
        if tag == _PGP_LITERAL:
            if len(payload) < 6 or payload[0] not in b"btuml1" or 2 + payload[1] + 4 > len(payload):
                return None
            return payload[2 + payload[1] + 4 :]  # format, file name, date, then the data
        if tag not in (_PGP_ONE_PASS, _PGP_SIGNATURE, _PGP_MARKER):
            return None
    return None


def _pgp_body(data: bytes, body: int, length: int | None, new_format: bool) -> tuple[bytes, int]:
    """A packet's body (its partial-length pieces joined) and where the next packet starts."""
    if length is not None:
        return data[body : body + length], body + length
    if not new_format:  # old format, indeterminate: to the end
        return data[body:], len(data)
    pieces, at = [], body - 1
    while at < len(data):
        octet = data[at]
        if 224 <= octet < 255:  # another partial piece
            size = 1 << (octet & 0x1F)
            pieces.append(data[at + 1 : at + 1 + size])
            at += 1 + size
            continue
        header = _pgp_header(bytes([0xC0]) + data[at:], 0)  # the last piece's length, read as a header's
        if header is None or header[2] is None:
            break
        start = at + header[1] - 1
        pieces.append(data[start : start + header[2]])
        at = start + header[2]
        break
    return b"".join(pieces), at


def _inflate(payload: bytes, limit: int) -> bytes:
    if not payload:
        return b""
    algorithm, stream = payload[0], payload[1:]
    if algorithm == 0:
        return stream
    if algorithm in (1, 2):
        inflater = zlib.decompressobj(-15 if algorithm == 1 else 15)
        try:
            out = inflater.decompress(stream, limit + 1)
        except zlib.error:
            return b""
    elif algorithm == 3:
        try:
            out = bz2.BZ2Decompressor().decompress(stream, limit + 1)
        except (OSError, ValueError):
            return b""
    else:
        return b""
    if len(out) > limit:
        raise ValueError(f"expands beyond {limit} bytes")
    return out
