"""Finance: payment cards, bank accounts, company and tax identifiers, crypto addresses."""

from __future__ import annotations

from rules.checksums import (
    CN_PROVINCES,
    aba_valid,
    base58check_valid,
    digits_only,
    gb11714_valid,
    gb32100_valid,
    luhn_valid,
    mod97_valid,
)
from rules.detector import Detector

#: ISO 13616 lengths for the IBAN countries we accept; anything else is not an IBAN.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24,
    "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21,
    "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27,
    "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24,
    "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}
_CARD_PREFIXES = (
    ("4", (13, 16, 19)), ("34", (15,)), ("37", (15,)), ("6011", (16, 19)), ("65", (16, 19)),
    ("644", (16, 19)), ("645", (16, 19)), ("646", (16, 19)), ("647", (16, 19)), ("648", (16, 19)),
    ("649", (16, 19)), ("36", (14, 16, 19)), ("38", (14, 16)), ("300", (14, 16)), ("301", (14, 16)),
    ("302", (14, 16)), ("303", (14, 16)), ("304", (14, 16)), ("305", (14, 16)),
)


def _card_brand_ok(number: str) -> bool:
    if any(number.startswith(p) and len(number) in sizes for p, sizes in _CARD_PREFIXES):
        return True
    head2, head4 = int(number[:2]), int(number[:4])
    if 51 <= head2 <= 55 or 2221 <= head4 <= 2720:  # Mastercard
        return len(number) == 16
    if 3500 <= head4 <= 3599:  # JCB (3528-3589 assigned; all of 35xx is seen in test data)
        return 16 <= len(number) <= 19
    return number[:4] in ("5018", "5020", "5038", "5893", "6304", "6759", "6761", "6762", "6763") and (
        12 <= len(number) <= 19
    )  # Maestro


def _credit_card(value: str) -> bool:
    number = digits_only(value)
    return 13 <= len(number) <= 19 and _card_brand_ok(number) and luhn_valid(number)


def _cn_bank_card(value: str) -> bool:
    number = digits_only(value)
    return 16 <= len(number) <= 19 and number.startswith("62") and luhn_valid(number)


def _iban(value: str) -> bool:
    compact = value.replace(" ", "").upper()
    return IBAN_LENGTHS.get(compact[:2]) == len(compact) and mod97_valid(compact)


#: GB 32100 registration department (first character) -> organisation types (second character).
_USCC_TYPES = {"1": "1239", "2": "19", "3": "1234589", "4": "19", "5": "1239", "6": "129", "7": "129",
               "8": "129", "9": "123", "A": "19", "N": "1239", "Y": "1"}


def _uscc(value: str) -> bool:
    value = value.upper()
    return (value[1] in _USCC_TYPES.get(value[0], "") and value[2:4].isdigit() and int(value[2:4]) in CN_PROVINCES
            and gb32100_valid(value) and gb11714_valid(value[8:17]))


#: First two digits of a routing number: 00 US government, 01-12 the Federal Reserve districts,
#: 21-32 thrift institutions, 61-72 electronic transaction identifiers, 80 traveller's cheques.
_ABA_PREFIXES = frozenset({*range(0, 13), *range(21, 33), *range(61, 73), 80})


def _aba(value: str) -> bool:
    """3-7-1 check digit, and the first two digits in 00-12, 21-32, 61-72 or 80
    (en.wikipedia.org/wiki/ABA_routing_transit_number; the ranges follow the 12 Federal Reserve
    districts: 01-12 primary, +20 thrift, +60 electronic)."""
    number = digits_only(value)
    return int(number[:2]) in _ABA_PREFIXES and aba_valid(number)


#: The registration authority and category (`_USCC_TYPES`) and the province (`CN_PROVINCES`) are in
#: the pattern, not only in the check: an export full of 18-digit invoice or order numbers then
#: yields few candidates, and the per-text candidate cap is left for codes further down.
_USCC_PATTERN = (r"\b(?:" + "|".join(f"{a}[{b}]" for a, b in _USCC_TYPES.items()) + r")"
                 r"(?:1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|8[1-3]|91)\d{4}[0-9A-HJ-NPQRTUWXY]{10}\b")
#: `_ABA_PREFIXES` in the pattern, for the same reason; written 0210-0002-1 too (as Purview reads it).
_ABA_PATTERN = r"\b(?:0\d|1[0-2]|2[1-9]|3[0-2]|6[1-9]|7[0-2]|80)\d{2}-?\d{4}-?\d\b"


DETECTORS: tuple[Detector, ...] = (
    Detector("credit_card", "finance", r"\b(?:[2-6]\d{12,18}|[2-6]\d{3}[ -]\d{4}[ -]\d{4}[ -]\d{4}(?:\d{3})?|3\d{3}[ -]\d{6}[ -]\d{4,5})\b",
             "Payment card number (brand prefix, length and Luhn)", 0.8, _credit_card,
             ("card", "visa", "mastercard", "amex", "信用卡", "卡号", "cvv", "expir"),
             ("order", "tracking", "订单", "isbn", "invoice", "发票", "单号"), checksum=True, standalone=True),
    Detector("cn_bank_card", "finance", r"\b(?:62\d{14,17}|62\d{2}(?:[ -]\d{4}){3}(?:[ -]?\d{1,3})?)\b",
             "China UnionPay bank card (62 prefix, Luhn)", 0.75, _cn_bank_card,
             ("银行卡", "卡号", "开户", "银联", "bank card", "unionpay", "账号"),
             ("订单", "order", "invoice", "发票", "单号", "流水"), checksum=True, standalone=True),
    Detector("iban", "finance", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b",
             "International bank account number (ISO 13616 mod 97)", 0.85, _iban,
             ("iban", "bank", "account", "sepa", "账户"), checksum=True),
    Detector("cn_uscc", "finance", _USCC_PATTERN,
             "Unified social credit code (GB 32100 check)", 0.8, _uscc,
             ("统一社会信用代码", "信用代码", "营业执照", "税号", "纳税人识别号", "credit code"),
             ("invoice no", "invoice #", "order no", "order #", "发票号", "单号"), checksum=True, standalone=True),
    Detector("swift_bic", "finance", r"\b[A-Z]{4}(?:AD|AE|AT|AU|BE|BR|CA|CH|CN|DE|ES|FR|GB|HK|IN|IT|JP|KR|NL|SE|SG|US)[A-Z0-9]{2}(?:[A-Z0-9]{3})?\b",
             "SWIFT/BIC bank code", 0.5, None, ("swift", "bic", "bank"), needs_context=True),
    Detector("us_aba_routing", "finance", _ABA_PATTERN, "US ABA routing number (3-7-1 check)", 0.3, _aba,
             ("routing", "aba", "abarouting", "ach", "transit", "bank", "路由号"), ("order", "invoice", "sku", "ref"), boost=0.5,
             checksum=True, standalone=True, column_names=("rtn",), chance=0.1),
    Detector("us_ein", "finance", r"\b\d{2}-\d{7}\b", "US employer identification number", 0.5, None,
             ("ein", "employer identification", "tax id"), needs_context=True),
    Detector("bitcoin_address", "finance", r"\b[13][1-9A-HJ-NP-Za-km-z]{25,34}\b",
             "Bitcoin legacy address (Base58Check)", 0.8, base58check_valid, ("bitcoin", "btc", "wallet"),
             checksum=True),
    Detector("ethereum_address", "finance", r"\b0x[0-9a-fA-F]{40}\b", "Ethereum address", 0.5, None,
             ("ethereum", "eth", "wallet"), needs_context=True),
)
