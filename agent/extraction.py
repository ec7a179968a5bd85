"""Extraction of files in a worker process, for the formats whose parsers are not ours.

The agent judges files from anyone (a USB stick, a download, a copied attachment). Text, CSV,
HTML, XML and OOXML are read in the service by code that counts every byte against its budget.
PDFs (pypdf), legacy Office (olefile, xlrd), archives (a member may be any of these) and e-mail
are read by a worker process (`python -m agent.extraction`) with its address space capped at
`WORKER_MEMORY`: a parser that loops or allocates without end on a hostile file (pypdf's
history has several; fuzzing found one in xlrd) then costs the worker, which is killed at the
time cap or dies at the cap, and the file is `unscannable` saying so; the service, its queue
and the events already accepted are untouched.

Workers are started on demand (about 0.15 s), kept for the next file, and leave after
`IDLE_SECONDS` without work, so an idle agent holds none. At most `POOL_SIZE` run at once (one
per channel thread that is judging). Requests and answers are one JSON line each way (the file's
bytes follow the request line); the service never unpickles what a worker says.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

WORKER_MEMORY = 1 << 30
IDLE_SECONDS = 60.0
GRACE_SECONDS = 5.0
POOL_SIZE = 3
#: Kinds (`rules.extract.sniff`) read in a worker: third-party parsers, or containers of them.
ISOLATED_KINDS = frozenset({"pdf", "cfb", "zip", "7z", "tar", "gz", "bz2", "xz", "eml"})


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str
    status: str
    reason: str | None


def extract_file(data: bytes, filename: str, *, ocr: bool, seconds: float = 30.0) -> Extracted:
    """The text of a file's bytes within `seconds`: in a worker process for `ISOLATED_KINDS`,
    here for the rest."""
    from rules.extract.sniff import sniff

    if sniff(data, filename) in ISOLATED_KINDS:
        return POOL.extract(data, filename, ocr=ocr, seconds=seconds)
    return _extract_here(data, filename, ocr=ocr, seconds=seconds)


def _extract_here(data: bytes, filename: str, *, ocr: bool, seconds: float) -> Extracted:
    from rules.extract import Limits, extract
    from rules.extract.tesseract import with_ocr

    limits = Limits(clock=time.monotonic, seconds=seconds)
    result = extract(data, filename, limits=with_ocr(limits) if ocr else limits)
    return Extracted(result.text, result.status, result.reason)


class WorkerGone(Exception):
    """The worker exited or was killed before it answered."""


class Worker:
    """One extraction worker process."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agent.extraction", repr(idle_seconds)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd="/", start_new_session=True)

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, request: dict[str, object], data: bytes, timeout: float) -> dict[str, object]:
        """Send one request and wait at most `timeout` seconds, writing included, for its answer."""
        assert self.process.stdin is not None and self.process.stdout is not None
        deadline = time.monotonic() + timeout
        message = memoryview(json.dumps({**request, "size": len(data)}).encode() + b"\n" + data)
        into = self.process.stdin.fileno()
        os.set_blocking(into, False)  # a worker that stops reading must not hold the service
        while message:
            self._wait(deadline, write=into)
            try:
                message = message[os.write(into, message[: 1 << 20]) :]
            except BlockingIOError:
                continue
            except OSError:  # EPIPE: it had exited
                raise WorkerGone("the worker had exited") from None
        out = self.process.stdout.fileno()
        chunks: list[bytes] = []
        while not (chunks and chunks[-1].endswith(b"\n")):
            self._wait(deadline, read=out)
            chunk = os.read(out, 1 << 20)
            if not chunk:
                self.process.wait()
                raise WorkerGone(_death(self.process.returncode))
            chunks.append(chunk)
        answer = json.loads(b"".join(chunks))
        if not isinstance(answer, dict):
            raise WorkerGone("the worker answered nonsense")
        return answer

    def _wait(self, deadline: float, *, read: int | None = None, write: int | None = None) -> None:
        """Until `read` is readable or `write` writable; past `deadline` the worker is killed."""
        left = deadline - time.monotonic()
        readable = [read] if read is not None else []
        writable = [write] if write is not None else []
        if left <= 0 or not any(select.select(readable, writable, [], left)[:2]):
            self.kill()
            raise TimeoutError

    def kill(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # the worker and any OCR it started
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        return f"the extraction worker was killed ({name}; out of memory?)"
    return f"the extraction worker exited (status {code})"


class Pool:
    """Workers kept between files, at most `size` at once."""

    def __init__(self, size: int = POOL_SIZE, idle_seconds: float = IDLE_SECONDS,
                 grace_seconds: float = GRACE_SECONDS) -> None:
        self.idle_seconds, self.grace_seconds = idle_seconds, grace_seconds
        self._idle: list[Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(size)

    def extract(self, data: bytes, filename: str, *, ocr: bool, seconds: float) -> Extracted:
        request = {"filename": filename, "ocr": ocr, "seconds": seconds}
        with self._slots:
            worker, fresh = self._take()
            try:
                answer = worker.ask(request, data, seconds + self.grace_seconds)
            except WorkerGone as gone:
                if fresh:
                    return Extracted("", "unscannable", f"{filename}: {gone}")
                worker = Worker(self.idle_seconds)  # a kept worker may have just left for idleness
                try:
                    answer = worker.ask(request, data, seconds + self.grace_seconds)
                except WorkerGone as again:
                    return Extracted("", "unscannable", f"{filename}: {again}")
                except TimeoutError:
                    return _no_answer(filename, seconds)
            except TimeoutError:
                return _no_answer(filename, seconds)
            with self._lock:
                self._idle.append(worker)
        reason = answer.get("reason")
        return Extracted(str(answer.get("text", "")), str(answer.get("status", "unscannable")),
                         None if reason is None else str(reason))

    def _take(self) -> tuple[Worker, bool]:
        """An idle worker that is still there, or a new one (True)."""
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker, False
                worker.kill()
        return Worker(self.idle_seconds), True

    def workers(self) -> list[Worker]:
        with self._lock:
            return list(self._idle)

    def close(self) -> None:
        with self._lock:
            for worker in self._idle:
                worker.kill()
            self._idle.clear()


def _no_answer(filename: str, seconds: float) -> Extracted:
    return Extracted("", "unscannable", f"{filename}: extraction gave no answer within {seconds:g} s (worker killed)")


POOL = Pool()


def main() -> int:
    """The worker: requests on stdin (a JSON line, then the file's bytes), one JSON answer line
    each on stdout; exits after `argv[1]` seconds without a request, or at end of input."""
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))
    idle = float(sys.argv[1]) if len(sys.argv) > 1 else IDLE_SECONDS
    import rules.extract  # noqa: F401  (loaded before the first request, not during it)

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while select.select([stdin], [], [], idle)[0]:
        line = stdin.readline()
        if not line:
            return 0
        request = json.loads(line)
        data = stdin.read(int(request["size"]))
        try:
            got = _extract_here(data, str(request["filename"]), ocr=bool(request["ocr"]),
                                seconds=float(request["seconds"]))
            answer = {"text": got.text, "status": got.status, "reason": got.reason}
        except Exception as exc:  # a parser's bug: this file is unscannable, the worker goes on
            answer = {"text": "", "status": "unscannable",
                      "reason": f"{request['filename']}: extraction failed ({type(exc).__name__}: {exc})"}
        stdout.write(json.dumps(answer, ensure_ascii=False).encode("utf-8", "replace") + b"\n")  # (JSON escapes newlines)
        stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
