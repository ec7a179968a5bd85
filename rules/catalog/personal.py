"""Personal data: Chinese and international identity numbers, phones, e-mail."""

from __future__ import annotations

from rules.checksums import (
    date_valid,
    digits_only,
    gb11643_valid,
    luhn_valid,
    mod11_weighted,
    verhoeff_valid,
)
from rules.detector import Detector

#: Days per month, February 29 allowed (a CHI number's DDMMYY has no century).
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_CN_MOBILE_PREFIXES = frozenset(
    ["130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "145", "146", "147", "148", "149", "150", "151", "152", "153", "155", "156", "157", "158", "159", "162", "165", "166", "167", "170", "171", "172", "173", "174", "175", "176", "177", "178", "180", "181", "182", "183", "184", "185", "186", "187", "188", "189", "190", "191", "192", "193", "195", "196", "197", "198", "199"]
)
_ID_WORDS = ("身份证", "证件号", "公民身份", "id card", "identity", "resident id", "身份号码")


def _cn_mobile(value: str) -> bool:
    number = digits_only(value)
    number = number[2:] if len(number) == 13 and number.startswith("86") else number
    return len(number) == 11 and number[:3] in _CN_MOBILE_PREFIXES


def _us_ssn(value: str) -> bool:
    area, group, serial = value[:3], value[4:6], value[7:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _hkid(value: str) -> bool:
    compact = value.replace("(", "").replace(")", "").upper()
    prefix, body, check = compact[:-7], compact[-7:-1], compact[-1]
    letters = prefix.rjust(2, " ")
    values = [36 if ch == " " else ord(ch) - 55 for ch in letters] + [int(ch) for ch in body]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True))
    expected = (11 - total % 11) % 11
    return check == ("A" if expected == 10 else str(expected))


def _tw_id(value: str) -> bool:
    letters = "ABCDEFGHJKLMNPQRSTUVXYWZIO"
    code = letters.index(value[0].upper()) + 10
    digits = [code // 10, code % 10] + [int(ch) for ch in value[1:]]
    weights = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1)
    return sum(d * w for d, w in zip(digits, weights, strict=True)) % 10 == 0


def _sg_nric(value: str) -> bool:
    value = value.upper()
    weights = (2, 7, 6, 5, 4, 3, 2)
    total = sum(int(ch) * w for ch, w in zip(value[1:8], weights, strict=True))
    total += 4 if value[0] in "TG" else 3 if value[0] == "M" else 0
    table = {"S": "JZIHGFEDCBA", "T": "JZIHGFEDCBA", "F": "XWUTRQPNMLK", "G": "XWUTRQPNMLK"}
    letters = table.get(value[0], "KLJNPQRTUWX")
    return letters[total % 11] == value[8]


def _nhs_issued(number: str) -> bool:
    """Whether a 10-digit number lies in a range the UK's three health services issue.

    England, Wales and the Isle of Man issue 400 000 000-499 999 999 and 600 000 000-799 999 999,
    England also 3xx xxx xxxx, Northern Ireland's H&C numbers 320 000 001-399 999 999, and
    Scotland's CHI numbers (010 100 0000-311 299 9999) start with the birth date as DDMMYY; 999
    is the test range, never issued (en.wikipedia.org/wiki/NHS_number, "Format, number ranges,
    and check characters"; NHS Data Dictionary, "Community Health Index Number",
    datadictionary.nhs.uk/attributes/community_health_index_number.html). All three share the
    modulus 11 check digit.
    """
    if number[0] in "3467":
        return True
    day, month = int(number[:2]), int(number[2:4])
    return number[0] in "012" and 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]


def _uk_nhs(value: str) -> bool:
    number = digits_only(value)
    if len(number) != 10 or not _nhs_issued(number):
        return False
    check = 11 - mod11_weighted(number[:9], (10, 9, 8, 7, 6, 5, 4, 3, 2))
    check = 0 if check == 11 else check
    return check != 10 and check == int(number[9])


def _es_dni(value: str) -> bool:
    value = value.upper()
    number = {"X": "0", "Y": "1", "Z": "2"}.get(value[0], value[0]) + value[1:8]
    return "TRWAGMYFPDXBNJZSQVHLCKE"[int(number) % 23] == value[8]


def _br_cpf(value: str) -> bool:
    number = digits_only(value)
    if len(number) != 11 or len(set(number)) == 1:
        return False
    for size in (9, 10):
        total = sum(int(ch) * w for ch, w in zip(number[:size], range(size + 1, 1, -1), strict=True))
        if (total * 10) % 11 % 10 != int(number[size]):
            return False
    return True


def _in_aadhaar(value: str) -> bool:
    """12 digits, Verhoeff check digit, never starting with 0 or 1 (UIDAI, "A UID Numbering
    Scheme", 2010, uidai.gov.in/UID_PDF/Working_Papers/A_UID_Numbering_Scheme.pdf, as cited by
    python-stdnum's ``in.aadhaar``; en.wikipedia.org/wiki/Aadhaar)."""
    number = digits_only(value)
    return len(number) == 12 and number[0] not in "01" and verhoeff_valid(number)


def _ca_sin(value: str) -> bool:
    """Luhn over 9 digits; the first digit is the region of registration, and 0 (not assigned)
    and 8 (business numbers) never start a person's SIN; 9 is issued to temporary residents
    (en.wikipedia.org/wiki/Social_insurance_number)."""
    number = digits_only(value)
    return number[0] not in "08" and luhn_valid(number)


def _dob(value: str) -> bool:
    parts = [int(p) for p in value.replace("/", "-").replace(".", "-").split("-")]
    return date_valid(parts[0], parts[1], parts[2])


DETECTORS: tuple[Detector, ...] = (
    Detector("cn_resident_id", "personal", r"\b[1-8]\d{5}(?:19|20)\d{2}[01]\d[0-3]\d{4}[\dXx]\b",
             "Chinese resident identity card number (GB 11643 check digit)", 0.8, gb11643_valid,
             _ID_WORDS, checksum=True, standalone=True),
    Detector("cn_mobile", "personal", r"(?:\+86[ -]?|\b86[ -]?|\b)1[3-9]\d(?:\d{8}|[ -]\d{4}[ -]\d{4})\b",
             "Mainland China mobile phone number", 0.6, _cn_mobile,
             ("手机", "电话", "联系", "mobile", "phone", "tel", "致电"),
             ("订单", "order", "单号", "流水", "sku", "invoice", "发票", "编号"), standalone=True),
    Detector("cn_passport", "personal", r"\b[EGDSP][A-Z]?\d{7,8}\b", "Chinese passport number", 0.5,
             None, ("护照", "passport"), needs_context=True),
    Detector("cn_hk_id", "personal", r"\b[A-Z]{1,2}\d{6}\([0-9A]\)", "Hong Kong identity card (check digit)",
             0.8, _hkid, ("hkid", "身份證", "香港"), checksum=True),
    Detector("cn_tw_id", "personal", r"\b[A-Z][12]\d{8}\b", "Taiwan national identification number",
             0.6, _tw_id, ("身分證", "統一編號", "taiwan"), checksum=True),
    Detector("us_ssn", "personal", r"\b\d{3}-\d{2}-\d{4}\b", "US social security number", 0.65, _us_ssn,
             ("ssn", "social security", "社会保障"), ("order", "invoice", "tel", "phone", "fax"), standalone=True),
    Detector("us_itin", "personal", r"\b9\d{2}-[7-9]\d-\d{4}\b", "US individual taxpayer id", 0.5, None,
             ("itin", "taxpayer"), needs_context=True),
    Detector("uk_nino", "personal", r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
             "UK national insurance number", 0.6, None, ("national insurance", "nino", "ni number")),
    Detector("uk_nhs", "personal", r"\b\d{3} ?\d{3} ?\d{4}\b", "UK NHS number (mod 11)", 0.5, _uk_nhs,
             ("nhs", "national health service", "health service", "health authority", "health and care number",
              "h&c number", "community health index", "chi number", "国民保健", "英国医保"), needs_context=True,
             checksum=True, column_names=("chi",), chance=0.045),
    Detector("es_dni", "personal", r"\b[XYZ\d]\d{7}[A-Za-z]\b", "Spanish DNI/NIE (mod 23 letter)", 0.6,
             _es_dni, ("dni", "nie", "documento"), checksum=True),
    Detector("br_cpf", "personal", r"\b\d{3}\.\d{3}\.\d{3}-\d{2}\b", "Brazilian CPF (two check digits)",
             0.8, _br_cpf, ("cpf",), checksum=True),
    Detector("in_aadhaar", "personal", r"\b[2-9]\d{3}[ -]?\d{4}[ -]?\d{4}\b", "Indian Aadhaar (Verhoeff)", 0.55,
             _in_aadhaar, ("aadhaar", "aadhar", "uidai", "आधार", "阿达尔", "印度身份"), checksum=True, standalone=True,
             negative=("order", "invoice", "ticket", "account", "acct", "upc", "ean", "gtin", "barcode", "sku", "tracking",
              "订单", "单号", "编号", "条码"),
             column_names=("uid",), yields_to=("credit_card", "cn_bank_card", "iban"),
             printed=r"[2-9]\d{3}([ -])\d{4}\1\d{4}", chance=0.1),
    Detector("in_pan", "personal", r"\b[A-Z]{3}[ABCFGHLJPT][A-Z]\d{4}[A-Z]\b", "Indian PAN card", 0.6, None,
             ("pan", "income tax", "permanent account")),
    Detector("sg_nric", "personal", r"\b[STFGM]\d{7}[A-Z]\b", "Singapore NRIC/FIN (check letter)", 0.8,
             _sg_nric, ("nric", "fin"), checksum=True),
    Detector("ca_sin", "personal", r"\b\d{3}[ -]\d{3}[ -]\d{3}\b", "Canadian social insurance number (Luhn)",
             0.5, _ca_sin, ("sin", "social insurance", "social ins", "soc ins", "assurance sociale", "社会保险号"),
             needs_context=True, checksum=True, column_names=("nas",), chance=0.08),
    Detector("email", "personal", r"\b[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b",
             "E-mail address", 0.75, None, ("email", "e-mail", "邮箱", "mail"), yields_to=("password_in_url",)),
    Detector("phone_e164", "personal", r"\+[1-9]\d{0,2}[ -]?\(?\d{1,4}\)?(?:[ -]?\d{2,4}){2,4}\b",
             "International phone number (E.164 with country code)", 0.5, None,
             ("phone", "tel", "mobile", "call", "电话"), needs_context=True),
    Detector("date_of_birth", "personal", r"\b(?:19|20)\d{2}[-/.][01]\d[-/.][0-3]\d\b", "Date of birth", 0.4,
             _dob, ("birth", "dob", "出生", "生日", "born"), needs_context=True),
)
