"""Worker processes for `leakguard rules scan` that a hostile file cannot hang or take down.

Extraction runs third-party parsers (pypdf, olefile, xlrd, the standard library's) on files from
anywhere. Its time cap is cooperative: a parser stuck in one long call, or in native code, does
not look at the clock, and a parser that allocates without end takes the scan with it. So every
file is scanned in a forked worker (it inherits the built scanner, fingerprint and EDM stores as
they are) that:

- holds one file at a time, so a lost worker loses one file;
- is killed when the file takes `grace` seconds past the cooperative cap, and replaced;
- has its address space capped at what it inherited plus `memory` bytes: past that, allocations
  fail in the worker (`MemoryError`, or the worker dies), not in the machine;
- ignores SIGINT: the parent stops them all when the scan is interrupted.

The file is then reported `unscannable` with the reason, and the scan goes on. Results come back
pickled, and the parent unpickles only the result classes (`_ResultUnpickler`): a worker that a
file took over cannot make the parent build anything else.
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import multiprocessing
import pickle
import resource
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Generic, TypeVar

#: Address space a worker may take beyond what it inherits from the parent.
WORKER_MEMORY = 2 << 30
#: Seconds past the cooperative cap before a worker is killed.
GRACE_SECONDS = 5.0

R = TypeVar("R")


@dataclass(frozen=True)
class Lost:
    """Why a file has no result: its worker was killed at the time cap, or died."""

    path: str
    reason: str


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    index: int | None = None  # the file it holds
    deadline: float = 0.0


@dataclass
class _Order(Generic[R]):
    """Results by their file's index, and the next index to yield."""

    done: dict[int, R | Lost] = field(default_factory=dict)
    next: int = 0


class _ResultUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, allowed: frozenset[tuple[str, str]]) -> None:
        super().__init__(io.BytesIO(data))
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> type:
        if (module, name) not in self.allowed:
            raise pickle.UnpicklingError(f"a worker sent {module}.{name}, which is not a result class")
        found: type = super().find_class(module, name)
        return found


def _limit_memory(extra: int) -> None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration, ValueError):
        return  # no /proc: no cap rather than a wrong one
    resource.setrlimit(resource.RLIMIT_AS, (size + extra, size + extra))


#: `failed(path, reason, unscannable)`: the result for a file the work raised on; `unscannable`
#: when the file is to blame (out of memory), else it is an internal error.
Failed = Callable[[str, str, bool], R]


def _serve(conn: Connection, work: Callable[[str], object], failed: Failed[object], memory: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    faulthandler.disable()  # a crash is reported as the file's result, not as a traceback on stderr
    _limit_memory(memory)
    while True:
        try:
            path = conn.recv_bytes().decode("utf-8", "surrogateescape")
        except EOFError:
            return
        try:
            result = work(path)
        except MemoryError:
            result = failed(path, f"out of memory (the cap is {memory >> 20} MiB above the scanner's own)", True)
        except Exception as exc:  # a bug, not the file's fault: say so and go on
            result = failed(path, f"internal error: {type(exc).__name__}: {exc}", False)
        conn.send_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


def _death(process: BaseProcess) -> str:
    process.join(1.0)
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class SupervisedPool(Generic[R]):
    """`jobs` forked workers running `work(path)`, each file watched against `seconds` (the
    cooperative cap) plus `grace`. Results are unpickled as `result_classes` only."""

    def __init__(self, jobs: int, work: Callable[[str], R], *, seconds: float,
                 result_classes: Iterable[type], failed: Failed[R],
                 grace: float = GRACE_SECONDS, memory: int = WORKER_MEMORY) -> None:
        self.jobs = max(1, jobs)
        self.work = work
        self.failed = failed
        self.seconds = seconds + grace
        self.memory = memory
        self.allowed = frozenset((c.__module__, c.__qualname__) for c in result_classes)
        self.context = multiprocessing.get_context("fork")
        self.workers: list[_Worker] = []

    def __enter__(self) -> SupervisedPool[R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> _Worker:
        parent, child = self.context.Pipe(duplex=True)
        process = self.context.Process(target=_serve, args=(child, self.work, self.failed, self.memory), daemon=True)
        process.start()
        child.close()
        worker = _Worker(process, parent)
        self.workers.append(worker)
        return worker

    def _stop(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5.0)
        worker.conn.close()
        self.workers.remove(worker)

    def close(self) -> None:
        for worker in list(self.workers):
            self._stop(worker)

    def map(self, paths: Iterable[str], ahead: int) -> Iterator[R | Lost]:
        """A result (or `Lost`) for each path, in the order of `paths`, with at most `ahead` files
        handed out before the next one to yield has its result."""
        source = iter(paths)
        names: dict[int, str] = {}
        order: _Order[R] = _Order()
        handed = 0
        exhausted = False
        while True:
            while not exhausted and handed - order.next < max(ahead, 1) and self._idle_or_new() is not None:
                path = next(source, None)
                if path is None:
                    exhausted = True
                    break
                names[handed] = path
                self._hand(handed, path)
                handed += 1
            while order.next in order.done:
                names.pop(order.next)
                yield order.done.pop(order.next)
                order.next += 1
            if exhausted and order.next == handed:
                return
            self._collect(names, order)

    def _idle_or_new(self) -> _Worker | None:
        for gone in [w for w in self.workers if w.index is None and not w.process.is_alive()]:
            self._stop(gone)  # killed while it waited (the OOM killer, an operator): no file's fault
        idle = next((w for w in self.workers if w.index is None), None)
        if idle is None and len(self.workers) < self.jobs:
            idle = self._start()
        return idle

    def _hand(self, index: int, path: str) -> None:
        worker = self._idle_or_new()
        assert worker is not None, "only called when a worker is free"
        worker.index = index
        worker.deadline = time.monotonic() + self.seconds
        with contextlib.suppress(OSError):  # it died since its last file: the wait below finds it
            worker.conn.send_bytes(path.encode("utf-8", "surrogateescape"))

    def _collect(self, names: dict[int, str], order: _Order[R]) -> None:
        """Wait for a worker to answer, die or pass its deadline, and record what it gave."""
        busy = [w for w in self.workers if w.index is not None]
        if not busy:
            return
        timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
        ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout)
        now = time.monotonic()
        for worker in busy:
            index = worker.index
            assert index is not None
            if worker.conn in ready:
                try:
                    data = worker.conn.recv_bytes()
                except (EOFError, OSError):
                    data = None
                if data is not None:
                    worker.index = None
                    order.done[index] = self._load(names[index], data)
                    continue
                order.done[index] = Lost(names[index], f"the scanning process died ({_death(worker.process)})")
            elif worker.process.sentinel in ready:
                order.done[index] = Lost(names[index], f"the scanning process died ({_death(worker.process)})")
            elif now >= worker.deadline:
                order.done[index] = Lost(names[index], f"still running {self.seconds:g} s after it was handed "
                                         "out; its process was killed")
            else:
                continue
            self._stop(worker)

    def _load(self, path: str, data: bytes) -> R | Lost:
        try:
            result: R = _ResultUnpickler(data, self.allowed).load()
        except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError) as exc:
            return Lost(path, f"its scanning process sent something that is not a result ({exc})")
        return result
