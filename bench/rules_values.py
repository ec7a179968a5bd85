"""Valid (checksum-correct) sample values per detector, and hard negatives, from a seeded RNG.

Faker supplies the types it knows (cards, IBAN, SSN, zh_CN resident ids and phones, e-mail, IPs);
the rest are generated here from their published algorithms.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import uuid
import zlib
from collections.abc import Callable

from rules.checksums import gb11643_valid, luhn_valid, verhoeff_valid

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def luhn_complete(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + _digits(rng, length - len(prefix) - 1)
    return next(body + d for d in string.digits if luhn_valid(body + d))


def cn_resident_id(rng: random.Random) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    region = rng.choice(["110105", "310104", "440305", "510107", "330106", "420111"])
    body = f"{region}{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{_digits(rng, 3)}"
    value = body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
    return value if gb11643_valid(value) else cn_resident_id(rng)


def cn_uscc(rng: random.Random) -> str:
    org = "".join(rng.choice(USCC[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    total = sum(USCC.index(c) * w for c, w in zip(org, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    org += "X" if check == 10 else "0" if check == 11 else str(check)
    body = rng.choice(["91", "92", "93", "11", "12", "51", "52"]) + rng.choice(["110108", "310115", "440300"]) + org
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    total = sum(USCC.index(c) * w for c, w in zip(body, weights, strict=True))
    return body + USCC[(31 - total % 31) % 31]


def cn_bank_card(rng: random.Random) -> str:
    return luhn_complete(rng, rng.choice(["622848", "622202", "621700", "622588", "623668"]), rng.choice([16, 19]))


def github_token(rng: random.Random) -> str:
    body = "ghp_" + "".join(rng.choice(B62) for _ in range(30))
    value, check = zlib.crc32(body.encode()), ""
    while value:
        value, rest = divmod(value, 62)
        check = B62[rest] + check
    return body + check.rjust(6, "0")


def jwt(rng: random.Random) -> str:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    claims = {"sub": str(rng.randint(1, 10**9)), "name": "user", "iat": rng.randint(10**9, 2 * 10**9)}
    signature = base64.urlsafe_b64encode(rng.randbytes(32)).rstrip(b"=").decode()
    return f"{part({'alg': rng.choice(['HS256', 'RS256']), 'typ': 'JWT'})}.{part(claims)}.{signature}"


def bitcoin_address(rng: random.Random) -> str:
    raw = b"\x00" + rng.randbytes(20)
    raw += hashlib.sha256(hashlib.sha256(raw).digest()).digest()[:4]
    number, out = int.from_bytes(raw, "big"), ""
    while number:
        number, rest = divmod(number, 58)
        out = B58[rest] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\x00"))) + out


def _nhs_check(body: str) -> int:
    check = 11 - sum(int(c) * w for c, w in zip(body, range(10, 1, -1), strict=True)) % 11
    return 0 if check == 11 else check


def _issued_nhs(body: str) -> str:
    """The body moved into an issued range (3xx, 4xx, 6xx, 7xx: England, Wales, Isle of Man and
    Northern Ireland; see `rules.catalog.personal._nhs_issued`) without touching the RNG, so that the
    corpus around it stays the same; the last body digit moves on until the check is not 10."""
    body = "3467"[int(body[0]) % 4] + body[1:]
    while _nhs_check(body) == 10:
        body = body[:8] + str((int(body[8]) + 1) % 10)
    return body


def uk_nhs(rng: random.Random) -> str:
    """NHS number: 9 digits in an issued range and a mod-11 check digit (weights 10..2); a check of
    10 is never issued. (Before 2026-12-04 the body was any 9 digits: about half of those numbers
    lie in ranges no UK health service issues.)"""
    body = _digits(rng, 9)
    if _nhs_check(body) == 10:
        return uk_nhs(rng)
    body = _issued_nhs(body)
    number = body + str(_nhs_check(body))
    return f"{number[:3]} {number[3:6]} {number[6:]}" if rng.random() < 0.7 else number


def in_aadhaar(rng: random.Random) -> str:
    """Aadhaar: 12 digits, first 2-9, Verhoeff check digit (Faker's uses Luhn, so it is not used)."""
    body = str(rng.randint(2, 9)) + _digits(rng, 10)
    number = next(body + d for d in string.digits if verhoeff_valid(body + d))
    return f"{number[:4]} {number[4:8]} {number[8:]}" if rng.random() < 0.6 else number


def sg_nric(rng: random.Random) -> str:
    """Singapore NRIC (S, T) or FIN (F, G): 7 digits, weights 2765432, +4 for T and G, a check letter."""
    prefix, body = rng.choice("STFG"), _digits(rng, 7)
    total = sum(int(c) * w for c, w in zip(body, (2, 7, 6, 5, 4, 3, 2), strict=True)) + (4 if prefix in "TG" else 0)
    letters = "JZIHGFEDCBA" if prefix in "ST" else "XWUTRQPNMLK"
    return prefix + body + letters[total % 11]


def hk_id(rng: random.Random) -> str:
    """Hong Kong identity card: one or two letters, 6 digits, mod-11 check (10 is written A)."""
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(1 if rng.random() < 0.9 else 2))
    body = _digits(rng, 6)
    values = [36 if c == " " else ord(c) - 55 for c in letters.rjust(2)] + [int(c) for c in body]
    check = (11 - sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True)) % 11) % 11
    return f"{letters}{body}({'A' if check == 10 else check})"


def _alnum(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def secret_generators() -> dict[str, Callable[[random.Random], str]]:
    return {
        "aws_access_key": lambda r: "AKIA" + _alnum(r, 16, string.ascii_uppercase + "234567"),
        "github_token": github_token,
        "slack_token": lambda r: f"xoxb-{_digits(r, 12)}-{_digits(r, 13)}-{_alnum(r, 24)}",
        "stripe_key": lambda r: "sk_live_" + _alnum(r, 24),
        "google_api_key": lambda r: "AIza" + _alnum(r, 35, string.ascii_letters + string.digits + "_-"),
        "jwt": jwt,
        "private_key": lambda r: "-----BEGIN " + r.choice(["RSA ", "EC ", "OPENSSH ", ""]) + "PRIVATE KEY-----",
        "password_in_url": lambda r: f"postgres://svc_{_alnum(r, 5)}:{_alnum(r, 14)}@db{r.randint(1, 9)}.example.net",
        "sendgrid_key": lambda r: f"SG.{_alnum(r, 22)}.{_alnum(r, 43)}",
        "npm_token": lambda r: "npm_" + _alnum(r, 36),
    }


def faker_generators() -> dict[str, Callable[[random.Random], str]]:
    from faker import Faker

    en, zh, br = Faker("en_US"), Faker("zh_CN"), Faker("pt_BR")
    es, ca, tw = Faker("es_ES"), Faker("en_CA"), Faker("zh_TW")

    def seeded(fake: Faker, make: Callable[[Faker], str]) -> Callable[[random.Random], str]:
        def generate(rng: random.Random) -> str:
            fake.seed_instance(rng.getrandbits(32))
            return make(fake)

        return generate

    cards = ["visa16", "mastercard", "amex", "discover", "jcb16", "diners"]
    return {
        "credit_card": lambda r: seeded(en, lambda f: f.credit_card_number(card_type=r.choice(cards)))(r),
        "iban": seeded(en, lambda f: f.iban()),
        "us_ssn": seeded(en, lambda f: f.ssn()),
        "cn_resident_id": seeded(zh, lambda f: f.ssn()),
        "cn_mobile": seeded(zh, lambda f: f.phone_number()),
        "email": seeded(en, lambda f: f.email()),
        "ipv4": seeded(en, lambda f: f.ipv4_public()),
        "ipv6": seeded(en, lambda f: f.ipv6()),
        "us_aba_routing": seeded(en, lambda f: f.aba()),
        "br_cpf": seeded(br, lambda f: f.cpf()),
        "es_dni": lambda r: seeded(es, lambda f: f.nif() if r.random() < 0.7 else f.nie())(r),
        "ca_sin": seeded(ca, lambda f: f.ssn()),
        "cn_tw_id": seeded(tw, lambda f: f.ssn()),
    }


def own_generators() -> dict[str, Callable[[random.Random], str]]:
    return {"cn_uscc": cn_uscc, "cn_bank_card": cn_bank_card, "bitcoin_address": bitcoin_address,
            "uk_nhs": uk_nhs, "sg_nric": sg_nric, "cn_hk_id": hk_id, "in_aadhaar": in_aadhaar}


def all_generators() -> dict[str, Callable[[random.Random], str]]:
    return {**faker_generators(), **own_generators(), **secret_generators()}


def mutate_check_digit(rng: random.Random, value: str) -> str:
    """Change the last digit (or letter) so the check digit no longer fits."""
    last = value[-1]
    pool = string.digits if last.isdigit() else string.ascii_uppercase
    return value[:-1] + rng.choice([c for c in pool if c != last])


def cusip(rng: random.Random) -> str:
    """An all-digit CUSIP (US security id, 9 digits like a routing number) with its own check digit."""
    body = _digits(rng, 8)
    total = 0
    for index, char in enumerate(body):
        value = int(char) * (2 if index % 2 else 1)
        total += value // 10 + value % 10
    return body + str((10 - total % 10) % 10)


def nine_digit_labelled(rng: random.Random) -> str:
    """A 9-digit number that is not a routing number, named by the word before it."""
    return rng.choice([
        f"QQ {rng.randint(10**8, 10**9 - 1)}", f"QQ号 {rng.randint(10**8, 10**9 - 1)}", f"CUSIP {cusip(rng)}",
        f"case {_digits(rng, 9)}", f"ticket #{_digits(rng, 9)}", f"客户编号 {_digits(rng, 9)}",
    ])


def nine_digit_bare(rng: random.Random) -> str:
    """A 9-digit number with no word before it: a size, a duration, a count (the unit comes after)."""
    number = rng.randint(10**8, 10**9 - 1)
    return rng.choice([f"{number} bytes", f"{number} ns", f"{number} rows", f"共 {number} 条", f"{number} 元"])


_ROLES = ("deploy", "reader", "admin", "ci", "backup")


def upc_a(rng: random.Random) -> str:
    """A UPC-A barcode number: 11 digits and a check digit (odd positions weigh 3)."""
    body = _digits(rng, 11)
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def twelve_digit(rng: random.Random) -> str:
    """A 12-digit number that is not an Aadhaar: an AWS account id, a UPC-A barcode."""
    account = _digits(rng, 12)
    return rng.choice([f"arn:aws:iam::{account}:role/{rng.choice(_ROLES)}", f"AWS account {account}",
                       f"UPC {upc_a(rng)}", f"{upc_a(rng)}"])


def us_phone(rng: random.Random) -> str:
    """A US phone number written 3-3-4 with spaces: the shape of a UK NHS number."""
    number = f"{rng.randint(2, 9)}{_digits(rng, 2)} {rng.randint(2, 9)}{_digits(rng, 2)} {_digits(rng, 4)}"
    return f"{rng.choice(['phone', 'call', 'fax', '电话'])} {number}"


def hard_negatives(rng: random.Random) -> list[str]:
    """Strings that look sensitive but are not: ids, timestamps, hashes, failed checksums."""
    return [
        f"order {_digits(rng, 16)}",
        f"tracking {rng.choice('123')}Z{_alnum(rng, 16, string.ascii_uppercase + string.digits)}",
        f"ts {rng.randint(1_500_000_000_000, 1_800_000_000_000)}",
        f"{rng.randint(2000, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
        f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z",
        str(uuid.UUID(int=rng.getrandbits(128))),
        hashlib.sha256(rng.randbytes(8)).hexdigest(),
        hashlib.sha1(rng.randbytes(8)).hexdigest(),
        hashlib.md5(rng.randbytes(8)).hexdigest(),
        f"invoice {_digits(rng, 18)}",
        f"build {rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 300)}.{rng.randint(1000, 99999)}",
        f"SKU-{_digits(rng, 11)}",
        f"ref 1{rng.choice('012')}{_digits(rng, 9)}",
        mutate_check_digit(rng, luhn_complete(rng, rng.choice(["4", "51", "37", "6011", "62"]), 16)),
        mutate_check_digit(rng, cn_resident_id(rng)),
        mutate_check_digit(rng, cn_uscc(rng)),
        mutate_check_digit(rng, github_token(rng)),
        f"{rng.randint(0, 999)}-{rng.randint(0, 99):02d}-{rng.randint(0, 9999):04d}x",
        f"v{rng.randint(1, 300)}.{rng.randint(256, 999)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}",
        nine_digit_labelled(rng),
        nine_digit_bare(rng),
        twelve_digit(rng),
        us_phone(rng),
    ]
