"""The extraction worker: PDFs, legacy Office and archives are read in a process of their own
that the agent can lose without losing anything else. Real worker processes throughout."""

from __future__ import annotations

import os
import signal
import threading
import time

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


def test_text_formats_are_read_here_and_containers_there() -> None:
    assert {"pdf", "cfb", "zip", "7z", "eml"} <= ISOLATED_KINDS and "text" not in ISOLATED_KINDS
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
        soft, hard = psutil.Process(worker.process.pid).rlimit(psutil.RLIMIT_AS)
        assert soft == hard == 1 << 30
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
