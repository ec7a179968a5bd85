"""The tabular slice of the labelled corpus: CSV and TSV tables as they leave a company.

Every labelled value sits in a column whose header names its type, in English or in Chinese, as an
export would name it (the names below were written from how such columns are named, not from the
detectors' word lists: several are not in them, e.g. "RTN", "UID", "路由号码"). The other columns
hold the prose corpus's hard-negative kinds, bare, under a header that names them ("QQ", "Bytes",
"订单号", "Phone"...); one table in three names nothing sensitive at all. One table in ten is long
(500-2,000 rows, the typed column empty until the last rows), so its header is far above the values.
"""

from __future__ import annotations

import hashlib
import random
import string
import uuid
from collections.abc import Callable

from bench.rules_values import (
    _alnum,
    _digits,
    cn_resident_id,
    cn_uscc,
    cusip,
    github_token,
    luhn_complete,
    mutate_check_digit,
    upc_a,
)

#: How an export names each type's column: (English names, Chinese names).
HEADERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "aws_access_key": (("AWS Access Key ID", "access_key"), ("访问密钥ID", "AK")),
    "bitcoin_address": (("BTC Address", "Wallet"), ("比特币地址", "钱包地址")),
    "br_cpf": (("CPF", "cpf_number"), ("CPF号码", "巴西税号")),
    "ca_sin": (("SIN", "Social Insurance Number", "sin_no"), ("社会保险号", "SIN号码")),
    "cn_bank_card": (("Bank Card No", "UnionPay Card"), ("银行卡号", "开户账号")),
    "cn_hk_id": (("HKID", "HK ID No"), ("香港身份證", "身份證號碼")),
    "cn_mobile": (("Mobile", "Phone (CN)"), ("手机号", "联系电话")),
    "cn_resident_id": (("Resident ID", "ID Card No"), ("身份证号", "公民身份号码")),
    "cn_tw_id": (("Taiwan ID", "National ID (TW)"), ("身分證字號", "身分證號")),
    "cn_uscc": (("Credit Code", "USCC"), ("统一社会信用代码", "税号")),
    "credit_card": (("Card Number", "Credit Card", "PAN"), ("信用卡号", "卡号")),
    "email": (("Email", "E-mail Address"), ("邮箱", "电子邮件")),
    "es_dni": (("DNI", "NIF/NIE"), ("DNI号码", "西班牙身份证号")),
    "github_token": (("GitHub Token", "token"), ("GitHub令牌", "访问令牌")),
    "google_api_key": (("Google API Key", "api_key"), ("谷歌API密钥", "API密钥")),
    "iban": (("IBAN", "Bank Account (IBAN)"), ("IBAN账号", "国际银行账号")),
    "in_aadhaar": (("Aadhaar", "Aadhaar No", "UID"), ("Aadhaar号码", "印度身份号")),
    "ipv4": (("IP Address", "host_ip"), ("IP地址", "服务器IP")),
    "ipv6": (("IPv6 Address", "host_ip"), ("IPv6地址", "服务器IP")),
    "jwt": (("JWT", "Bearer Token"), ("JWT令牌", "访问令牌")),
    "npm_token": (("NPM Token", "npm_auth"), ("NPM令牌", "发布令牌")),
    "password_in_url": (("Connection String", "DSN"), ("数据库连接串", "连接地址")),
    "private_key": (("Private Key", "ssh_key"), ("私钥", "SSH私钥")),
    "sendgrid_key": (("SendGrid Key", "mail_api_key"), ("SendGrid密钥", "邮件API密钥")),
    "sg_nric": (("NRIC", "NRIC/FIN"), ("NRIC号码", "新加坡身份证号")),
    "slack_token": (("Slack Token", "bot_token"), ("Slack令牌", "机器人令牌")),
    "stripe_key": (("Stripe Secret Key", "stripe_sk"), ("Stripe密钥", "支付密钥")),
    "uk_nhs": (("NHS Number", "NHS No.", "nhs_number"), ("NHS号码", "国民保健号")),
    "us_aba_routing": (("Routing Number", "ABA", "RTN"), ("路由号码", "ABA号")),
    "us_ssn": (("SSN", "Social Security No"), ("社会安全号", "SSN号码")),
}

Column = tuple[str, str, Callable[[random.Random], str]]  # English header, Chinese header, a bare value


def _nine(rng: random.Random) -> str:
    return str(rng.randint(10**8, 10**9 - 1))


def _phone(rng: random.Random) -> str:
    return f"{rng.randint(2, 9)}{_digits(rng, 2)} {rng.randint(2, 9)}{_digits(rng, 2)} {_digits(rng, 4)}"


#: The prose corpus's hard-negative kinds (`bench.rules_values.hard_negatives`) as table columns.
NEGATIVE_COLUMNS: tuple[Column, ...] = (
    ("Order No", "订单号", lambda r: _digits(r, 16)),
    ("Tracking", "运单号", lambda r: f"{r.choice('123')}Z{_alnum(r, 16, string.ascii_uppercase + string.digits)}"),
    ("Timestamp (ms)", "时间戳", lambda r: str(r.randint(1_500_000_000_000, 1_800_000_000_000))),
    ("Created At", "创建时间", lambda r: f"{r.randint(2000, 2030)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T"
                                         f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}Z"),
    ("Request ID", "请求ID", lambda r: str(uuid.UUID(int=r.getrandbits(128)))),
    ("SHA-256", "校验值", lambda r: hashlib.sha256(r.randbytes(8)).hexdigest()),
    ("Commit", "提交号", lambda r: hashlib.sha1(r.randbytes(8)).hexdigest()),
    ("MD5", "文件MD5", lambda r: hashlib.md5(r.randbytes(8)).hexdigest()),
    ("Invoice No", "发票号码", lambda r: _digits(r, 18)),
    ("Build", "构建号", lambda r: f"{r.randint(1, 9)}.{r.randint(0, 30)}.{r.randint(0, 300)}.{r.randint(1000, 99999)}"),
    ("SKU", "商品编码", lambda r: f"SKU-{_digits(r, 11)}"),
    ("Reference", "参考号", lambda r: f"1{r.choice('012')}{_digits(r, 9)}"),
    ("Card (rejected)", "卡号(无效)", lambda r: mutate_check_digit(r, luhn_complete(r, r.choice(["4", "51", "37", "6011", "62"]), 16))),
    ("ID No (unverified)", "身份证号(待核)", lambda r: mutate_check_digit(r, cn_resident_id(r))),
    ("Credit Code (draft)", "信用代码(草稿)", lambda r: mutate_check_digit(r, cn_uscc(r))),
    ("Token (revoked)", "令牌(已吊销)", lambda r: mutate_check_digit(r, github_token(r))),
    ("Code", "代码", lambda r: f"{r.randint(0, 999)}-{r.randint(0, 99):02d}-{r.randint(0, 9999):04d}x"),
    ("Version", "版本", lambda r: f"v{r.randint(1, 300)}.{r.randint(256, 999)}.{r.randint(0, 9)}.{r.randint(0, 9)}"),
    ("QQ", "QQ号", _nine),
    ("CUSIP", "证券代码", cusip),
    ("Case", "案件号", lambda r: _digits(r, 9)),
    ("Ticket", "工单号", lambda r: _digits(r, 9)),
    ("Customer No", "客户编号", lambda r: _digits(r, 9)),
    ("Bytes", "字节数", _nine),
    ("Duration (ns)", "耗时(纳秒)", _nine),
    ("Rows", "行数", _nine),
    ("Amount (CNY)", "金额(元)", _nine),
    ("AWS Account", "AWS账号", lambda r: _digits(r, 12)),
    ("UPC", "条码", upc_a),
    ("Phone", "电话", _phone),
)
_SURNAMES = ("Smith", "Lee", "Garcia", "Wang", "Patel", "Brown", "Kim", "Nguyen", "Müller", "Rossi")
_GIVEN = ("Ann", "John", "Wei", "Maria", "Raj", "Emma", "Li", "Omar", "Sofia", "Ken")

#: text, labels, header language ("en" or "zh"), the typed column's header ("" when none)
TabularDocument = tuple[str, list[tuple[str, int, int]], str, str]


def _cell(value: str, delimiter: str) -> str:
    return f'"{value}"' if delimiter in value or '"' in value else value


def _layout(rng: random.Random, remaining: int) -> tuple[int, list[int]]:
    """(rows, the rows that hold a value): mostly short tables filled throughout; one in ten long,
    its typed column empty until the last rows."""
    values = min(remaining, rng.choice((1, 2, 3, 5, 8, 12)))
    if rng.random() < 0.1:
        rows = rng.randint(500, 2000)
        return rows, list(range(rows - values, rows))
    rows = values + rng.randint(0, 3)
    return rows, sorted(rng.sample(range(rows), values))


def _render(rows: list[list[str]], delimiter: str, title: str | None, target: int,
            kind: str | None) -> tuple[str, list[tuple[str, int, int]]]:
    """The table as text, and the span of every non-empty cell in column `target` (labelled `kind`)."""
    lines, labels, offset = ([title] if title else []), [], 0
    offset = len(title) + 1 if title else 0
    for number, row in enumerate(rows):
        cells = [_cell(c, delimiter) for c in row]
        if kind is not None and number > 0 and row[target]:
            start = offset + sum(len(c) + 1 for c in cells[:target]) + (cells[target] != row[target])
            labels.append((kind, start, start + len(row[target])))
        line = delimiter.join(cells)
        lines.append(line)
        offset += len(line) + 1
    return "\n".join(lines) + "\n", labels


def _table(rng: random.Random, zh: bool, header: str | None, values: list[str | None]) -> tuple[list[list[str]], int]:
    """Rows (header first) of a name column, three hard-negative columns and, when `header` is
    given, the typed column at a random place holding `values` (None: empty cell)."""
    negatives = rng.sample(NEGATIVE_COLUMNS, 3)
    head = ["姓名" if zh else "Name", *(c[1] if zh else c[0] for c in negatives)]
    target = rng.randint(1, len(head))
    if header is not None:
        head.insert(target, header)
    rows = [head]
    for value in values:
        row = [f"{rng.choice(_SURNAMES)}, {rng.choice(_GIVEN)}", *(c[2](rng) for c in negatives)]
        if header is not None:
            row.insert(target, value or "")
        rows.append(row)
    return rows, target


def tabular_documents(seed: int, per_type: int,
                      generators: dict[str, Callable[[random.Random], str]]) -> list[TabularDocument]:
    """For each type, tables holding `per_type` values in all, headers in English or Chinese
    (alternating by table, each name in turn), CSV or TSV at random; and one table in three
    without any typed column."""
    rng = random.Random(seed)
    documents: list[TabularDocument] = []
    for kind in sorted(generators):
        remaining, number = per_type, 0
        while remaining:
            language = "zh" if number % 2 else "en"
            count, filled = _layout(rng, remaining)
            values: list[str | None] = [generators[kind](rng) if i in filled else None for i in range(count)]
            names = HEADERS[kind][language == "zh"]
            header = names[number // 2 % len(names)]  # each name in turn: the split by language stays even
            documents.append(_document(rng, language, header, values, kind))
            remaining, number = remaining - len(filled), number + 1
            if number % 2 == 0:
                documents.append(_document(rng, rng.choice(("en", "zh")), None, [None] * rng.randint(5, 30), None))
    return documents


def _document(rng: random.Random, language: str, header: str | None, values: list[str | None],
              kind: str | None) -> TabularDocument:
    zh = language == "zh"
    rows, target = _table(rng, zh, header, values)
    title = rng.choice((None, f"{'导出' if zh else 'Export'} 2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"))
    text, labels = _render(rows, rng.choice((",", "\t")), title, target, kind)
    return text, labels, language, header or ""
