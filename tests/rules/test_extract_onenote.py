"""OneNote sections (`rules/extract/onenote.py`).

No program here writes OneNote files, so they come from our writer for tests
(`tests/rules/one_pack.py`, written from [MS-ONESTORE] apart from the reader), whose output
pyOneNote (an independent reader) reads back in `test_one_pack.py`. They test the format as the
specification and pyOneNote read it, not files OneNote wrote.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest

from rules.detectors import scan_text
from rules.extract import Limits, extract
from rules.extract.budget import Budget, EncryptedContent, Unscannable
from rules.extract.onenote import onenote_content
from rules.extract.sniff import sniff
from tests.rules import samples
from tests.rules.one_pack import Embedded, Page, Stats, one_bytes, one_pack

CARD = "4111 1111 1111 1111"
RID = "11010519491231002X"
IBAN = "DE89370400440532013000"


def _notebook() -> list[Page]:
    return [
        Page("Customers Q3", [f"Ada Lovelace paid with card {CARD}", "Call back on Monday"],
             files=[Embedded("customers.csv", f"name,card\nAda,{CARD}\n".encode(), ".csv"),
                    Embedded("report.docx", samples.docx([f"resident {RID}"]), ".docx")]),
        Page("客户资料", [f"客户身份证号码 {RID}", "下周一回电"], ascii_paragraphs=[f"IBAN {IBAN}"]),
        Page("Empty page"),
    ]


_FORMS: dict[str, tuple[dict[str, object], Callable[[Stats], bool]]] = {
    "plain": ({}, lambda s: s.declarations[0x0A4] > 0 and s.global_id_entries > 10),
    "fragments": ({"fragment_size": 120}, lambda s: s.extra_fragments >= 20 and s.log_fragments > 1),
    "compact": ({"compact_refs": True}, lambda s: {1, 2, 3} <= set(s.stp_formats) and {2, 3} <= set(s.cb_formats)),
    "large": ({"large_refcounts": True}, lambda s: s.declarations[0x0A5] > 0 and s.declarations[0x073] > 0),
    "read-only": ({"read_only_objects": True}, lambda s: s.declarations[0x0C4] > 0),
}


@pytest.mark.parametrize("form", list(_FORMS))
def test_every_page_and_inserted_file_is_read(form: str) -> None:
    options, occurs = _FORMS[form]
    one, stats = one_pack(_notebook(), **options)  # type: ignore[arg-type]
    assert occurs(stats)  # the structure this case is about is really in the file
    assert sniff(one, "Notes.one") == "onenote" and sniff(one, "renamed.bin") == "onenote"
    result = extract(one, "Notes.one")
    assert result.status == "ok", result.reason
    for text in ("Customers Q3", f"Ada Lovelace paid with card {CARD}", "Call back on Monday", "客户资料",
                 f"客户身份证号码 {RID}", f"IBAN {IBAN}", "Empty page"):
        assert text in result.text
    paths = sorted(p.path for p in result.parts)
    assert paths == ["Notes.one", "Notes.one/customers.csv", "Notes.one/report.docx"]
    found = [(f.detector, result.text[f.start : f.end]) for f in scan_text(result.text)]
    assert found.count(("credit_card", CARD)) == 2  # the page and the CSV
    assert found.count(("cn_resident_id", RID)) == 2 and ("iban", IBAN) in found  # the page and the docx


def test_text_of_an_earlier_revision_is_read_too() -> None:
    """Text replaced in a later revision is still in the file: a leak all the same."""
    one = one_bytes([Page("Plans", ["the new plan"], old_paragraphs=[f"old draft with card {CARD}"])])
    result = extract(one, "plans.one")
    assert result.status == "ok" and "the new plan" in result.text and CARD in result.text


def test_nodes_the_transaction_log_does_not_commit_are_not_read() -> None:
    one, stats = one_pack([Page("Page", ["committed text"])], uncommitted_garbage=True)
    assert stats.uncommitted_nodes >= 1
    text, _, problems = onenote_content(one, Budget(Limits(), len(one)), "t.one")
    assert "committed text" in text and "UNCOMMITTED" not in text and problems == []


def test_a_section_protected_by_a_password_is_encrypted() -> None:
    one = one_bytes([Page("Secret", ["hidden"])], encrypted=True)
    with pytest.raises(EncryptedContent):
        onenote_content(one, Budget(Limits(), len(one)), "locked.one")
    assert extract(one, "locked.one").status == "encrypted"


def test_many_pages_in_one_section() -> None:
    pages = [Page(f"Day {n}", [f"note {n} of the meeting", f"action {n}"]) for n in range(120)]
    result = extract(one_bytes(pages, fragment_size=512), "diary.one")
    assert result.status == "ok" and all(f"note {n} of the meeting" in result.text for n in range(120))


def test_a_onenote_file_in_a_zip_is_read() -> None:
    result = extract(samples.zip_of({"Notebook/Section.one": one_bytes(_notebook())}), "export.zip")
    assert result.status == "ok" and CARD in result.text


def test_the_header_cut_short_or_another_format_is_named() -> None:
    one = one_bytes(_notebook())
    cut = extract(one[:600], "cut.one")
    assert cut.status == "unscannable" and "cut short" in (cut.reason or "")
    other = bytearray(one)
    other[48:64] = bytes(16)
    result = extract(bytes(other), "web.one")
    assert result.status == "unscannable" and "other than the revision store" in (result.reason or "")


def test_the_reader_alone_never_raises_other_errors() -> None:
    for seed, one in (("one-a", one_bytes(_notebook())), ("one-b", one_bytes(_notebook(), compact_refs=True,
                                                                             fragment_size=300))):
        for copy in samples.damaged(one, seed, 300, most_flips=8, cut_chance=0.2, shortest=1024):
            with contextlib.suppress(Unscannable, EncryptedContent):
                onenote_content(copy, Budget(Limits(), len(copy)), "fuzz.one")
            assert extract(copy, "fuzz.one").status in ("ok", "unscannable", "encrypted")


def test_a_notebook_exported_as_a_onenote_package_is_read(tmp_path: Path) -> None:
    """File > Export > Notebook writes a .onepkg: a cabinet of the notebook's sections (MSZIP here,
    as gcab writes it; a cabinet compressed with LZX is named `unscannable`)."""
    from tests.rules.test_extract_cab import gcab

    package = gcab(tmp_path, {"Customers.one": one_bytes(_notebook()), "Open Notebook.onetoc2": one_bytes(
        [Page("Customers")], onetoc2=True)})
    result = extract(package, "Work.onepkg")
    assert result.status == "ok", result.reason
    assert f"Ada Lovelace paid with card {CARD}" in result.text
    assert "Work.onepkg/Customers.one/customers.csv" in [p.path for p in result.parts]


def test_a_damaged_transaction_log_is_named_and_the_lists_still_read() -> None:
    import struct

    one = bytearray(one_bytes(_notebook()))
    struct.pack_into("<QI", one, 160, len(one) + 4096, 1024)  # fcrTransactionLog pointing past the end
    text, files, problems = onenote_content(bytes(one), Budget(Limits(), len(one)), "torn.one")
    assert problems == ["torn.one: OneNote file with a damaged transaction log"]
    assert f"Ada Lovelace paid with card {CARD}" in text and len(files) == 2
    assert extract(bytes(one), "torn.one").status == "unscannable"


def test_a_table_is_read_as_rows_and_its_header_names_its_columns() -> None:
    """A OneNote table (table, row and cell nodes) comes out as tab-separated rows, so a column
    headed "Routing number" makes its bare nine-digit values routing numbers, as in a spreadsheet."""
    rows = [["Customer", "Routing number", "Note"], ["Ada", "021000021", "call back"], ["Bob", "011000015", "paid"]]
    one, stats = one_pack([Page("Bank details", ["before the table"], tables=[rows])])
    assert stats.tables == 1
    text, _, problems = onenote_content(one, Budget(Limits(), len(one)), "bank.one")
    assert problems == []
    assert "Customer\tRouting number\tNote\nAda\t021000021\tcall back\nBob\t011000015\tpaid" in text
    assert text.count("021000021") == 1  # the cells are not read again on their own
    found = [(f.detector, f.level, text[f.start : f.end]) for f in scan_text(text)]
    assert found == [("us_aba_routing", "medium", "021000021"), ("us_aba_routing", "medium", "011000015")]
