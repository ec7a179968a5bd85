"""Extraction of files in a worker process, for the formats whose parsers are not ours.

The agent judges files from anyone (a USB stick, a download, a copied attachment). Text, CSV,
HTML, XML and OOXML are read in the service by code that counts every byte against its budget.
PDFs (pypdf), legacy Office (olefile, xlrd), archives (a member may be any of these) and e-mail
are read by a worker process (`python -m agent.extraction`) with its address space capped at
`WORKER_MEMORY`: a parser that loops or allocates without end on a hostile file (pypdf's
history has several; fuzzing found one in xlrd) then costs the worker, which is killed at the
time cap or dies at the cap, and the file is `unscannable` saying so; the service, its queue
and the events already accepted are untouched.

A worker started as root (by the agent's service) loads every module extraction may need, then
becomes `nobody` (`rules.extract.tesseract.drop_privileges`) before it reads a request: a parser
that a hostile file takes over runs with no rights on the PC. Images in a container are read by
OCR in the service's stead: the worker asks the service (a JSON line and the image's bytes on its
stdout), which checks the request, runs the OCR worker (unprivileged too) and writes the text back;
a `nobody` process could not start Python from where root installed it.

A file over the agent's read limit (`max_file_bytes`) that may be a disc or disk image, an
Outlook data file, a OneNote section, an Access database or a Parquet file gets a worker of its own (`extract_large`): the service
opens the file and hands the worker its descriptor (the worker, as `nobody`, could not open it by
name), and the worker's address space is capped at `WORKER_MEMORY` plus the file's size, so that
it can map the file and read it as `leakguard rules scan` does, up to 1 GiB.

Workers are started on demand (about 0.3 s), kept for the next file, and leave after
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
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rules.extract import Limits

WORKER_MEMORY = 1 << 30
IDLE_SECONDS = 60.0
GRACE_SECONDS = 5.0
POOL_SIZE = 3
#: Kinds (`rules.extract.sniff`) read in a worker: third-party parsers, or containers of them
#: ("binary": a signed OpenPGP or CMS file holds a file of any kind), and armored OpenPGP.
ISOLATED_KINDS = frozenset({"pdf", "cfb", "msg", "pst", "onenote", "tnef", "zip", "7z", "rar", "cab", "disc", "disk", "tar", "cpio", "ar", "sqlite", "access", "parquet", "orc", "avro", "dbase", "dbase-memo", "gz", "bz2", "xz", "zst", "lzma", "lz", "lz4", "Z", "eml", "mbox", "binary"})
_ARMORED_PGP = b"-----BEGIN PGP MESSAGE-----"


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str
    status: str
    reason: str | None


def extract_file(data: bytes, filename: str, *, ocr: bool, seconds: float = 30.0) -> Extracted:
    """The text of a file's bytes within `seconds`: in a worker process for `ISOLATED_KINDS`,
    here for the rest."""
    from rules.extract.sniff import sniff

    kind = sniff(data, filename)
    if kind in ISOLATED_KINDS or _holds_files(data, kind):
        return POOL.extract(data, filename, ocr=ocr, seconds=seconds)
    return _extract_here(data, filename, ocr=ocr, seconds=seconds)


def _holds_files(data: bytes, kind: str) -> bool:
    """Whether a file of a kind read here holds other files that readers of isolated kinds would
    parse: a signed OpenPGP text, a text with a file written in base64, a page with `data:` URIs,
    an Office document with embedded objects (a PDF inserted into a report)."""
    from rules.extract.encoded import has_encoded_run
    from rules.extract.office import has_embeddings

    if kind == "text" and data.lstrip()[: len(_ARMORED_PGP)] == _ARMORED_PGP:
        return True
    if kind == "html" and b";base64," in data:
        return True
    if kind in ("text", "xml", "html") and has_encoded_run(data):
        return True
    return kind in ("docx", "xlsx", "pptx", "xlsb", "odf") and has_embeddings(data)


def _extract_here(data: bytes, filename: str, *, ocr: bool, seconds: float) -> Extracted:
    from rules.extract import Limits
    from rules.extract.tesseract import with_ocr

    limits = Limits(clock=time.monotonic, seconds=seconds)
    return _extract_with(data, filename, with_ocr(limits) if ocr else limits)


def _extract_with(data: bytes, filename: str, limits: Limits) -> Extracted:
    from rules.extract import extract

    result = extract(data, filename, limits=limits)
    return Extracted(result.text, result.status, result.reason)


#: The OCR a worker may ask of the service: an image file's bytes, or a PDF's with the pages, or
#: the (page, object) pictures, to read (`rules.extract.Limits`' three ports).
OCR_KINDS = ("image", "pages", "pictures")
#: The largest image or PDF a worker may hand the service for OCR (a container's member is at
#: most the expansion budget, `Limits.max_expanded_bytes`).
MAX_OCR_BYTES = 256 << 20
#: Characters of text a large file's worker gives back (a mailbox of years holds more): past them
#: the file is `unscannable` saying so, the text before still judged.
MAX_LARGE_TEXT = 64 << 20
#: The largest file a large file's worker maps (`rules.extract.Limits.max_image_bytes`).
MAX_LARGE_BYTES = 1 << 30


def large_seconds(size: int) -> float:
    """The time a large file may take: the usual 30 s, and one more per 25 MB."""
    return 30.0 + size / 25e6


def ocr_ports() -> tuple[str, ...]:
    """The OCR kinds this machine can read (tesseract, and poppler for PDFs, installed)."""
    from rules.extract.tesseract import tesseract_ocr, tesseract_pages, tesseract_pictures

    ports = (tesseract_ocr(), tesseract_pages(), tesseract_pictures())
    return tuple(kind for kind, port in zip(OCR_KINDS, ports, strict=True) if port is not None)


def _run_ocr(request: dict[str, object], data: bytes, seconds: float) -> dict[str, object]:
    """The service's side of a worker's OCR request: checked, then read by the OCR worker.
    Raises ValueError for a request no honest worker sends."""
    from rules.extract.budget import Unscannable
    from rules.extract.tesseract import tesseract_ocr, tesseract_pages, tesseract_pictures

    kind, items = request.get("ocr"), request.get("items")
    asked = request.get("seconds")
    if not isinstance(asked, (int, float)) or not 0 < asked <= seconds + 1:
        raise ValueError(f"OCR seconds {asked!r}")
    rows = _whole_numbers(items, 1 if kind == "pages" else 2)
    try:
        if kind == "image" and items is None and (port := tesseract_ocr()) is not None:
            return {"text": port(data, float(asked))}
        if kind == "pages" and rows and (pages := tesseract_pages()) is not None:
            return {"texts": pages(data, tuple(n for n, in rows), float(asked))}
        if kind == "pictures" and rows and (pictures := tesseract_pictures()) is not None:
            return {"texts": pictures(data, tuple((p, n) for p, n in rows), float(asked))}
    except Unscannable as exc:
        return {"error": str(exc)}
    raise ValueError(f"OCR request {str(kind)[:20]!r} with {str(items)[:80]}")


def _whole_numbers(items: object, width: int) -> list[tuple[int, ...]] | None:
    """`items` as rows, when it is a list of 1-100 positive whole numbers (width 1) or of pairs
    of them (width 2); else None."""
    if not isinstance(items, list) or not 0 < len(items) <= 100:
        return None
    rows = [tuple(r) if isinstance(r, list) else (r,) if width == 1 else () for r in items]
    if all(len(r) == width and all(type(n) is int and 0 < n < 1 << 31 for n in r) for r in rows):
        return rows
    return None


class WorkerGone(Exception):
    """The worker exited or was killed before it answered."""


class Worker:
    """One extraction worker process."""

    #: The longest answer line a worker may send.
    cap = MAX_OCR_BYTES

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agent.extraction", repr(idle_seconds)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd="/", start_new_session=True)
        self._buffer = b""

    def alive(self) -> bool:
        return self.process.poll() is None

    def answer(self, timeout: float) -> dict[str, object]:
        """The one answer of a worker that was given its work when it started."""
        return self._message(time.monotonic() + timeout)

    def ask(self, request: dict[str, object], data: bytes, timeout: float) -> dict[str, object]:
        """Send one request and wait at most `timeout` seconds, writing included, for its answer;
        OCR the worker asks for on the way is run here (`_run_ocr`), within the same time."""
        deadline = time.monotonic() + timeout
        self._buffer = b""
        self._send(json.dumps({**request, "size": len(data)}).encode() + b"\n" + data, deadline)
        while True:
            answer = self._message(deadline)
            if "ocr" not in answer:
                return answer
            size = answer.get("size")
            if type(size) is not int or not 0 < size <= MAX_OCR_BYTES:
                self.kill()
                raise WorkerGone(f"the worker asked for OCR of {str(size)[:20]} bytes")
            image = self._exactly(size, deadline)
            try:
                reply = _run_ocr(answer, image, max(0.0, deadline - time.monotonic()))
            except ValueError as exc:
                self.kill()
                raise WorkerGone(f"the worker asked for OCR no worker asks for ({exc})") from None
            self._send(json.dumps(reply, ensure_ascii=False).encode("utf-8", "replace") + b"\n", deadline)

    def _send(self, message: bytes, deadline: float) -> None:
        assert self.process.stdin is not None
        into = self.process.stdin.fileno()
        os.set_blocking(into, False)  # a worker that stops reading must not hold the service
        left = memoryview(message)
        while left:
            self._wait(deadline, write=into)
            try:
                left = left[os.write(into, left[: 1 << 20]) :]
            except BlockingIOError:
                continue
            except OSError:  # EPIPE: it had exited
                self.process.wait()
                raise WorkerGone(_death(self.process.returncode)) from None

    def _fill(self, deadline: float) -> None:
        assert self.process.stdout is not None
        out = self.process.stdout.fileno()
        self._wait(deadline, read=out)
        chunk = os.read(out, 1 << 20)
        if not chunk:
            self.process.wait()
            raise WorkerGone(_death(self.process.returncode))
        self._buffer += chunk

    def _message(self, deadline: float) -> dict[str, object]:
        """The next JSON line from the worker."""
        while b"\n" not in self._buffer:
            if len(self._buffer) > self.cap:
                self.kill()
                raise WorkerGone("the worker answered nonsense")
            self._fill(deadline)
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            answer = json.loads(line)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            self.kill()
            raise WorkerGone("the worker answered nonsense")
        return answer

    def _exactly(self, size: int, deadline: float) -> bytes:
        while len(self._buffer) < size:
            self._fill(deadline)
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

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
        request = {"filename": filename, "ocr": ocr, "seconds": seconds, "ocr_ports": ocr_ports() if ocr else ()}
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


class _LargeWorker(Worker):
    """A worker for one file too large for the kept ones, given its descriptor; it answers once."""

    cap = 4 * MAX_LARGE_TEXT + (1 << 20)  # JSON of the longest text, every character escaped

    def __init__(self, fd: int, size: int, max_input: int, seconds: float, filename: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agent.extraction", "--descriptor", str(fd), str(size), str(max_input),
             repr(seconds), filename], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd="/", start_new_session=True, pass_fds=(fd,))
        self._buffer = b""


def extract_large(path: str, filename: str, *, max_input: int) -> Extracted:
    """A file over the agent's read limit `max_input`, read in a worker of its own through a map
    of it (disc and disk images, Outlook data files, OneNote sections, Access databases and
    Parquet files up to 1 GiB; anything else is `unscannable` as too large); no OCR. The service
    opens it, not following a link."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return Extracted("", "unscannable", f"{filename}: cannot be opened ({exc.strerror or exc})")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return Extracted("", "unscannable", f"{filename}: not a regular file")
        if info.st_size > MAX_LARGE_BYTES:
            return Extracted("", "unscannable", f"{filename}: input of {info.st_size} bytes is above the limit of "
                             f"{MAX_LARGE_BYTES}")
        seconds = large_seconds(info.st_size)
        worker = _LargeWorker(fd, info.st_size, max_input, seconds, filename)
    finally:
        os.close(fd)
    try:
        answer = worker.answer(seconds + GRACE_SECONDS)
    except WorkerGone as gone:
        return Extracted("", "unscannable", f"{filename}: {gone}")
    except TimeoutError:
        return _no_answer(filename, seconds)
    finally:
        worker.kill()
    reason = answer.get("reason")
    return Extracted(str(answer.get("text", "")), str(answer.get("status", "unscannable")),
                     None if reason is None else str(reason))


def _no_answer(filename: str, seconds: float) -> Extracted:
    return Extracted("", "unscannable", f"{filename}: extraction gave no answer within {seconds:g} s (worker killed)")


POOL = Pool()


def main() -> int:
    """The worker: requests on stdin (a JSON line, then the file's bytes), one JSON answer line
    each on stdout; exits after `argv[1]` seconds without a request, or at end of input."""
    if sys.argv[1:2] == ["--descriptor"]:
        return _large_main(sys.argv[2:])
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))
    idle = float(sys.argv[1]) if len(sys.argv) > 1 else IDLE_SECONDS
    preload()  # while it may still read where root installed Python and leakguard
    from rules.extract import Limits
    from rules.extract.tesseract import drop_privileges

    drop_privileges()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while select.select([stdin], [], [], idle)[0]:
        line = stdin.readline()
        if not line:
            return 0
        request = json.loads(line)
        data = stdin.read(int(request["size"]))
        limits = Limits(clock=time.monotonic, seconds=float(request["seconds"]))
        if request["ocr"]:
            limits = _asking_service(limits, tuple(request.get("ocr_ports", ())))
        try:
            got = _extract_with(data, str(request["filename"]), limits)
            answer = {"text": got.text, "status": got.status, "reason": got.reason}
        except Exception as exc:  # a parser's bug: this file is unscannable, the worker goes on
            answer = {"text": "", "status": "unscannable",
                      "reason": f"{request['filename']}: extraction failed ({type(exc).__name__}: {exc})"}
        stdout.write(json.dumps(answer, ensure_ascii=False).encode("utf-8", "replace") + b"\n")  # (JSON escapes newlines)
        stdout.flush()
    return 0


def _large_main(args: list[str]) -> int:
    """A large file's worker: `descriptor size max_input seconds filename`; one answer line."""
    fd, size, max_input, seconds, filename = int(args[0]), int(args[1]), int(args[2]), float(args[3]), args[4]
    memory = WORKER_MEMORY + min(size, MAX_LARGE_BYTES)
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    preload()
    from rules.extract import Limits, extract_open
    from rules.extract.tesseract import drop_privileges

    drop_privileges()
    limits = Limits(clock=time.monotonic, seconds=seconds, max_input_bytes=max_input, max_image_bytes=MAX_LARGE_BYTES)
    try:
        with os.fdopen(fd, "rb") as handle:
            got = extract_open(handle, filename, limits=limits)
        text, status, reason = got.text, got.status, got.reason
    except Exception as exc:  # a parser's bug: this file is unscannable
        text, status, reason = "", "unscannable", f"{filename}: extraction failed ({type(exc).__name__}: {exc})"
    if len(text) > MAX_LARGE_TEXT:
        whole = len(text)
        text = text[:MAX_LARGE_TEXT]
        if status == "ok":
            status, reason = "unscannable", f"{filename}: text cut at {MAX_LARGE_TEXT} of its {whole} characters"
    answer = {"text": text, "status": status, "reason": reason}
    sys.stdout.buffer.write(json.dumps(answer, ensure_ascii=False).encode("utf-8", "replace") + b"\n")
    sys.stdout.buffer.flush()
    return 0


def _asking_service(limits: Limits, ports: tuple[str, ...]) -> Limits:
    """`limits` with OCR ports that ask the service (`Worker.ask` answers), for the kinds it has."""
    import dataclasses

    def ask(kind: str, data: bytes, items: object, seconds: float) -> dict[str, object]:
        from rules.extract.budget import Unscannable

        request = {"ocr": kind, "items": items, "seconds": seconds, "size": len(data)}
        sys.stdout.buffer.write(json.dumps(request).encode() + b"\n" + data)
        sys.stdout.buffer.flush()
        reply = json.loads(sys.stdin.buffer.readline())
        if "error" in reply:
            raise Unscannable(str(reply["error"]))
        return dict(reply)

    def image(data: bytes, seconds: float) -> str:
        return str(ask("image", data, None, seconds)["text"])

    def pages(pdf: bytes, numbers: tuple[int, ...], seconds: float) -> list[str]:
        return [str(t) for t in ask("pages", pdf, list(numbers), seconds)["texts"]]  # type: ignore[attr-defined]

    def pictures(pdf: bytes, wanted: tuple[tuple[int, int], ...], seconds: float) -> list[str]:
        return [str(t) for t in ask("pictures", pdf, [list(w) for w in wanted], seconds)["texts"]]  # type: ignore[attr-defined]

    return dataclasses.replace(limits, ocr=image if "image" in ports else None,
                               ocr_pages=pages if "pages" in ports else None,
                               ocr_pictures=pictures if "pictures" in ports else None)


#: Packages whose every module the worker loads before it gives up root; the warm-up
#: (`_warm_up`) then loads what their code imports only when a file needs it.
PRELOADED = ("rules.extract", "pypdf", "olefile", "xlrd", "zstandard", "lz4", "email", "encodings", "xml.etree", "html", "json",
             "mimetypes")


def preload() -> None:
    """Load every module extraction may import, then read one small file of each isolated
    kind: after `drop_privileges` nothing more can be loaded from where root installed it."""
    import importlib
    import pkgutil
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in PRELOADED:
            package = importlib.import_module(name)
            for module in pkgutil.walk_packages(getattr(package, "__path__", []), f"{name}."):
                with contextlib.suppress(Exception):  # a platform's module (encodings.mbcs), an optional backend
                    importlib.import_module(module.name)
    _warm_up()


def _warm_up() -> None:
    import bz2
    import gzip
    import io
    import lzma
    import tarfile
    import zipfile

    from PIL import Image
    from pypdf import PdfWriter

    from rules.extract import Limits

    Image.init()
    images = {}
    for fmt, mode in (("PNG", "LA"), ("JPEG", "RGB"), ("GIF", "P"), ("BMP", "RGB"), ("TIFF", "RGB"), ("WEBP", "RGBA")):
        tiny = io.BytesIO()
        Image.new(mode, (2, 2)).save(tiny, fmt)
        images[f"a.{fmt.lower()}"] = tiny.getvalue()  # their headers are read here, for the pixel limit

    pdf = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(72, 72)
    writer.write(pdf)
    mail = (b"From: a@example.com\nSubject: =?utf-8?q?warm-up?=\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=iso-8859-1\n"
            b"Content-Transfer-Encoding: quoted-printable\n\nwarm=E9up\n--b\nContent-Type: text/html; charset=utf-8\n"
            b"Content-Transfer-Encoding: base64\n\nPHA+d2FybTwvcD4=\n--b--\n")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
            zipped.writestr(zipfile.ZipInfo(f"{method}.txt"), b"warm-up", compress_type=method)
        zipped.writestr("a.pdf", pdf.getvalue())
        zipped.writestr("a.eml", mail)
        zipped.writestr("a.html", b"<p>warm-up &amp; more</p>")
        zipped.writestr("a.xml", b"<?xml version='1.0'?><a>warm-up</a>")
        for name, image in images.items():
            zipped.writestr(name, image)
    tarred = io.BytesIO()
    with tarfile.open(fileobj=tarred, mode="w") as tar:
        member = tarfile.TarInfo("a.zip")
        member.size = len(archive.getvalue())
        tar.addfile(member, io.BytesIO(archive.getvalue()))
    import mimetypes

    import zstandard

    mimetypes.init()  # the system's type lists (HTML data: URIs are named by type), read once up front
    limits = Limits(clock=time.monotonic)
    for name, data in (("a.tar.zst", zstandard.ZstdCompressor().compress(tarred.getvalue())),
                       ("a.tar.gz", gzip.compress(tarred.getvalue())), ("a.tar.bz2", bz2.compress(tarred.getvalue())),
                       ("a.tar.xz", lzma.compress(tarred.getvalue())), ("a.eml", mail)):
        _extract_with(data, name, limits)


if __name__ == "__main__":
    sys.exit(main())
