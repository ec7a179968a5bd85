"""The extraction worker: PDFs, legacy Office and archives are read in a process of their own
that the agent can lose without losing anything else. Real worker processes throughout."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from agent.extraction import ISOLATED_KINDS, Pool, Worker, extract_file
from tests.rules import samples

PDF = samples.pdf(["report", "card 4111111111111111"])


@pytest.fixture
def pool() -> Pool:
    made = Pool(size=2, idle_seconds=30, grace_seconds=2)
    yield made
    made.close()


def test_a_pdf_is_read_by_a_worker_that_is_kept_for_the_next(pool: Pool) -> None:
    first = pool.extract(PDF, "a.pdf", ocr=False, seconds=10)
    assert first.status == "ok" and "4111111111111111" in first.text
    [worker] = pool.workers()
    second = pool.extract(samples.zip_of({"b.pdf": PDF}), "b.zip", ocr=False, seconds=10)
    assert second.status == "ok" and "4111111111111111" in second.text
    assert pool.workers() == [worker] and worker.alive()  # the same process read both


def test_a_signed_file_of_any_kind_is_read_in_a_worker(pool: Pool) -> None:
    import zlib

    import agent.extraction

    literal = b"b\x00\x00\x00\x00\x00" + PDF  # an OpenPGP literal data packet holding the PDF
    signed = bytes([0xA3, 0x02]) + zlib.compress(bytes([0xCB, 0xFF]) + len(literal).to_bytes(4, "big") + literal)
    armored = b"-----BEGIN PGP MESSAGE-----\n\n" + __import__("base64").encodebytes(signed) + b"-----END PGP MESSAGE-----\n"
    saved, agent.extraction.POOL = agent.extraction.POOL, pool
    try:
        for data in (signed, armored):
            result = extract_file(data, "report.pdf.gpg", ocr=False)
            assert result.status == "ok" and "4111111111111111" in result.text
            assert len(pool.workers()) == 1  # pypdf ran there, not here
    finally:
        agent.extraction.POOL = saved


def test_files_of_kinds_read_here_that_hold_other_files_go_to_a_worker(pool: Pool) -> None:
    """A report with a PDF inserted, a page or a text with a PDF written in base64: the PDF is
    parsed by pypdf, so the worker reads them; a plain report stays here."""
    import base64

    import agent.extraction

    encoded = base64.encodebytes(PDF)
    holders = {
        "report.docx": samples.with_media(samples.docx(["see the object"]), {"word/embeddings/report.pdf": PDF}),
        "page.html": b'<a href="data:application/pdf;base64,' + base64.b64encode(PDF) + b'">report</a>',
        "notes.txt": b"the report:\n" + encoded,
        "feed.xml": b"<?xml version='1.0'?><doc><file>" + encoded + b"</file></doc>",
    }
    sent: list[str] = []
    original = pool.extract

    def counted(data: bytes, filename: str, **options: object) -> object:
        sent.append(filename)
        return original(data, filename, **options)  # type: ignore[arg-type]

    saved, agent.extraction.POOL = agent.extraction.POOL, pool
    pool.extract = counted  # type: ignore[method-assign]
    try:
        for name, data in holders.items():
            result = extract_file(data, name, ocr=False)
            assert result.status == "ok" and "4111111111111111" in result.text, name
        plain = extract_file(samples.docx(["card 4111 1111 1111 1111"]), "plain.docx", ocr=False)
        assert plain.status == "ok"
        assert sent == list(holders)  # pypdf ran in the worker for each; the plain report was read here
    finally:
        agent.extraction.POOL = saved


def test_text_formats_are_read_here_and_containers_there() -> None:
    assert {"pdf", "cfb", "msg", "zip", "7z", "rar", "cab", "disc", "eml"} <= ISOLATED_KINDS and "text" not in ISOLATED_KINDS
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    result = extract_file(b"card 4111 1111 1111 1111", "notes.txt", ocr=False)
    assert result.status == "ok" and result.text.startswith("card")
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before


@pytest.mark.parametrize("size", ["small", "larger than a pipe holds"])
def test_a_worker_that_hangs_is_killed_at_the_time_cap_and_the_next_file_gets_a_new_one(pool: Pool, size: str) -> None:
    data = PDF if size == "small" else samples.zip_of({"a.pdf": PDF, "noise.bin": os.urandom(4 << 20)})
    pool.extract(PDF, "warm.pdf", ocr=False, seconds=10)
    [stuck] = pool.workers()
    os.kill(stuck.process.pid, signal.SIGSTOP)  # as a parser looping without end would
    started = time.monotonic()
    result = pool.extract(data, "stuck.pdf", ocr=False, seconds=1)
    assert result.status == "unscannable"
    assert result.reason == "stuck.pdf: extraction gave no answer within 1 s (worker killed)"
    assert 1 <= time.monotonic() - started < 10
    assert not stuck.alive()
    again = pool.extract(PDF, "next.pdf", ocr=False, seconds=10)
    assert again.status == "ok" and pool.workers()[0] is not stuck


def _kill_workers_for(seconds: float) -> threading.Thread:
    """Kill every extraction worker this process starts for `seconds`, as the OOM killer would."""
    def run() -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            for child in psutil.Process().children(recursive=True):
                try:
                    if "agent.extraction" in " ".join(child.cmdline()):
                        child.kill()
                except psutil.Error:
                    pass
            time.sleep(0.005)
    killer = threading.Thread(target=run)
    killer.start()
    return killer


def test_a_worker_that_dies_makes_that_file_unscannable_only(pool: Pool) -> None:
    killer = _kill_workers_for(1.5)
    result = pool.extract(PDF, "victim.pdf", ocr=False, seconds=5)
    killer.join()
    assert result.status == "unscannable" and result.reason is not None
    assert result.reason.startswith("victim.pdf: the extraction worker was killed (SIGKILL")
    assert pool.extract(PDF, "after.pdf", ocr=False, seconds=10).status == "ok"


def test_a_kept_worker_found_dead_is_replaced_for_the_same_file(pool: Pool) -> None:
    pool.extract(PDF, "warm.pdf", ocr=False, seconds=10)
    [kept] = pool.workers()
    os.kill(kept.process.pid, signal.SIGSTOP)
    threading.Timer(0.3, lambda: os.kill(kept.process.pid, signal.SIGKILL)).start()  # dies holding the request
    result = pool.extract(PDF, "next.pdf", ocr=False, seconds=5)
    assert result.status == "ok" and "4111111111111111" in result.text  # read again by a new worker
    assert not kept.alive() and pool.workers()[0] is not kept


def test_workers_leave_when_idle_and_a_new_one_takes_over() -> None:
    pool = Pool(size=1, idle_seconds=0.5, grace_seconds=2)
    try:
        assert pool.extract(PDF, "a.pdf", ocr=False, seconds=10).status == "ok"
        [worker] = pool.workers()
        worker.process.wait(timeout=10)
        assert worker.process.returncode == 0
        assert pool.extract(PDF, "b.pdf", ocr=False, seconds=10).status == "ok"
    finally:
        pool.close()


def test_the_workers_memory_is_capped() -> None:
    worker = Worker(idle_seconds=30)
    try:
        assert worker.ask({"filename": "a.pdf", "ocr": False, "seconds": 10}, PDF, 20)["status"] == "ok"
        with open(f"/proc/{worker.process.pid}/limits") as limits:  # prlimit() is refused once it is nobody
            [line] = [row for row in limits if row.startswith("Max address space")]
        assert line.split()[3:5] == [str(1 << 30)] * 2
    finally:
        worker.kill()


def test_files_judged_at_once_each_get_their_answer(pool: Pool) -> None:
    answers: dict[int, str] = {}

    def judge(n: int) -> None:
        data = samples.pdf([f"file {n}", "card 4111111111111111"])
        answers[n] = pool.extract(data, f"{n}.pdf", ocr=False, seconds=20).text

    threads = [threading.Thread(target=judge, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answers[n].startswith(f"file {n}\n") for n in range(5))
    assert len(pool.workers()) <= 2


def test_text_comes_back_from_the_worker_as_it_was_read(pool: Pool) -> None:
    note = "身份证号码 11010519491231002X\n\u2028line\tseparated\r\n\"quoted\" \\ back\n"
    result = pool.extract(samples.zip_of({"note.txt": note.encode()}), "notes.zip", ocr=False, seconds=10)
    assert result.status == "ok" and note in result.text


def _uid(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("Uid:"))


@pytest.mark.skipif(os.geteuid() != 0, reason="the worker gives up root only when started as root")
def test_a_worker_started_as_root_reads_files_as_nobody(pool: Pool) -> None:
    assert pool.extract(PDF, "a.pdf", ocr=False, seconds=10).status == "ok"
    [worker] = pool.workers()
    assert _uid(worker.process.pid) == 65534  # real, effective, saved and filesystem alike
    with open(f"/proc/{worker.process.pid}/status") as status:
        assert [line.split()[1:] for line in status if line.startswith("Uid:")] == [["65534"] * 4]


def _every_isolated_fixture() -> dict[str, bytes]:
    """Every kind the worker reads, nested too: the repository's real files (7-Zip, LibreOffice,
    pdfTeX) and generated ones."""
    from pathlib import Path

    from tests.rules import rar5_pack
    from tests.rules.test_extract_disc import pycdlib_image, udf_only
    from tests.rules.test_extract_outlook import message_streams, outlook_msg
    from tests.rules.test_extract_rar import FILES, rar4, rar5
    from tests.rules.test_extract_tnef import RTF, winmail

    data = Path(__file__).parent.parent / "rules" / "data"
    files = {p.name: p.read_bytes() for p in [*data.glob("*.pdf"), *data.glob("*.doc"), *data.glob("*.xls"),
                                              *data.glob("*.gz"), *(data / "sevenzip").glob("*.7z")]}
    office = {"a.docx": samples.docx(["id 11010519491231002X"]), "b.xlsx": samples.xlsx([["IBAN"], ["DE89370400440532013000"]]),
              "c.pptx": samples.pptx(["card 4111111111111111"]), "d.pdf": PDF}
    latin = "Subject: =?iso-8859-15?q?r=E9sum=E9?=\nContent-Type: text/plain; charset=cp1252\n\ncaf\xe9 \x80 4111111111111111\n"
    files.update({
        "office.zip": samples.zip_of(office),
        "office.tar.gz": samples.tar_gz_of(office),
        "mail.eml": samples.eml("card 4111111111111111", {"report.pdf": PDF, "notes.docx": office["a.docx"]}),
        "latin.eml": latin.encode("latin-1"),
        "encrypted.pdf": samples.encrypted_pdf(["secret"]),
        "encrypted.zip": samples.mark_zip_encrypted(samples.zip_of({"x.txt": b"x"})),
        "nested.zip": samples.zip_of({"inner.zip": samples.zip_of({"deep.zip": samples.zip_of(office)})}),
        "office.tar.zst": __import__("zstandard").ZstdCompressor().compress(samples.tar_of(office)),
        "inbox.mbox": b"From a@example.com Mon Dec  7 03:00:00 2026\nFrom: a@example.com\nSubject: x\n\ncard 4111 1111 1111 1111\n",
        "rich.eml": samples.eml("rich text", {"winmail.dat": winmail(RTF, [("customers.csv", b"4111111111111111", "data")])}),
        "backup.iso": pycdlib_image({"docs/Übersicht.txt": b"card 4111111111111111", "a.docx": office["a.docx"]}),
        "windows.udf": udf_only(pycdlib_image({"q3/report.pdf": PDF})),
        "payroll.cab": (data / "payroll.cab").read_bytes(),  # gcab -z: MSZIP, as makecab writes
        "crm.db": _database(),
        "crm.accdb": _access_database(office["a.docx"]),
        "customers.parquet": _parquet_table(),
        "customers.orc": _parquet_table("orc"),
        "events.avro": _avro_records(),
        "office.tar.lz4": __import__("lz4.frame").frame.compress(samples.tar_of(office)),
        "cards.csv.lzma": __import__("lzma").compress(b"card 4111111111111111\n" * 50, format=__import__("lzma").FORMAT_ALONE),
        "backup.rar": rar5(FILES), "old.rar": rar4(FILES), "locked.rar": rar5(FILES, hide_names=True),
        "packed.rar": rar5_pack.archive([("customers.csv", b"name,card\nAda,4111111111111111\n" * 30),
                                         ("q3/report.docx", office["a.docx"])], solid=True),
        "Q3.msg": outlook_msg(attachments=(("customers.csv", b"card 4111111111111111"), ("inner", message_streams(
            embedded=True, attachments=(("report.docx", office["a.docx"]),))))),
    })
    return files


def _avro_records() -> bytes:
    import io

    import fastavro

    schema = {"type": "record", "name": "Event", "fields": [{"name": "card_number", "type": "string"}]}
    sink = io.BytesIO()
    fastavro.writer(sink, fastavro.parse_schema(schema), [{"card_number": "4111111111111111"}], codec="deflate")
    return sink.getvalue()


def _parquet_table(form: str = "parquet") -> bytes:
    """A table of two customers written by pyarrow as Parquet or as ORC."""
    import io

    import pyarrow as pa
    import pyarrow.orc as orc
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    (pq.write_table if form == "parquet" else orc.write_table)(
        pa.table({"name": ["Ada", "Bob"], "card_number": ["4111111111111111", None]}), sink)
    return sink.getvalue()


def _access_database(document: bytes) -> bytes:
    from tests.rules.mdb_pack import Column, Table, mdb_pack

    columns = [Column("Name", "text", 40), Column("Card", "text", 20), Column("Contract", "ole")]
    return mdb_pack([Table("Customers", columns, [["Ada", "4111111111111111", document]])], version="ace14")[0]


def _database() -> bytes:
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/crm.db"
        connection = sqlite3.connect(path)
        connection.execute("CREATE TABLE customers (name TEXT, card TEXT, contract BLOB)")
        connection.execute("INSERT INTO customers VALUES ('Ada', '4111111111111111', ?)", (PDF,))
        connection.commit()
        connection.close()
        with open(path, "rb") as stream:
            return stream.read()


def test_the_worker_reads_every_kind_as_the_service_would(pool: Pool) -> None:
    from agent.extraction import _extract_here

    files = _every_isolated_fixture()
    assert len(files) >= 25
    for name, data in files.items():
        here = _extract_here(data, name, ocr=False, seconds=30)
        there = pool.extract(data, name, ocr=False, seconds=30)
        assert there == here, name  # nothing the worker needs is missing after it gave up root
        assert "extraction failed" not in (there.reason or ""), name


def test_a_compressed_solid_rar_is_read_by_the_worker(pool: Pool) -> None:
    from tests.rules import rar5_pack

    archive = rar5_pack.archive([("a.txt", b"quarterly figures " * 200), ("b.csv", b"name,card\nAda,4111111111111111\n")],
                                solid=True)
    result = pool.extract(archive, "backup.rar", ocr=False, seconds=30)
    assert result.status == "ok", result.reason
    assert "4111111111111111" in result.text and "quarterly figures" in result.text


def test_images_in_a_container_are_read_by_ocr_the_service_runs(pool: Pool) -> None:
    from tests.fixtures.realparts import require_binary

    require_binary("tesseract", "tesseract-ocr")
    shot = samples.screenshot(["Invoice settled", "Card number: 4242 4242 4242 4242"])
    result = pool.extract(samples.zip_of({"shots/a.png": shot, "notes.txt": b"plain"}), "shots.zip", ocr=True, seconds=60)
    assert result.status == "ok", result.reason
    assert "4242 4242 4242 4242" in result.text and "plain" in result.text
    without = pool.extract(samples.zip_of({"shots/a.png": shot}), "shots.zip", ocr=False, seconds=60)
    assert "4242" not in without.text and without.status == "unscannable"


def test_pictures_on_pdf_pages_are_read_by_ocr_the_service_runs(pool: Pool) -> None:
    from tests.fixtures.realparts import require_binary
    from tests.rules.test_extract_images import report_pdf

    require_binary("tesseract", "tesseract-ocr")
    require_binary("pdfimages", "poppler-utils")
    shot = samples.screenshot(["Card number: 4242 4242 4242 4242"])
    result = pool.extract(report_pdf([("Quarterly report", [shot])]), "report.pdf", ocr=True, seconds=60)
    assert result.status == "ok", result.reason
    assert "Quarterly report" in result.text and "4242 4242 4242 4242" in result.text


_LYING_WORKER = """
import sys
line = sys.stdin.buffer.readline()
sys.stdin.buffer.read(__import__("json").loads(line)["size"])
sys.stdout.buffer.write(sys.argv[1].encode() + b"\\n" + b"x" * 16)
sys.stdout.buffer.flush()
sys.stdin.buffer.readline()
"""


@pytest.mark.parametrize("request_line, said", [
    ('{"ocr": "image", "size": 99999999999, "seconds": 1}', "asked for OCR of 99999999999 bytes"),
    ('{"ocr": "pages", "items": ["1; rm -rf /"], "seconds": 1, "size": 16}', "OCR no worker asks for"),
    ('{"ocr": "pictures", "items": [[1, -2]], "seconds": 1, "size": 16}', "OCR no worker asks for"),
    ('{"ocr": "shell", "items": null, "seconds": 1, "size": 16}', "OCR no worker asks for"),
    ('{"ocr": "image", "items": null, "seconds": 9999, "size": 16}', "OCR no worker asks for"),
    ('[1, 2]', "answered nonsense"),
])
def test_a_worker_asking_for_what_no_worker_asks_is_killed(request_line: str, said: str) -> None:
    import subprocess
    import sys

    from agent.extraction import WorkerGone

    worker = Worker(idle_seconds=30)
    worker.kill()
    worker.process = subprocess.Popen([sys.executable, "-c", _LYING_WORKER, request_line], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, start_new_session=True)
    with pytest.raises(WorkerGone, match=said.replace("(", r"\(")):
        worker.ask({"filename": "a.zip", "ocr": True, "seconds": 10}, b"PK", 20)
    assert not worker.alive()


def test_a_large_file_is_read_in_a_worker_of_its_own_through_its_descriptor(tmp_path: Path) -> None:
    """A .pst over the agent's read limit: the service opens it and a worker of its own, whose
    address space holds the map too, reads it (as `nobody` when the agent runs as root)."""
    from agent.extraction import extract_large
    from tests.rules.pst_pack import Attachment, Folder, Message, pst_bytes

    mailbox = tmp_path / "archive.pst"
    mailbox.write_bytes(pst_bytes([Folder("Inbox", [Message("q3", body="card 4111111111111111", attachments=[
        Attachment("notes.txt", b"weekly minutes\n" * 100_000)])])]))
    if os.geteuid() == 0:
        tmp_path.chmod(0o700)  # closed to the worker's user: only the descriptor gets it in
    got = extract_large(str(mailbox), "archive.pst", max_input=1 << 20)
    assert got.status == "ok", got.reason
    assert "4111111111111111" in got.text and "weekly minutes" in got.text


def test_a_large_access_database_is_read_in_a_worker_of_its_own(tmp_path: Path) -> None:
    from agent.extraction import extract_large
    from tests.rules.mdb_pack import Column, Table, mdb_pack

    rows = [[n, f"Customer {n}", "4111111111111111" if n == 2999 else str(10**8 + n), "note " * 150]
            for n in range(3000)]
    columns = [Column("Id", "long"), Column("Name", "text", 40), Column("Card", "text", 20), Column("Notes", "memo")]
    database = tmp_path / "crm.mdb"
    database.write_bytes(mdb_pack([Table("Customers", columns, rows)])[0])
    assert database.stat().st_size > 1 << 20
    got = extract_large(str(database), "crm.mdb", max_input=1 << 20)
    assert got.status == "ok", got.reason
    assert "Customer 2999\t4111111111111111" in got.text


def test_what_a_large_file_s_worker_cannot_read_is_named(tmp_path: Path) -> None:
    from agent.extraction import extract_large

    blob = tmp_path / "video.bin"
    blob.write_bytes(os.urandom(3 << 20))
    got = extract_large(str(blob), "video.bin", max_input=1 << 20)
    assert got.status == "unscannable" and "is above the limit of 1048576" in (got.reason or "")
    link = tmp_path / "link.pst"
    link.symlink_to(blob)
    assert "cannot be opened" in (extract_large(str(link), "link.pst", max_input=1 << 20).reason or "")
    fifo = tmp_path / "pipe.pst"
    os.mkfifo(fifo)
    assert extract_large(str(fifo), "pipe.pst", max_input=1 << 20).reason == "pipe.pst: not a regular file"
