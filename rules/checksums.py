"""Check-digit algorithms used by the detectors.

Each function takes the candidate as matched (separators already removed) and answers whether its
check digit is right. They never raise on odd input: a wrong length or character is simply ``False``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable

_GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_GB11643_CODES = "10X98765432"
_GB32100_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_GB32100_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_GB11714_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


#: First two digits of mainland administrative division codes (GB/T 2260): provinces and equivalents.
CN_PROVINCES = frozenset({11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
                          50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91})


#: Luhn sums of every 4-digit block whose first and third digits are doubled (a digit doubled past
#: 9 counts its digit sum): a number left-padded with zeros to a multiple of 4 is summed by blocks.
_LUHN_BLOCKS = {f"{n:04d}": sum(d if i % 2 else (2 * d - 9 if d > 4 else 2 * d) for i, d in enumerate(map(int, f"{n:04d}")))
                for n in range(10_000)}


def digits_only(value: str) -> str:
    """The ASCII digits of `value` (a matched candidate: digits and separators)."""
    if value.isdigit() and value.isascii():
        return value
    return "".join(ch for ch in value if "0" <= ch <= "9")


def luhn_valid(number: str) -> bool:
    """ISO/IEC 7812 Luhn check (payment cards, Canadian SIN, IMEI). Summed by 4-digit blocks from a
    table: a dense table of card-like numbers validates every candidate, so this is on the hot path."""
    if len(number) < 2 or not number.isdigit() or not number.isascii():
        return False
    padded = "000"[: -len(number) % 4] + number
    block = _LUHN_BLOCKS.__getitem__
    return sum(block(padded[i : i + 4]) for i in range(0, len(padded), 4)) % 10 == 0


def date_valid(year: int, month: int, day: int) -> bool:
    """Calendar check without a clock: years 1900..2099, leap years honoured."""
    if not (1900 <= year <= 2099 and 1 <= month <= 12 and day >= 1):
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    limit = 28 if month == 2 and not leap else _DAYS_IN_MONTH[month - 1]
    return day <= limit


def gb11643_valid(value: str) -> bool:
    """Chinese resident identity number (GB 11643-1999): region, birth date and ISO 7064 check."""
    value = value.upper()
    if len(value) != 18 or not value[:17].isdigit() or int(value[:2]) not in CN_PROVINCES:
        return False
    if not date_valid(int(value[6:10]), int(value[10:12]), int(value[12:14])):
        return False
    total = sum(int(ch) * w for ch, w in zip(value[:17], _GB11643_WEIGHTS, strict=True))
    return _GB11643_CODES[total % 11] == value[17]


def gb11714_valid(code: str) -> bool:
    """Chinese organisation code (GB 11714): 8 characters and a mod-11 check character."""
    if len(code) != 9 or any(ch not in _GB32100_CHARS for ch in code[:8]):
        return False
    total = sum(_GB32100_CHARS.index(ch) * w for ch, w in zip(code[:8], _GB11714_WEIGHTS, strict=True))
    check = 11 - total % 11
    expected = "X" if check == 10 else "0" if check == 11 else str(check)
    return code[8] == expected


def gb32100_valid(value: str) -> bool:
    """Unified social credit code (GB 32100-2015): mod-31 check over 17 characters."""
    value = value.upper()
    if len(value) != 18 or any(ch not in _GB32100_CHARS for ch in value):
        return False
    total = sum(_GB32100_CHARS.index(ch) * w for ch, w in zip(value[:17], _GB32100_WEIGHTS, strict=True))
    return _GB32100_CHARS[(31 - total % 31) % 31] == value[17]


def mod97_valid(value: str) -> bool:
    """ISO 13616 IBAN check (ISO 7064 MOD 97-10) on the compact form."""
    value = value.replace(" ", "").upper()
    if len(value) < 15 or not value.isalnum() or not value.isascii():
        return False
    rearranged = value[4:] + value[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def verhoeff_valid(number: str) -> bool:
    """Verhoeff dihedral check (India's Aadhaar)."""
    if not number.isdigit():
        return False
    check = 0
    for index, char in enumerate(reversed(number)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[index % 8][int(char)]]
    return check == 0


def aba_valid(number: str) -> bool:
    """US ABA routing number: weights 3-7-1 must sum to a multiple of 10."""
    if len(number) != 9 or not number.isdigit() or number == "000000000":
        return False
    total = sum(int(ch) * w for ch, w in zip(number, (3, 7, 1) * 3, strict=True))
    return total % 10 == 0


def mod11_weighted(number: str, weights: tuple[int, ...]) -> int:
    return sum(int(ch) * w for ch, w in zip(number, weights, strict=False)) % 11


def base58check_valid(address: str) -> bool:
    """Bitcoin legacy address: base58 payload whose last 4 bytes are a double SHA-256 prefix."""
    number = 0
    for char in address:
        index = _BASE58.find(char)
        if index < 0:
            return False
        number = number * 58 + index
    raw = number.to_bytes(25, "big") if number.bit_length() <= 200 else b""
    if len(raw) != 25:
        return False
    digest = hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()
    return digest[:4] == raw[-4:]


def base62_crc32_valid(body: str, check: str) -> bool:
    """GitHub-style token check: CRC32 of the body, base62, left-padded to 6 characters."""
    value = binascii.crc32(body.encode("ascii", "replace"))
    chars = []
    while value:
        value, rest = divmod(value, 62)
        chars.append(_BASE62[rest])
    return "".join(reversed(chars)).rjust(6, "0") == check


def jwt_header_valid(token: str) -> bool:
    """A JWT's first segment must be base64url JSON naming an algorithm."""
    head = token.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(decoded, dict) and "alg" in decoded


def luhn_digits(value: str) -> bool:
    """Luhn over the digits of a match (a policy's own detector may hold letters and separators)."""
    return luhn_valid(digits_only(value))


def verhoeff_digits(value: str) -> bool:
    digits = digits_only(value)
    return len(digits) >= 2 and verhoeff_valid(digits)


def mod97_digits(value: str) -> bool:
    """ISO 7064 MOD 97-10 over the digits of a match: the number they spell leaves 1 modulo 97."""
    digits = digits_only(value)
    remainder = 0
    for at in range(0, len(digits), 9):  # by pieces: a match of thousands of digits is no int to parse
        piece = digits[at : at + 9]
        remainder = (remainder * 10 ** len(piece) + int(piece)) % 97
    return len(digits) >= 3 and remainder == 1


#: Check-digit schemes a policy's own detectors may name (`checksum:` in YAML): the check over the
#: match's digits, and the share of random digit strings that pass it (`Detector.chance`, which
#: lets a table column of such values be named by them, `rules.columns`).
NAMED_CHECKS: dict[str, tuple[Callable[[str], bool], float]] = {
    "luhn": (luhn_digits, 0.1), "verhoeff": (verhoeff_digits, 0.1), "mod97": (mod97_digits, 1 / 97)}
