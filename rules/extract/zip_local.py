"""A zip read from its local headers, when its central directory is missing: the first volumes of
a split zip (`zip -s`, WinZip's .z01, 7-Zip's .zip.001 — the old way past an upload limit) or a
file cut short (a partial download, a copy stopped half way).

Each entry's local header (signature, flags, method, sizes, name) is followed by its data: read
in order, stored or deflated (bzip2 and LZMA too), the last one decoded as far as the bytes go.
Sizes a streaming writer left to a data descriptor are found by the deflate stream's own end.
The archive stays `unscannable` (its directory, which lists what else it holds, is not there),
so that policies for what cannot be read still apply, but the detectors see what was read.

A later volume of a split zip (`.z02`..., `.zip.002`..., and the last one, `zip -s`'s `.zip`)
starts in the middle of an entry, with no signature: named as a volume, it is read from the first
local header found in it that holds together, so every entry that starts in it is read (one that
goes on into the next volume as far as it goes). Splitting an archive no longer hides all but
its first part.
"""

from __future__ import annotations

import bz2
import lzma
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from rules.extract.budget import Budget, EncryptedContent, Unscannable

LOCAL = b"PK\x03\x04"
SPLIT = b"PK\x07\x08"  # the first volume of a split zip starts with it
_HEADER = struct.Struct("<4sHHHHHIIIHH")
_DESCRIPTOR = 1 << 3
_STORED, _DEFLATED, _BZIP2, _LZMA = 0, 8, 12, 14
_STEP = 1 << 20


def local_members(data: bytes, budget: Budget, what: str, why: str, at: int | None = None) -> Iterator[tuple[str, bytes]]:
    """The entries of a zip whose directory could not be read (`why`), from their local headers
    (from offset `at`, else the start); then `Unscannable` saying how much was read."""
    if at is None:
        at = 4 if data.startswith(SPLIT + LOCAL) else 0
    read, cut = 0, ""
    while data[at : at + 4] == LOCAL and at + _HEADER.size <= len(data):
        (_, _, flags, method, _, _, _, size, _, name_length, extra_length) = _HEADER.unpack_from(data, at)
        start = at + _HEADER.size + name_length + extra_length
        name = data[at + _HEADER.size : at + _HEADER.size + name_length].decode("utf-8" if flags & 0x800 else "cp437",
                                                                                "replace")
        if flags & 1:
            raise EncryptedContent(f"{what}: password-protected zip entry {name}")
        budget.enter(what)
        content, end, whole = _content(data, start, size if not flags & _DESCRIPTOR else None, method, budget,
                                       f"{what}/{name}")
        if content is None:
            cut = f"{name} (compression method {method}, not read)"
            break
        if not name.endswith("/"):
            read += 1
            yield name, content
        if not whole:
            cut = f"{name} (cut short, read as far as it goes)"
            break
        at = _after_descriptor(data, end) if flags & _DESCRIPTOR else end
    if not read and not cut:
        raise Unscannable(f"{what}: {why}")
    raise Unscannable(f"{what}: {why}; {read} file(s) read from their local headers, the archive's directory "
                      f"missing (a split volume or a cut file){'; last: ' + cut if cut else ''}")


_VOLUME = re.compile(r"\.(?:z(\d{2,3})|zip\.(\d{3}|[a-z]{2})|zip)$", re.IGNORECASE)
_METHODS = frozenset({_STORED, _DEFLATED, _BZIP2, _LZMA, 9, 93, 95, 98, 99})


def later_volume(name: str) -> bool:
    """Whether a file is named as a volume of a split zip that is not the first: `.z02` on
    (WinZip, `zip -s`), `.zip.002` on (7-Zip), `.zip.ab` on (`split`), or the `.zip` that ends a
    `zip -s` set."""
    found = _VOLUME.search(name)
    if found is None:
        return False
    number = found.group(1) or found.group(2)
    return number is None or (number.lower() != "aa" if number.isalpha() else int(number) > 1)


def first_header(data: bytes) -> int | None:
    """The offset of the first local header in `data` whose fields hold together (a known method,
    a name of 1-4,096 bytes within the data, a version a zip writer uses); None when none does."""
    at = data.find(LOCAL)
    while at >= 0 and at + _HEADER.size <= len(data):
        (_, version, _, method, _, _, _, _, _, name_length, extra_length) = _HEADER.unpack_from(data, at)
        if (method in _METHODS and 0 < name_length <= 4096 and version & 0xFF <= 63
                and at + _HEADER.size + name_length + extra_length <= len(data)):
            return at
        at = data.find(LOCAL, at + 1)
    return None


def volume_members(data: bytes, budget: Budget, what: str) -> Iterator[tuple[str, bytes]]:
    """The entries that start in a later volume of a split zip, then `Unscannable` saying so."""
    at = first_header(data)
    if at is None:
        raise Unscannable(f"{what}: named as a later volume of a split zip archive, and no entry starts in it "
                          "(the rest of an entry from an earlier volume cannot be read alone)")
    yield from local_members(data, budget, what, "a later volume of a split zip archive, the rest of an entry from "
                             "an earlier volume not read", at)


def _content(data: bytes, start: int, size: int | None, method: int, budget: Budget,
             what: str) -> tuple[bytes | None, int, bool]:
    """An entry's bytes, where its data ends, and whether it was whole; None for a method not read."""
    if method == _STORED:
        if size is None:  # a streamed stored entry: its end is only in the descriptor
            return None, start, False
        content = data[start : start + size]
        budget.spend(len(content), what)
        return content, start + size, len(content) == size
    engines: dict[int, Callable[[], Any]] = {_DEFLATED: lambda: zlib.decompressobj(-15),
                                             _BZIP2: bz2.BZ2Decompressor, _LZMA: _ZipLzma}
    if method not in engines:
        return None, start, False
    engine = engines[method]()
    stop = len(data) if size is None else min(len(data), start + size)
    out = bytearray()
    try:
        piece = engine.decompress(data[start:stop], min(budget.allowance() + 1, _STEP))
        while True:
            out += piece
            budget.spend(len(piece), what)
            if _finished(engine) or not piece:
                break
            piece = engine.decompress(_tail(engine), min(budget.allowance() + 1, _STEP))
    except (zlib.error, OSError, EOFError, ValueError, lzma.LZMAError) as exc:
        raise Unscannable(f"{what}: corrupt entry ({exc})") from None
    whole = _finished(engine)
    if not whole:
        return bytes(out), stop, False
    return bytes(out), start + size if size is not None else stop - len(getattr(engine, "unused_data", b"")), True


def _finished(engine: object) -> bool:
    return bool(getattr(engine, "eof", False))


def _tail(engine: object) -> bytes:
    """Input a decompressor has kept for lack of room in its last output (zlib's), else none."""
    return bytes(getattr(engine, "unconsumed_tail", b""))


class _ZipLzma:
    """LZMA as zip stores it: a version (2 bytes), the size of the properties (2), the
    properties (5), then the raw stream."""

    def __init__(self) -> None:
        self.engine: lzma.LZMADecompressor | None = None
        self.head = b""

    @property
    def eof(self) -> bool:
        return self.engine is not None and self.engine.eof

    @property
    def unused_data(self) -> bytes:
        return self.engine.unused_data if self.engine is not None else b""

    def decompress(self, data: bytes, most: int) -> bytes:
        if self.engine is None:
            self.head += data
            if len(self.head) < 9:
                return b""
            props = self.head[4:9]
            filters = [{"id": lzma.FILTER_LZMA1, "lc": props[0] % 9, "lp": props[0] // 9 % 5, "pb": props[0] // 45,
                        "dict_size": max(int.from_bytes(props[1:5], "little"), 4096)}]
            self.engine = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=filters)
            data, self.head = self.head[9:], b""
        return self.engine.decompress(data, most)


def _after_descriptor(data: bytes, end: int) -> int:
    """Where the next entry starts after a data descriptor: an optional signature, the CRC and
    the two sizes (4 bytes each, or 8 in zip64)."""
    at = end + 4 if data[end : end + 4] == SPLIT else end
    for size in (12, 20):
        if data[at + size : at + size + 4] in (LOCAL, b"PK\x01\x02", b"PK\x05\x06") or at + size >= len(data):
            return at + size
    return at + 12
