"""Access databases (`rules/extract/access.py`), read from files of the tests' writer
(`tests/rules/mdb_pack.py`, which mdbtools and access_parser check): each table as text with
its header row, every value kind, long values on LVAL pages, deleted and moved rows, encoded and
password-protected databases, files kept in OLE columns, damage of every kind."""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.detectors import scan_text
from rules.extract import Limits, extract, extract_path
from rules.extract.access import PAGE, access_content, is_access
from rules.extract.budget import Budget
from rules.extract.sniff import sniff
from tests.rules.mdb_pack import Attachment, Column, Table, mdb_pack

CARDS = ["4111111111111111", "5500005555555559", "340000000000009", "6011000990139424", "3530111333300000"]


def customers(rows: int = 5, *, deleted: list[int] | None = None) -> Table:
    columns = [Column("Id", "long"), Column("Name", "text", 50), Column("Card number", "text", 20),
               Column("Notes", "memo")]
    data = [[n + 1, f"Customer {n}", CARDS[n % len(CARDS)], f"note {n}"] for n in range(rows)]
    return Table("Customers", columns, data, deleted=deleted or [])


def read(data: bytes, name: str = "db.accdb", limits: Limits | None = None) -> tuple[str, list, list[str]]:
    limits = limits or Limits()
    return access_content(data, Budget(limits, len(data)), name)


def lines_of(text: str, table: str) -> list[list[str]]:
    """The rows under `table`'s heading: the header row first."""
    block = text.split(f"{table}\n\n", 1)[1].split("\n\n", 1)[0]
    return [line.split("\t") for line in block.removesuffix("\n").split("\n")]


@pytest.mark.parametrize("version", ["jet4", "ace12", "ace14"])
def test_each_table_is_its_name_a_header_row_and_a_row_a_line(version: str) -> None:
    data, _ = mdb_pack([customers(), Table("Staff", [Column("Who", "text", 30), Column("Salary", "currency")],
                                           [["Ann", Decimal("5000.25")], ["Bob", Decimal("-12.5")]])],
                       version=version)
    assert is_access(data) and sniff(data, "x.bin") == "access"
    text, files, problems = read(data)
    assert problems == [] and files == []
    rows = lines_of(text, "Customers")
    assert rows[0] == ["Id", "Name", "Card number", "Notes"]
    assert rows[1:] == [[str(n + 1), f"Customer {n}", CARDS[n], f"note {n}"] for n in range(5)]
    assert lines_of(text, "Staff") == [["Who", "Salary"], ["Ann", "5000.25"], ["Bob", "-12.50"]]
    assert "MSysObjects" not in text


def test_the_card_column_is_found_through_extract_and_the_scanner() -> None:
    data, _ = mdb_pack([customers()])
    extraction = extract(data, "crm.mdb")
    assert extraction.status == "ok" and extraction.file_type == "access"
    found = {extraction.text[f.start:f.end] for f in scan_text(extraction.text) if f.detector == "credit_card"}
    assert found == set(CARDS)


def test_every_value_kind_is_written_as_access_shows_it() -> None:
    guid = uuid.UUID("12345678-9abc-def0-1234-56789abcdef0")
    columns = [Column("L", "long"), Column("I", "int"), Column("B", "byte"), Column("D", "double"),
               Column("S", "single"), Column("C", "currency"), Column("T", "datetime"), Column("Y", "bool"),
               Column("G", "guid"), Column("N", "numeric", precision=28, scale=2), Column("X", "text", 40)]
    row = [-7, 300, 255, 4111111111111111.0, 1.5, Decimal("1234.5678"), datetime(1987, 6, 5),
           True, guid, Decimal("-123.45"), "plain"]
    second = [2147483647, -32768, 0, 0.25, -2.0, Decimal("0"), datetime(2024, 2, 29, 13, 45, 30),
              False, guid, Decimal("987654321098765432.10"), None]
    data, _ = mdb_pack([Table("Kinds", columns, [row, second])])
    text, _, problems = read(data)
    assert problems == []
    rows = lines_of(text, "Kinds")
    assert rows[1] == ["-7", "300", "255", "4111111111111111", "1.5", "1234.5678", "1987-06-05", "Yes",
                       "{12345678-9ABC-DEF0-1234-56789ABCDEF0}", "-123.45", "plain"]
    assert rows[1][9] == "-123.45"
    assert rows[2][:9] == ["2147483647", "-32768", "0", "0.25", "-2", "0.00", "2024-02-29 13:45:30", "No",
                           "{12345678-9ABC-DEF0-1234-56789ABCDEF0}"]
    assert rows[2][9:] == ["987654321098765432.10", ""]


def test_nulls_are_empty_cells() -> None:
    columns = [Column("A", "text", 10), Column("B", "long"), Column("C", "memo"), Column("D", "double")]
    data, _ = mdb_pack([Table("Sparse", columns, [[None, None, None, None], ["x", 1, "m", 2.5], [None, 2, None, None]])])
    text, _, _ = read(data)
    assert lines_of(text, "Sparse")[1:] == [["", "", "", ""], ["x", "1", "m", "2.5"], ["", "2", "", ""]]


def test_memos_inline_on_one_lval_page_and_chained_are_read_whole() -> None:
    rng = random.Random(4)
    short = "short memo"
    one_page = "card 4111111111111111 " + "".join(rng.choice("abcdefgh ") for _ in range(1500))
    chained = "".join(rng.choice("abcdefghij ") for _ in range(20_000)) + " end 5500005555555559"
    chinese = "客户资料 " * 300 + "身份证 11010519491231002X"
    columns = [Column("Id", "long"), Column("Body", "memo")]
    data, stats = mdb_pack([Table("Memos", columns, [[1, short], [2, one_page], [3, chained], [4, chinese]])])
    assert stats.inline_memos >= 1 and stats.single_page_memos >= 1 and stats.chained_memos >= 1
    text, _, problems = read(data)
    assert problems == []
    bodies = [row[1] for row in lines_of(text, "Memos")[1:]]
    assert bodies == [short, one_page, chained, chinese]


@pytest.mark.parametrize("compress", [True, False])
def test_text_in_both_encodings_with_mode_switches(compress: bool) -> None:
    values = ["plain ascii", "混合 mixed 文本 text", "Ünïcödé café", "中文", "a" * 255, "tab\there"]
    data, stats = mdb_pack([Table("T", [Column("V", "text", 255)], [[v] for v in values])], compress_text=compress)
    assert (stats.compressed_strings > 0) == compress
    text, _, _ = read(data)
    assert [row[0] for row in lines_of(text, "T")[1:]] == [v.replace("\t", " ") for v in values]


def test_thousands_of_rows_over_many_pages_in_order() -> None:
    rng = random.Random(9)
    rows = [[n, f"{rng.randint(10**8, 10**9 - 1)}", "x" * rng.randint(0, 60)] for n in range(5000)]
    table = Table("Big", [Column("N", "long"), Column("Account", "text", 20), Column("Pad", "text", 80)], rows)
    data, stats = mdb_pack([table])
    assert stats.data_pages > 20
    text, _, problems = read(data)
    assert problems == []
    assert lines_of(text, "Big")[1:] == [[str(r[0]), r[1], r[2]] for r in rows]


def test_a_table_of_seventy_columns_spans_two_definition_pages() -> None:
    columns = [Column(f"Column number {n} with a long name", "text", 20) for n in range(70)]
    data, _ = mdb_pack([Table("Wide", columns, [[f"v{n}" for n in range(70)], [None] * 69 + ["last"]])])
    text, _, problems = read(data)
    assert problems == []
    rows = lines_of(text, "Wide")
    assert rows[0] == [c.name for c in columns]
    assert rows[1] == [f"v{n}" for n in range(70)] and rows[2] == [""] * 69 + ["last"]


def test_deleted_rows_are_read_after_the_live_ones_under_their_own_heading() -> None:
    data, stats = mdb_pack([customers(5, deleted=[1, 3])])
    assert stats.deleted_rows == 2
    text, _, _ = read(data)
    assert [row[2] for row in lines_of(text, "Customers")[1:]] == [CARDS[0], CARDS[2], CARDS[4]]
    assert [row[2] for row in lines_of(text, "Customers (deleted rows)")[1:]] == [CARDS[1], CARDS[3]]


def test_rows_moved_to_another_page_are_read_once() -> None:
    data, stats = mdb_pack([customers(40)], overflow_rows=5)
    assert stats.overflow_rows == 5
    text, _, problems = read(data)
    assert problems == []
    ids = sorted(int(row[0]) for row in lines_of(text, "Customers")[1:])
    assert ids == list(range(1, 41))


def test_an_encoded_database_is_decoded_with_the_key_in_its_header() -> None:
    plain, _ = mdb_pack([customers()])
    data, _ = mdb_pack([customers()], encode_key=0x5A17C0DE)
    assert CARDS[0].encode("utf-16-le") not in data and b"Customer" not in data[PAGE:]
    assert read(data)[0] == read(plain)[0]


def test_a_jet4_password_does_not_stop_the_reading() -> None:
    data, _ = mdb_pack([customers()], password="s3cret")
    text, _, problems = read(data)
    assert problems == [] and CARDS[3] in text


def test_an_accdb_with_a_password_is_encrypted() -> None:
    data = bytearray(mdb_pack([customers()], version="ace14")[0])
    # Office encryption leaves a key in the masked header, at 0x3e: set one (the mask is a
    # keystream, so XOR-ing the stored bytes changes the unmasked ones alike)
    data[0x3E:0x42] = bytes(a ^ b for a, b in zip(data[0x3E:0x42], b"\x11\x22\x33\x44", strict=True))
    extraction = extract(bytes(data), "locked.accdb")
    assert extraction.status == "encrypted" and "password" in (extraction.reason or "")


@pytest.mark.parametrize("encode_key", [None, 0x1357BD])
def test_an_access_97_database_is_read(encode_key: int | None) -> None:
    """Jet 3: 2 KiB pages, one-byte offsets with a jump table past 256 bytes, code-page text."""
    rng = random.Random(8)
    wide = [Column("Id", "long")] + [Column(f"Field {n}", "text", 90) for n in range(10)]
    rows = [[n] + ["".join(rng.choice("abcdefgh ") for _ in range(rng.randint(0, 90))).strip() for _ in range(10)]
            for n in range(60)]
    rows[7][10] = CARDS[2]  # in the last column, past the 512th byte of its row
    memo = "Größe € " + "".join(rng.choice("abcdef ") for _ in range(9000)) + " " + CARDS[1]
    tables = [customers(6, deleted=[2]), Table("Wide", wide, rows), Table("Notes", [Column("Body", "memo")], [[memo]])]
    data, stats = mdb_pack(tables, version="jet3", encode_key=encode_key)
    assert data[0x14] == 0 and stats.chained_memos >= 1
    extraction = extract(data, "legacy.mdb")
    assert extraction.status == "ok" and extraction.file_type == "access", extraction.reason
    text = extraction.text
    assert [r[2] for r in lines_of(text, "Customers")[1:]] == [CARDS[n % 5] for n in (0, 1, 3, 4, 5)]
    assert [r[2] for r in lines_of(text, "Customers (deleted rows)")[1:]] == [CARDS[2]]
    assert lines_of(text, "Wide")[1:] == [[str(r[0])] + [c for c in r[1:]] for r in rows]
    assert lines_of(text, "Notes")[1:] == [[memo]]
    if encode_key:
        assert b"Customer" not in data[2048:]


def test_a_dropped_table_still_in_the_file_is_read_under_its_old_name(tmp_path: Path) -> None:
    gone = Table("Gone", [Column("Secret", "text", 30)], [[CARDS[4]]])
    data, _ = mdb_pack([customers(), gone], drop=["Gone"])
    text, _, problems = read(data)
    assert problems == []
    heading = next(line for line in text.split("\n") if line.startswith("Gone (a dropped table, page "))
    assert lines_of(text, heading) == [["Secret"], [CARDS[4]]]
    assert lines_of(text, "Customers")[0] == ["Id", "Name", "Card number", "Notes"]
    if shutil.which("mdb-tables"):  # the reader Access users have does not list it
        path = tmp_path / "dropped.mdb"
        path.write_bytes(data)
        listed = subprocess.run(["mdb-tables", "-1", str(path)], capture_output=True, text=True, check=True).stdout
        assert listed.split() == ["Customers"]


def test_a_table_definition_no_catalog_row_names_is_read_by_its_page() -> None:
    data = bytearray(mdb_pack([customers(), Table("Lost", [Column("Secret", "text", 30)], [[CARDS[4]]])])[0])
    wiped = 0
    for n in range(len(data) // PAGE):  # the catalog row of "Lost" wiped: its slot deleted and emptied
        base = n * PAGE
        if data[base] != 1 or struct.unpack_from("<I", data, base + 4)[0] != 2:
            continue
        count, end = struct.unpack_from("<H", data, base + 12)[0], PAGE
        for index in range(count):
            start = struct.unpack_from("<H", data, base + 14 + 2 * index)[0] & 0x1FFF
            if b"Lost" in data[base + start:base + end]:
                struct.pack_into("<H", data, base + 14 + 2 * index, 0xC000)
                wiped += 1
            end = start
    assert wiped == 1
    text, _, _ = read(bytes(data))
    heading = next(line for line in text.split("\n") if line.startswith("table on page "))
    assert lines_of(text, heading) == [["Secret"], [CARDS[4]]]


def test_a_file_in_an_ole_column_is_handed_on_and_read() -> None:
    from tests.rules.samples import docx

    document = docx(["Payroll export: card 4111111111111111"])
    wrapped = b"\x15\x1c" + b"\x00" * 40 + b"Package\x00" + document  # behind a wrapper of its own
    columns = [Column("Id", "long"), Column("Scan", "ole"), Column("Raw", "ole")]
    data, _ = mdb_pack([Table("Docs", columns, [[1, document, wrapped], [2, b"\x01\x02" * 40, b"plain words"]])])
    extraction = extract(data, "docs.mdb")
    members = {p.path for p in extraction.parts}
    assert "docs.mdb/Docs/1/Scan" in members and "docs.mdb/Docs/1/Raw" in members
    assert extraction.text.count("4111111111111111") == 2
    assert "plain words" in extraction.text


def _with_attachments(**options: object) -> bytes:
    from tests.rules.samples import docx

    rows = [["Ada", [Attachment("customers.csv", b"name,card\n" + b"Ada,4111111111111111\n" * 40, compressed=True),
                     Attachment("contract.docx", docx(["Signed by Ada, card 5500005555555559"]))]],
            ["Bob", None],
            ["Cy", [Attachment("notes.txt", "客户 Cy 的卡号 340000000000009".encode(), compressed=True)]]]
    columns = [Column("Name", "text", 40), Column("Documents", "attachment")]
    return mdb_pack([Table("Customers", columns, rows)], version="ace14", **options)[0]  # type: ignore[arg-type]


def test_attachments_are_read_as_files_named_after_their_column() -> None:
    data = _with_attachments()
    extraction = extract(data, "crm.accdb")
    assert extraction.status == "ok", extraction.reason
    members = [p.path for p in extraction.parts if p.path != "crm.accdb"]
    assert members == ["crm.accdb/Customers.Documents (attachments)/1/customers.csv",
                       "crm.accdb/Customers.Documents (attachments)/2/contract.docx",
                       "crm.accdb/Customers.Documents (attachments)/3/notes.txt"]
    for card in ("4111111111111111", "5500005555555559", "340000000000009"):
        assert card in extraction.text
    rows = lines_of(extraction.text, "Customers.Documents (attachments)")
    assert [row[rows[0].index("FileName")] for row in rows[1:]] == ["customers.csv", "contract.docx", "notes.txt"]
    assert "MSysComplexColumns" not in extraction.text and "f_" not in extraction.text.split("\n")[0]
    assert lines_of(extraction.text, "Customers")[1:] == [["Ada", ""], ["Bob", ""], ["Cy", ""]]


def test_attachment_tables_are_read_by_their_own_name_without_msyscomplexcolumns() -> None:
    data = bytearray(_with_attachments())
    for pattern in (b"MSysComplexColumns", "MSysComplexColumns".encode("utf-16-le")):
        at = data.find(pattern, 3 * PAGE)
        while at != -1:
            data[at:at + len(pattern)] = pattern.replace(b"Columns", b"Colum_s").replace("Columns".encode("utf-16-le"),
                                                                                          "Colum_s".encode("utf-16-le"))
            at = data.find(pattern, at + 1)
    extraction = extract(bytes(data), "crm.accdb")
    heading = next(line for line in extraction.text.split("\n") if line.startswith("f_"))
    assert heading.endswith("_Documents")
    assert f"crm.accdb/{heading}/1/customers.csv" in [p.path for p in extraction.parts]


def test_an_attachment_that_inflates_past_the_budget_is_named_not_inflated() -> None:
    rows = [["Ada", [Attachment("zeros.csv", b"\x00" * (64 << 20), compressed=True),
                     Attachment("cards.csv", b"card 4111111111111111\n", compressed=True)]]]
    data, _ = mdb_pack([Table("T", [Column("Name", "text", 9), Column("F", "attachment")], rows)], version="ace14")
    assert len(data) < 200_000
    text, files, problems = read(data, limits=Limits(max_expanded_bytes=1 << 20))
    assert [name for name, _ in files] == ["T.F (attachments)/2/cards.csv"]
    assert len(problems) == 1 and problems[0].startswith("T.F (attachments): attachment zeros.csv: inflates beyond")
    assert problems[0].endswith("bytes the budget has left (decompression bomb?)")


def test_a_large_database_is_read_through_a_memory_map(tmp_path: Path) -> None:
    data, _ = mdb_pack([customers()])
    path = tmp_path / "big.accdb"
    with open(path, "wb") as handle:
        handle.write(data)
        handle.truncate(len(data) + 3 * PAGE)  # empty pages after, as a preallocated file has
    small = Limits(max_input_bytes=len(data))
    extraction = extract_path(str(path), limits=small)
    assert extraction.status == "ok" and extraction.file_type == "access" and CARDS[2] in extraction.text


def test_a_file_of_only_the_magic_is_cut_short() -> None:
    """Its version byte is past its end (hypothesis found this raising IndexError)."""
    result = extract(b"\x00\x01\x00\x00Standard Jet DB\x00", "a.mdb")
    assert (result.status, result.file_type) == ("unscannable", "access") and "cut short" in (result.reason or "")


@pytest.mark.parametrize("damage", ["truncated", "catalog page", "row offsets", "lval loop", "tdef loop",
                                    "lval pointer", "column count"])
def test_damage_is_named_and_what_was_read_kept(damage: str) -> None:
    rng = random.Random(1)
    memo = "".join(rng.choice("abcdef ") for _ in range(9000))
    tables = [customers(30), Table("Long", [Column("Body", "memo")], [[memo], [CARDS[1]]])]
    data, stats = mdb_pack(tables)
    broken = bytearray(data)
    pages = [broken[n * PAGE:(n + 1) * PAGE] for n in range(len(broken) // PAGE)]
    lvals = [n for n, p in enumerate(pages) if p[0] == 1 and p[4:8] == b"LVAL"]
    tdefs = [n for n, p in enumerate(pages) if p[0] == 2 and n != 2]
    if damage == "truncated":
        broken = broken[: len(broken) - 2 * PAGE]
    elif damage == "catalog page":
        broken[2 * PAGE] = 7
    elif damage == "row offsets":
        data_page = next(n for n, p in enumerate(pages) if p[0] == 1 and p[4:8] != b"LVAL"
                         and struct.unpack_from("<I", p, 4)[0] == tdefs[0])
        struct.pack_into("<H", broken, data_page * PAGE + 14, 5)
    elif damage == "lval loop":  # each chained piece points to itself
        for n in lvals:
            start = struct.unpack_from("<H", broken, n * PAGE + 14)[0] & 0x1FFF
            struct.pack_into("<I", broken, n * PAGE + start, n << 8)
    elif damage == "tdef loop":
        struct.pack_into("<I", broken, tdefs[0] * PAGE + 4, tdefs[0])
    elif damage == "lval pointer":
        for n in lvals:
            broken[n * PAGE + 4:n * PAGE + 8] = b"XXXX"
    elif damage == "column count":
        struct.pack_into("<H", broken, tdefs[0] * PAGE + 45, 4000)
    extraction = extract(bytes(broken), "hurt.accdb")
    assert extraction.status in ("unscannable", "ok")
    if damage != "truncated" and damage != "catalog page":
        assert extraction.status == "unscannable" and extraction.reason
    if damage in ("lval loop", "lval pointer"):
        assert CARDS[0] in extraction.text  # the other table and the other rows were kept
    if damage == "catalog page":
        assert "damaged Access database" in (extraction.reason or "")


def test_rows_pointing_to_one_long_chain_count_each_time_it_is_read() -> None:
    """A crafted file whose rows all name the same chain of LVAL pages: each read is spent from the
    budget, so the chain is not read a thousand times over."""
    rng = random.Random(3)
    memos = ["".join(rng.choice("abcdefgh") for _ in range(20_000)) for _ in range(200)]
    data = bytearray(mdb_pack([Table("Notes", [Column("Id", "long"), Column("Body", "memo")],
                                     [[n, m] for n, m in enumerate(memos)])])[0])
    field = struct.pack("<I", 40_000)  # stored length, chained: no flag bits
    first = data.find(field, 3 * PAGE)
    pointer = data[first + 4:first + 8]
    at, redirected = first + 1, 0
    while (at := data.find(field, at)) != -1:
        data[at + 4:at + 8] = pointer
        at, redirected = at + 8, redirected + 1
    assert redirected == 199
    text, _, problems = read(bytes(data), limits=Limits(max_expanded_bytes=2 << 20))
    assert problems and "expands beyond" in problems[-1]
    bodies = [row[1] for row in lines_of(text, "Notes")[1:]]
    assert len(bodies) == (2 << 20) // 40_000 and len(set(bodies)) == 1 and bodies[0] in memos


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_databases_never_raise(data) -> None:
    base = _FUZZ_BASE
    mutated = bytearray(base)
    for _ in range(data.draw(st.integers(1, 12))):
        at = data.draw(st.integers(0, len(mutated) - 1))
        mutated[at] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        mutated = mutated[: data.draw(st.integers(0, len(mutated)))]
    extraction = extract(bytes(mutated), "f.accdb", limits=Limits(seconds=5))
    assert extraction.status in ("ok", "unscannable", "encrypted")


_FUZZ_BASE = mdb_pack([customers(12, deleted=[3]),
                       Table("Long", [Column("Body", "memo"), Column("When", "datetime")],
                             [["m" * 5000, datetime(2020, 1, 1)], ["short", None]])], overflow_rows=2)[0]
