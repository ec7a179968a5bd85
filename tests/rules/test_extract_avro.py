"""Avro object container files (`rules/extract/avro.py`), every file written by fastavro (an
independent writer, what Python data pipelines use), its own reader giving the expected cells."""

from __future__ import annotations

import datetime
import decimal
import io
import random
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.detectors import scan_text
from rules.extract import Limits, extract
from rules.extract.avro import avro_content
from rules.extract.budget import Budget
from rules.extract.sniff import sniff

fastavro = pytest.importorskip("fastavro", reason="fastavro writes the files (test extras)")

SCHEMA: dict[str, Any] = {"type": "record", "name": "Customer", "namespace": "crm", "fields": [
    {"name": "name", "type": "string"}, {"name": "card_number", "type": ["null", "string"]},
    {"name": "age", "type": "int"}, {"name": "score", "type": "double"}, {"name": "ok", "type": "boolean"},
    {"name": "born", "type": {"type": "int", "logicalType": "date"}},
    {"name": "seen", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "balance", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "attrs", "type": {"type": "map", "values": "long"}},
    {"name": "address", "type": ["null", {"type": "record", "name": "Address", "fields": [
        {"name": "city", "type": "string"}, {"name": "zip", "type": "string"}]}]},
    {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["GOLD", "SILVER"]}},
    {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
]}
HEADER = ["name", "card_number", "age", "score", "ok", "born", "seen", "balance", "tags", "attrs", "address.city",
          "address.zip", "kind", "id"]
CARDS = ["4111111111111111", "5500005555555559", "340000000000009", "6011000990139424", "3530111333300000"]


def _records(count: int, seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        out.append({
            "name": f"Customer {n} 客户", "card_number": CARDS[n % 5] if n % 3 else None, "age": rng.randint(-5, 99),
            "score": rng.choice([1.5, 2.0, rng.random()]), "ok": n % 2 == 0,
            "born": datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randint(0, 25000)),
            "seen": datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(
                milliseconds=rng.randint(0, 10**10)),
            "balance": decimal.Decimal(rng.randint(-10**9, 10**9)) / 100, "tags": [f"t{k}" for k in range(n % 3)],
            "attrs": {f"k{k}": k for k in range(n % 2)},
            "address": {"city": "Paris", "zip": f"750{n % 20:02d}"} if n % 4 else None,
            "kind": "GOLD" if n % 5 else "SILVER", "id": uuid.UUID(int=n),
        })
    return out


def _expected(record: dict[str, Any]) -> list[str]:
    """Each cell as the reader's contract says, from the values fastavro reads back."""
    seen = record["seen"].replace(tzinfo=None)
    score = record["score"]
    return [record["name"], record["card_number"] or "", str(record["age"]),
            str(int(score)) if score.is_integer() else format(score, ".15g"), "true" if record["ok"] else "false",
            record["born"].isoformat(), seen.isoformat(" ") if seen.microsecond else seen.isoformat(" ")[:19],
            f"{record['balance']:f}", ", ".join(record["tags"]), ", ".join(f"{k}: {v}" for k, v in record["attrs"].items()),
            record["address"]["city"] if record["address"] else "", record["address"]["zip"] if record["address"] else "",
            record["kind"], str(record["id"])]


def _file(records: list[dict[str, Any]], schema: dict[str, Any] = SCHEMA, **options: Any) -> bytes:
    sink = io.BytesIO()
    fastavro.writer(sink, fastavro.parse_schema(schema), records, **options)
    return sink.getvalue()


def _rows(text: str) -> list[list[str]]:
    block = text.split("Avro records\n\n", 1)[1].split("\n\n", 1)[0]
    return [line.split("\t") for line in block.removesuffix("\n").split("\n")]


@pytest.mark.parametrize("codec", ["null", "deflate", "snappy", "bzip2", "xz"])
def test_every_record_of_every_block_is_a_row_as_fastavro_reads_it(codec: str) -> None:
    data = _file(_records(1500), codec=codec, sync_interval=4000)  # many blocks
    assert sniff(data, "x.bin") == "avro"
    extraction = extract(data, "customers.avro")
    assert extraction.status == "ok" and extraction.file_type == "avro", extraction.reason
    theirs = list(fastavro.reader(io.BytesIO(data)))
    assert _rows(extraction.text) == [HEADER] + [_expected(r) for r in theirs]


def _zigzag(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        out.append(n & 0x7F | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def test_zstandard_blocks_are_read() -> None:
    """fastavro needs another package for zstandard: the file is rebuilt from a null-codec one,
    its blocks compressed with zstandard and its metadata naming the codec (the spec's layout)."""
    import zstandard

    records = _records(300)
    plain = _file(records, codec="null", sync_interval=3000)
    reader = fastavro.block_reader(io.BytesIO(plain))
    schema_json = reader.metadata["avro.schema"].encode()
    sync = plain[len(plain) - 16:]
    out = bytearray(b"Obj\x01" + _zigzag(2))
    for key, value in ((b"avro.schema", schema_json), (b"avro.codec", b"zstandard")):
        out += _zigzag(len(key)) + key + _zigzag(len(value)) + value
    out += _zigzag(0) + sync
    for block in reader:
        packed = zstandard.ZstdCompressor().compress(block.bytes_.getvalue())
        out += _zigzag(block.num_records) + _zigzag(len(packed)) + packed + sync
    extraction = extract(bytes(out), "z.avro")
    assert extraction.status == "ok", extraction.reason
    assert _rows(extraction.text) == [HEADER] + [_expected(r) for r in fastavro.reader(io.BytesIO(plain))]


def test_card_numbers_are_found_under_their_field_name() -> None:
    text = extract(_file(_records(30)), "c.avro").text
    found = {text[f.start:f.end] for f in scan_text(text) if f.detector == "credit_card"}
    assert found == set(CARDS)


def test_a_schema_that_is_not_a_record_is_one_column() -> None:
    data = _file(["alpha", "4111 1111 1111 1111"], schema={"type": "string"})
    assert _rows(extract(data, "s.avro").text) == [["value"], ["alpha"], ["4111 1111 1111 1111"]]


def test_a_recursive_record_is_read_to_its_depth() -> None:
    schema = {"type": "record", "name": "Node", "fields": [
        {"name": "value", "type": "string"}, {"name": "next", "type": ["null", "Node"]}]}
    data = _file([{"value": "a", "next": {"value": "b", "next": {"value": "c", "next": None}}}], schema=schema)
    assert _rows(extract(data, "r.avro").text) == [["value", "next"], ["a", "value: b, next: value: c"]]


def test_a_damaged_block_keeps_the_records_before_it() -> None:
    data = _file(_records(400), sync_interval=2000)
    cut = data[: len(data) * 2 // 3]  # the file ends inside a block
    text, problems = avro_content(cut, Budget(Limits(), len(cut)), "cut.avro")
    rows = _rows(text)
    assert 1 < len(rows) < 401 and rows[1] == _expected(next(fastavro.reader(io.BytesIO(data))))
    assert problems and "the records before it were read" in problems[0]


def test_a_deflate_bomb_is_named_not_inflated() -> None:
    schema = {"type": "record", "name": "Blob", "fields": [{"name": "text", "type": "string"}]}
    data = _file([{"text": "0" * (8 << 20)}], schema=schema, codec="deflate")
    assert len(data) < 100_000
    text, problems = avro_content(data, Budget(Limits(max_expanded_bytes=1 << 20), len(data)), "bomb.avro")
    assert problems and "expands beyond" in problems[0] and len(text) < 200


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_files_never_raise(data: st.DataObject) -> None:
    base = _BASE.setdefault("file", _file(_records(40), codec="deflate", sync_interval=1500))
    mutated = bytearray(base)
    for _ in range(data.draw(st.integers(1, 10))):
        mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        mutated = mutated[: data.draw(st.integers(4, len(mutated)))]
    assert extract(bytes(mutated), "m.avro").status in ("ok", "unscannable")


_BASE: dict[str, bytes] = {}
