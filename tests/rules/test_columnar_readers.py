"""Card and routing numbers in a table written by pyarrow as Parquet and as ORC are found through
each column's name: the routing numbers, bare, would be low; under `routing_number`, medium."""

from __future__ import annotations

import io
from collections.abc import Callable

import pyarrow as pa
import pyarrow.orc as orc
import pyarrow.parquet as pq
import pytest

from rules.detectors import scan_text
from rules.extract import extract
from tests.rules.columnar import CARDS

ROUTING = ["011000015", "021000021", "026009593", "121000358", "322271627"]


def written(write: Callable[[pa.Table, io.BytesIO], None]) -> bytes:
    sink = io.BytesIO()
    write(pa.table({"id": pa.array(range(5), pa.int32()), "card_number": [*CARDS, None], "routing_number": ROUTING}),
          sink)
    return sink.getvalue()


@pytest.mark.parametrize(("write", "name"), [(pq.write_table, "accounts.parquet"), (orc.write_table, "accounts.orc")])
def test_cards_and_routing_numbers_are_found_under_their_headers(write: Callable[[pa.Table, io.BytesIO], None],
                                                                 name: str) -> None:
    result = extract(written(write), name)
    assert result.status == "ok", result.reason
    text, findings = result.text, scan_text(result.text)
    assert {text[f.start:f.end].replace(" ", "") for f in findings if f.detector == "credit_card"} == set(CARDS)
    routing = [f for f in findings if f.detector == "us_aba_routing"]
    assert sorted(text[f.start:f.end] for f in routing) == sorted(ROUTING)
    assert all(f.level in ("medium", "high") for f in routing)
