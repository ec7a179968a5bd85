"""UTF-16 text without a byte-order mark (SQL Server's `bcp -w`, some Windows exports): it was
read as UTF-8, each character followed by a NUL, and no detector matched, while the file passed
as `ok`."""

from __future__ import annotations

import os
import struct

import pytest

from rules.detectors import scan_text
from rules.extract import extract
from rules.extract.sniff import sniff

TABLE = "name\tcard\tid\nAda\t4111 1111 1111 1111\t11010519491231002X\n张三\t5500 0000 0000 0004\t-\n"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_read_as_text(encoding: str) -> None:
    data = TABLE.encode(encoding) * 20
    assert sniff(data, "customers.dat") == "text"
    result = extract(data, "customers.dat")
    assert result.status == "ok" and result.text.startswith("name\tcard\tid\nAda")
    assert sum(f.detector == "credit_card" for f in scan_text(result.text)) == 40


def test_sixteen_bit_audio_is_not_text() -> None:
    quiet = b"".join(struct.pack("<h", (n * 37) % 200 - 100) for n in range(4000))  # small samples: high bytes 0 or FF
    noise = os.urandom(8000)
    for data in (quiet, noise, bytes(8000)):
        assert sniff(data, "sound.raw") != "text"
