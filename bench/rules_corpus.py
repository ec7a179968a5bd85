"""Deterministic corpora for the rules benchmark: mixed text for throughput, a labelled set for
precision/recall, adversarial inputs for worst-case time, and big policy packs for load time."""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Callable

from bench.rules_values import hard_negatives

_WORD_TEXT = (
    "the of and to in is that for it as was with be by on not he this are or his from at which but have an "
    "they you were her she there been one all we their has would when if so no what up out about into them "
    "can only other time new some could these two may first then do any like my now over such our man me "
    "even most made after also did many before must through back years where much your way well down should "
    "because each just those people how too little state good very make world still own see men work long "
    "get here between both life being under never day same another know while last might us great old year "
    "off come since against go came right used take three report quarterly revenue customer contract budget "
    "meeting project review approval invoice payment account service product market growth strategy risk"
)
WORDS = tuple(_WORD_TEXT.split())
HANZI = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法"
         "所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政"
         "四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最"
         "客户合同预算会议项目审批发票付款账户服务产品市场增长战略风险报告季度收入")
CONTEXT = {
    "credit_card": ["card number", "信用卡", "visa"], "cn_bank_card": ["银行卡号", "卡号"],
    "cn_resident_id": ["身份证号码", "身份证"], "cn_mobile": ["手机", "电话"], "cn_uscc": ["统一社会信用代码"],
    "iban": ["IBAN", "bank account"], "us_ssn": ["SSN", "social security"], "us_aba_routing": ["routing number"],
    "email": ["email", "邮箱"], "ipv4": ["server ip", "host"], "ipv6": ["server ip", "host"],
    "br_cpf": ["CPF"], "bitcoin_address": ["btc wallet"], "uk_nhs": ["NHS number", "NHS no"],
    "sg_nric": ["NRIC", "NRIC/FIN"], "cn_hk_id": ["HKID", "香港身份證"], "cn_tw_id": ["身分證字號", "Taiwan ID"],
    "es_dni": ["DNI", "NIE"], "in_aadhaar": ["Aadhaar", "आधार"], "ca_sin": ["SIN", "social insurance number"],
}


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def hanzi(rng: random.Random, chars: int) -> str:
    return "".join(rng.choice(HANZI) for _ in range(chars)) + "。"


def _log_line(rng: random.Random) -> str:
    stamp = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:" \
            f"{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z"
    if rng.random() < 0.3:
        ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        return f'{ip} - - [{stamp}] "GET /api/v1/items/{rng.randint(1, 99999)} HTTP/1.1" 200 {rng.randint(100, 99999)}'
    return (f"{stamp} {rng.choice(['INFO', 'DEBUG', 'WARN'])} worker-{rng.randint(1, 16)} request_id="
            f"{uuid.UUID(int=rng.getrandbits(128))} job {rng.randint(1, 10**6)} took {rng.randint(1, 999)}ms")


def _code_line(rng: random.Random) -> str:
    name = "_".join(rng.choice(WORDS) for _ in range(2))
    return rng.choice([
        f"    {name} = compute_{rng.choice(WORDS)}({rng.randint(0, 9999)}, retries={rng.randint(1, 5)})",
        f"def {name}(self, value: int) -> int:",
        f"    if {name} > {rng.randint(0, 100)}:  # {sentence(rng, 5)}",
        f'    logger.info("{sentence(rng, 6)}", extra={{"id": {rng.randint(0, 10**8)}}})',
        f"    return [{', '.join(str(rng.randint(0, 999)) for _ in range(6))}]",
    ])


def _table_line(rng: random.Random) -> str:
    return ",".join([f"SKU-{rng.randint(10**6, 10**7)}", rng.choice(WORDS), f"{rng.uniform(1, 9999):.2f}",
                     f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", str(rng.randint(1, 500))])


def _prose_line(rng: random.Random) -> str:
    return sentence(rng, rng.randint(8, 30)) if rng.random() < 0.6 else hanzi(rng, rng.randint(20, 80))


def line_pool(seed: int, size: int, generators: dict[str, Callable[[random.Random], str]],
              insert_rate: float = 0.002) -> list[str]:
    """Prose, code, logs and tables; one line in `1/insert_rate` carries a real sensitive value."""
    rng = random.Random(seed)
    makers = [_prose_line] * 35 + [_code_line] * 25 + [_log_line] * 25 + [_table_line] * 15
    lines = []
    kinds = sorted(generators)
    for _ in range(size):
        line = rng.choice(makers)(rng)
        if rng.random() < insert_rate:
            kind = rng.choice(kinds)
            line += f" {rng.choice(CONTEXT.get(kind, ['value']))}: {generators[kind](rng)}"
        lines.append(line)
    return lines


def mixed_documents(total_mb: int, doc_mb: int, seed: int,
                    generators: dict[str, Callable[[random.Random], str]]) -> list[str]:
    """`total_mb` of text in documents of `doc_mb`, built by sampling a pool of lines."""
    pool = line_pool(seed, 50_000, generators)
    rng = random.Random(seed + 1)
    average = sum(len(line.encode()) + 1 for line in pool) / len(pool)
    per_doc = int(doc_mb * 1_000_000 / average)
    return ["\n".join(rng.choices(pool, k=per_doc)) for _ in range(max(1, total_mb // doc_mb))]


LabelledDocument = tuple[str, list[tuple[str, int, int]], bool]


def labelled_documents(seed: int, per_type: int,
                       generators: dict[str, Callable[[random.Random], str]]) -> list[LabelledDocument]:
    """Short documents with known sensitive values (label, start, end) and hard negatives; the flag
    says whether the value is named by one of its context words (every other sample) or by a random word."""
    rng = random.Random(seed)
    documents = []
    for kind in sorted(generators):
        for index in range(per_type):
            parts: list[str] = [sentence(rng, rng.randint(5, 15)) if rng.random() < 0.6 else hanzi(rng, 30)]
            context = rng.choice(CONTEXT.get(kind, ["value"])) if index % 2 == 0 else rng.choice(WORDS)
            value = generators[kind](rng)
            prefix = " ".join(parts) + f" {context}: "
            labels = [(kind, len(prefix), len(prefix) + len(value))]
            tail = f" {sentence(rng, 6)} " + " ; ".join(rng.sample(hard_negatives(rng), 4)) + " " + hanzi(rng, 10)
            documents.append((prefix + value + tail, labels, index % 2 == 0))
    return documents


def adversarial_inputs(size: int) -> dict[str, str]:
    """Inputs built to be slow: dense candidates, near-misses, long runs, nothing but separators."""
    def fill(unit: str) -> str:
        return (unit * (size // max(1, len(unit.encode())) + 1))[:size]

    return {
        "digits": fill("1"), "spaced digits": fill("4 "), "dense cards": fill("4111111111111111 "),
        "Luhn near-misses": fill("4111111111111112 "), "dense IPv4": fill("10.1.2.3 "), "dots": fill("1."),
        "dense e-mail": fill("a@b.co "), "at signs": fill("a@"), "hex": fill("deadbeef"), "colons": fill("f:"),
        "base64": fill("eyJhbGciOiJIUzI1NiJ9"), "dashes": fill("1-"), "CJK": fill("身份证号码"),
        "random bytes": "".join(random.Random(7).choice(string.printable) for _ in range(size)),
        **hostile_tables(size),
    }


def hostile_tables(size: int) -> dict[str, str]:
    """Tables built to make the column-header lookup (`rules.tables`) slow: a million columns,
    thousands of tiny tables, quotes everywhere, delimiters changing every line, no header at all;
    and one-column lists and inline lists, whose values are counted by block (`rules.columns`)."""
    def fill(unit: str, head: str = "") -> str:
        return (head + unit * (size // len(unit.encode()) + 1))[:size]

    routing = "021000021"
    return {
        "table: a million columns": fill(f"{routing},", "routing," * (size // 24) + "\n"),
        "table: header row of a million commas": fill(f"{routing},450 557 7104,146 454 285\n", "NHS number" + "," * (size // 3) + "\n"),
        "table: tiny ragged tables": fill("".join(f"routing,SIN\n{routing}{',' * i}\n\n" for i in range(7))),
        "table: quoted cells": fill(f'"a,b","c"",d",{routing}\n', "x,y,routing\n"),
        "table: quotes only": fill('"' * 40 + f",{routing}\n", "routing,x\n"),
        "table: delimiter changes every line": fill("".join(f"routing{d}x\n{routing}{d}1\n" for d in ",;\t|")),
        "table: tall, header far above": fill(f"{routing}\t450 557 7104\t146 454 285\n", "routing\tNHS number\tSIN\n"),
        "list: one value per line": fill(f"{routing}\n450 557 7104\n146 454 285\n"),
        "list: blocks of one line": fill(f"{routing}\n\n146 454 285\n \n"),
        "inline: one paragraph listing numbers": fill(f"{routing}, 450 557 7104 and 146 454 285; 2341 2341 2346, "),
        "inline: separators only": fill(", and 、和; "),
    }


def policy_pack(rules: int, seed: int = 3) -> str:
    """A policy with `rules` rules, 20 custom regex detectors and 5 keyword lists (YAML text)."""
    rng = random.Random(seed)
    builtin = ["credit_card", "cn_resident_id", "cn_mobile", "iban", "us_ssn", "email", "aws_access_key", "jwt"]
    channels = ["file_upload", "removable_media", "cloud_sync", "network_share", "clipboard", "print"]
    out = ["version: 1", "zone: bench", "detectors:"]
    out += [f"  - id: custom_{i}\n    pattern: 'PRJ{i:03d}-[0-9]{{6}}'\n    context: [project]" for i in range(20)]
    out.append("keywords:")
    out += [f"  - id: words_{i}\n    words: [{', '.join(f'codename{i}x{j}' for j in range(20))}, 机密{i}]"
            for i in range(5)]
    out.append("rules:")
    for i in range(rules):
        detectors = rng.sample(builtin + [f"custom_{rng.randrange(20)}", f"words_{rng.randrange(5)}"], 3)
        out.append(f"  - id: rule-{i}\n    channels: [{', '.join(rng.sample(channels, 3))}]\n    when:\n"
                   f"      detectors: [{', '.join(detectors)}]\n      min_confidence: medium\n"
                   f"      min_count: {rng.randint(1, 20)}\n    destinations:\n"
                   f"      allow: [corp{i}.example.com]\n    action: {rng.choice(['audit', 'warn', 'block'])}\n"
                   f"    severity: {rng.choice(['low', 'medium', 'high'])}")
    return "\n".join(out) + "\n"
