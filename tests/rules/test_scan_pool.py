"""The supervised worker processes of `leakguard rules scan`: real forked processes that hang,
crash, run out of memory or send what they should not."""

from __future__ import annotations

import argparse
import mmap
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from rules.cli_scan import FileResult, ScanSettings, _results
from rules.detectors import scanner_for
from rules.extract import Limits
from rules.finding import DEFAULT_DIGEST_KEY, Finding
from rules.scan_pool import Lost, SupervisedPool
from rules.scanner import TextScanner


@dataclass(frozen=True)
class Done:
    path: str


def _failed(path: str, reason: str, unscannable: bool) -> Done | Lost:
    return Lost(path, f"{'unscannable' if unscannable else 'error'}: {reason}")


def _work(path: str) -> object:
    """Stands in for scanning: the path says what goes wrong."""
    if path.startswith("exit"):
        os._exit(3)  # as a crash in a native parser ends the worker
    if path.startswith("segv"):
        os.kill(os.getpid(), signal.SIGSEGV)
    if path.startswith("hang"):
        time.sleep(3600)
    if path.startswith("stop"):
        os.kill(os.getpid(), signal.SIGSTOP)
    if path.startswith("hog"):  # 512 MiB, over the 256 MiB the test allows, as a mapping of its own: a
        try:  # bytearray could be served from a free hole in the heap this test process inherited
            hog = mmap.mmap(-1, 512 << 20)  # (pyarrow's ORC writer leaves one of 600 MiB), below the cap
        except OSError as exc:
            raise MemoryError(str(exc)) from None
        return Done(str(len(hog)))
    if path.startswith("bug"):
        raise KeyError(path)
    if path.startswith("smuggle"):
        return argparse.Namespace(path=path)  # not a result class: the parent must not build it
    return Done(path)


def _pool(jobs: int, seconds: float = 30.0) -> SupervisedPool[Done | Lost]:
    return SupervisedPool(jobs, _work, seconds=seconds, grace=0.5, memory=256 << 20, failed=_failed,
                          result_classes=(Done, Lost))


def _names(results: list[Done | Lost]) -> list[str]:
    return [r.path for r in results]


@pytest.mark.parametrize("jobs", [1, 3])
def test_results_come_in_the_order_of_the_files(jobs: int) -> None:
    paths = [f"file{n}" for n in range(25)]
    with _pool(jobs) as pool:
        results = list(pool.map(paths, ahead=4))
    assert results == [Done(p) for p in paths]


@pytest.mark.parametrize("bad", ["exit-1", "segv-1"])
def test_a_file_that_kills_its_worker_is_lost_alone(bad: str) -> None:
    paths = ["a", "b", bad, "c", "d", "e"]
    with _pool(2) as pool:
        results = list(pool.map(paths, ahead=4))
    assert _names(results) == paths
    lost = results[2]
    assert isinstance(lost, Lost) and "the scanning process died" in lost.reason
    assert ("SIGSEGV" if bad.startswith("segv") else "exit status 3") in lost.reason
    assert all(isinstance(r, Done) for i, r in enumerate(results) if i != 2)  # a new worker took the rest


@pytest.mark.parametrize("bad", ["hang-1", "stop-1"])
def test_a_file_that_hangs_is_killed_at_the_cap_and_the_scan_goes_on(bad: str) -> None:
    paths = ["a", bad, "b", "c"]
    started = time.monotonic()
    with _pool(1, seconds=1.0) as pool:
        results = list(pool.map(paths, ahead=2))
        assert pool.workers == [] or all(w.process.is_alive() for w in pool.workers)
    assert time.monotonic() - started < 20  # the cap is 1.5 s: never an hour
    assert _names(results) == paths
    assert isinstance(results[1], Lost) and "still running 1.5 s" in results[1].reason
    assert [type(r) for r in results] == [Done, Lost, Done, Done]


def test_a_file_past_the_memory_cap_is_unscannable_not_a_dead_machine() -> None:
    with _pool(1) as pool:
        results = list(pool.map(["hog-1", "after"], ahead=2))
    assert results[0] == Lost("hog-1", results[0].reason) and "unscannable: out of memory" in results[0].reason
    assert results[1] == Done("after")


def test_a_bug_is_an_error_for_its_file_only() -> None:
    with _pool(1) as pool:
        results = list(pool.map(["bug-1", "after"], ahead=2))
    assert isinstance(results[0], Lost) and results[0].reason == "error: internal error: KeyError: 'bug-1'"
    assert results[1] == Done("after")


def test_the_parent_builds_only_result_classes() -> None:
    with _pool(1) as pool:
        results = list(pool.map(["smuggle-1", "after"], ahead=2))
    assert isinstance(results[0], Lost) and "argparse.Namespace, which is not a result class" in results[0].reason
    assert results[1] == Done("after")


def test_no_worker_outlives_the_pool() -> None:
    with _pool(3) as pool:
        list(pool.map([f"f{n}" for n in range(9)], ahead=3))
        processes = [w.process for w in pool.workers]
    assert processes and not any(p.is_alive() for p in processes)


class _Saboteur:
    """A real scanner that crashes or hangs its process on a marker in the extracted text, as a
    native parser might on a hostile file."""

    def __init__(self) -> None:
        self.real: TextScanner = scanner_for()

    def scan(self, text: str, *, key: bytes) -> list[Finding]:
        if "CRASH-HERE" in text:
            os.kill(os.getpid(), signal.SIGSEGV)
        if "HANG-HERE" in text:
            time.sleep(3600)
        return self.real.scan(text, key=key)


def test_scan_reports_hostile_files_unscannable_and_scans_the_rest(tmp_path: Path) -> None:
    card = "4111111111111111"
    for name, body in [("a.txt", f"card {card}"), ("b.txt", "CRASH-HERE"), ("c.txt", "HANG-HERE"),
                       ("d.txt", f"card {card}")]:
        (tmp_path / name).write_text(body)
    files = sorted(str(p) for p in tmp_path.iterdir())
    settings = ScanSettings(DEFAULT_DIGEST_KEY, 0.0, Limits(clock=time.monotonic, seconds=0.5), "jsonl")
    results = list(_results(files, 2, _Saboteur(), settings))  # type: ignore[arg-type]
    assert [Path(r.path).name for r in results] == ["a.txt", "b.txt", "c.txt", "d.txt"]
    assert results[0].lines and results[3].lines and results[0].error is None
    assert results[1].notice is not None and results[1].notice == "unscannable: the scanning process died (killed by SIGSEGV)"
    assert results[2].notice is not None and results[2].notice.startswith("unscannable: still running 5.5 s")


def test_results_unpickle_as_themselves(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("card 4111111111111111 and mail a@example.com")
    settings = ScanSettings(DEFAULT_DIGEST_KEY, 0.0, Limits(clock=time.monotonic), "sarif")
    result = list(_results([str(tmp_path / "a.txt")], 1, scanner_for(), settings))[0]
    assert isinstance(result, FileResult) and result.located
    assert {type(item.finding) for item in result.located} == {Finding}


def test_a_worker_killed_while_idle_is_replaced_without_blaming_a_file() -> None:
    with _pool(1) as pool:
        results = list(pool.map(["a"], ahead=1))
        [idle] = pool.workers
        idle.process.kill()
        idle.process.join(5)
        results += list(pool.map(["b", "c"], ahead=1))
    assert results == [Done("a"), Done("b"), Done("c")]
