"""zip and tar members, gzip, bzip2 and xz streams, read within the expansion budget."""

from __future__ import annotations

import bz2
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from io import BytesIO

from rules.extract.budget import Budget, EncryptedContent, Unscannable
from rules.extract.office import read_member

Member = tuple[str, bytes]


def zip_members(data: bytes, budget: Budget, what: str) -> Iterator[Member]:
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise Unscannable(f"{what}: corrupt zip ({exc})") from None
    if any(info.flag_bits & 0x1 for info in infos):
        names = ", ".join(i.filename for i in infos if i.flag_bits & 0x1)[:200]
        raise EncryptedContent(f"{what}: password-protected zip entries ({names})")
    for info in infos:
        if info.is_dir():
            continue
        budget.enter(what)
        yield info.filename, read_member(archive, info, budget, what)


def tar_members(data: bytes, budget: Budget, what: str) -> Iterator[Member]:
    try:
        with tarfile.open(fileobj=BytesIO(data), mode="r:") as archive:
            for info in archive:
                budget.enter(what)
                if not info.isfile():
                    continue
                budget.spend(info.size, f"{what}/{info.name}")
                stream = archive.extractfile(info)
                if stream is not None:
                    yield info.name, stream.read(info.size)
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise Unscannable(f"{what}: corrupt tar ({exc})") from None


def gunzip(data: bytes, budget: Budget, what: str) -> bytes:
    """Decompress a (multi-member) gzip stream, stopping as soon as the budget runs out."""
    out = bytearray()
    rest = data
    while rest:
        inflater = zlib.decompressobj(wbits=31)
        try:
            while True:
                allowance = budget.allowance() + 1
                piece = inflater.decompress(rest, min(allowance, 1 << 20))
                out += piece
                budget.spend(len(piece), what)
                rest = inflater.unconsumed_tail
                if inflater.eof or not rest:
                    break
        except zlib.error as exc:
            raise Unscannable(f"{what}: corrupt gzip ({exc})") from None
        if not inflater.eof:
            raise Unscannable(f"{what}: truncated gzip stream")
        rest = inflater.unused_data.lstrip(b"\x00")
    return bytes(out)


#: Decompressors of the streams read like gzip, by kind: each gives at most `max_length` bytes
#: a call and keeps the rest of its input.
STREAMS: dict[str, tuple[str, Callable[[], bz2.BZ2Decompressor | lzma.LZMADecompressor]]] = {
    "bz2": ("bzip2", bz2.BZ2Decompressor),
    "xz": ("xz", lambda: lzma.LZMADecompressor(format=lzma.FORMAT_XZ)),
}


#: Compressed bytes handed to the zstd decoder at a time: it has no output cap, and a zstd block
#: of a few bytes can stand for 128 KiB, so a piece this size gives at most about 32 MiB.
ZSTD_PIECE = 1024


def unzstd(data: bytes, budget: Budget, what: str) -> bytes:
    """Decompress a zstd stream (frames concatenated too), within the budget (`zstandard`)."""
    import zstandard

    out = bytearray()
    rest = data
    while rest:
        engine = zstandard.ZstdDecompressor().decompressobj()
        at = 0
        try:
            while at < len(rest) and not engine.eof:
                piece = engine.decompress(rest[at : at + ZSTD_PIECE])
                at += ZSTD_PIECE
                out += piece
                budget.spend(len(piece), what)
        except zstandard.ZstdError as exc:
            raise Unscannable(f"{what}: corrupt zstd ({exc})") from None
        if not engine.eof:
            raise Unscannable(f"{what}: truncated zstd stream")
        rest = engine.unused_data + rest[at:] if at < len(rest) else engine.unused_data
    return bytes(out)


def unpack_stream(data: bytes, kind: str, budget: Budget, what: str) -> bytes:
    """Decompress a bzip2, xz or zstd stream (or several concatenated, as pbzip2, pixz and
    `zstd -T` write them), stopping as soon as the budget runs out."""
    if kind == "zst":
        return unzstd(data, budget, what)
    name, decompressor = STREAMS[kind]
    out = bytearray()
    rest = data
    while rest:
        engine = decompressor()
        try:
            piece = engine.decompress(rest, min(budget.allowance() + 1, 1 << 20))
            while True:
                out += piece
                budget.spend(len(piece), what)
                if engine.eof or engine.needs_input:
                    break
                piece = engine.decompress(b"", min(budget.allowance() + 1, 1 << 20))
        except (OSError, EOFError, ValueError, lzma.LZMAError) as exc:
            raise Unscannable(f"{what}: corrupt {name} ({exc})") from None
        if not engine.eof:
            raise Unscannable(f"{what}: truncated {name} stream")
        rest = engine.unused_data
    return bytes(out)
