"""zip, tar, cpio and ar members; gzip, bzip2, xz, zstd, lzma, lzip, lz4 and .Z streams; all read
within the expansion budget."""

from __future__ import annotations

import bz2
import lzma
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any

from rules.extract.budget import Budget, EncryptedContent, Unscannable
from rules.extract.lzw import uncompress
from rules.extract.office import read_member
from rules.extract.zip_local import local_members

Member = tuple[str, bytes]


def zip_members(data: bytes, budget: Budget, what: str) -> Iterator[Member]:
    """A zip's files by its central directory, or, when that cannot be read (a split volume, a
    cut file), by their local headers (`zip_local`), the zip then `unscannable` after them."""
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        yield from local_members(data, budget, what, f"corrupt zip ({exc})")
        return
    if any(info.flag_bits & 0x1 for info in infos):
        names = ", ".join(i.filename for i in infos if i.flag_bits & 0x1)[:200]
        raise EncryptedContent(f"{what}: password-protected zip entries ({names})")
    packages = _iwork_packages({info.filename for info in infos})
    for info in infos:
        if info.is_dir() or any(info.filename.startswith(root) for root in packages):
            continue
        budget.enter(what)
        yield info.filename, read_member(archive, info, budget, what)
    for root in sorted(packages):  # an iWork document saved as a package (a folder), zipped whole
        budget.enter(what)
        inner = BytesIO()
        with zipfile.ZipFile(inner, "w", zipfile.ZIP_STORED) as package:
            for info in infos:
                if info.filename.startswith(root) and not info.is_dir():
                    package.writestr(info.filename[len(root) :], read_member(archive, info, budget, what))
        yield root.rstrip("/"), inner.getvalue()


def _iwork_packages(names: set[str]) -> set[str]:
    """The folders of a zip that are iWork documents saved as packages ("Q3.pages/Index/..."):
    read as one document each, not as loose binary files."""
    roots = {name.removesuffix("Index/Document.iwa") for name in names if name.endswith("/Index/Document.iwa")}
    roots |= {name.removesuffix("Index.zip") for name in names if name.endswith("/Index.zip")}
    return {root for root in roots if root.lower().rstrip("/").endswith((".pages", ".numbers", ".key"))}


def tar_members(data: bytes, budget: Budget, what: str) -> Iterator[Member]:
    """A tar's files; a tar cut short (a partial download, a cut .tar.gz) gives its last file as
    far as it goes, then `Unscannable`."""
    try:
        with tarfile.open(fileobj=BytesIO(data), mode="r:") as archive:
            for info in archive:
                budget.enter(what)
                if not info.isfile():
                    continue
                if info.sparse is None:  # a plain file's bytes lie in one run in the archive
                    content = data[info.offset_data : info.offset_data + info.size]
                    budget.spend(len(content), f"{what}/{info.name}")
                    yield info.name, content
                    if len(content) < info.size:
                        raise Unscannable(f"{what}: tar cut short in {info.name} ({len(content)} of {info.size} bytes "
                                          "read)")
                    continue
                budget.spend(info.size, f"{what}/{info.name}")
                stream = archive.extractfile(info)
                if stream is not None:
                    yield info.name, stream.read(info.size)
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise Unscannable(f"{what}: corrupt tar ({exc})") from None


def gunzip_cut(data: bytes, budget: Budget, what: str) -> tuple[bytes, bool]:
    """A (multi-member) gzip stream decompressed as far as it goes, stopping as soon as the budget
    runs out, and whether it was whole (a partial download of a .csv.gz gives its first rows)."""
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
            return bytes(out), False
        rest = inflater.unused_data.lstrip(b"\x00")
    return bytes(out), True


#: Decompressors of the streams read like gzip, by kind: each gives at most `max_length` bytes
#: a call and keeps the rest of its input.
STREAMS: dict[str, tuple[str, Callable[[], Any]]] = {
    "bz2": ("bzip2", bz2.BZ2Decompressor),
    "xz": ("xz", lambda: lzma.LZMADecompressor(format=lzma.FORMAT_XZ)),
    "lzma": ("lzma", lambda: lzma.LZMADecompressor(format=lzma.FORMAT_ALONE)),  # `lzma`, `xz --format=lzma`
    "lz4": ("lz4", lambda: __import__("lz4.frame").frame.LZ4FrameDecompressor()),
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
            raise TruncatedStream(f"{what}: truncated zstd stream", bytes(out))
        rest = engine.unused_data + rest[at:] if at < len(rest) else engine.unused_data
    return bytes(out)


class TruncatedStream(Unscannable):
    """A compressed stream cut short; `partial` is what it decoded to before the cut."""

    def __init__(self, message: str, partial: bytes) -> None:
        super().__init__(message)
        self.partial = partial


def unpack_stream_cut(data: bytes, kind: str, budget: Budget, what: str) -> tuple[bytes, str | None]:
    """`unpack_stream`, but a stream cut short gives what it decoded to as far as it goes (a
    partial download of a .csv.xz gives its first rows), with the reason it is not whole."""
    if kind == "gz":
        out, whole = gunzip_cut(data, budget, what)
        return out, None if whole else f"{what}: truncated gzip stream"
    try:
        return unpack_stream(data, kind, budget, what), None
    except TruncatedStream as cut:
        return cut.partial, str(cut)


def unpack_stream(data: bytes, kind: str, budget: Budget, what: str) -> bytes:
    """Decompress a bzip2, xz, zstd, lzma, lzip, lz4 or .Z stream (or several concatenated, as
    pbzip2, pixz and `zstd -T` write them), stopping as soon as the budget runs out."""
    if kind == "zst":
        return unzstd(data, budget, what)
    if kind == "lz":
        return unlzip(data, budget, what)
    if kind == "Z":
        return uncompress(data, budget, what)
    if kind == "lz4" and data.startswith(LZ4_LEGACY):
        return _unlz4_legacy(data, budget, what)
    name, decompressor = STREAMS[kind]
    out = bytearray()
    rest = data
    try:
        while rest:
            piece, rest = _drain(decompressor(), rest, budget, what, name)
            out += piece
    except TruncatedStream as cut:  # with every stream before the cut one
        raise TruncatedStream(str(cut), bytes(out) + cut.partial) from None
    return bytes(out)


def _drain(engine: Any, data: bytes, budget: Budget, what: str, name: str) -> tuple[bytes, bytes]:
    """Run one stream's decompressor (the `lzma` module's interface: `max_length`, `eof`,
    `needs_input`, `unused_data`) to its end: its output and the input after it."""
    out = bytearray()
    try:
        piece = engine.decompress(data, min(budget.allowance() + 1, 1 << 20))
        while True:
            out += piece
            budget.spend(len(piece), what)
            if engine.eof or engine.needs_input:
                break
            piece = engine.decompress(b"", min(budget.allowance() + 1, 1 << 20))
    except (OSError, EOFError, ValueError, RuntimeError, lzma.LZMAError) as exc:  # lz4 raises RuntimeError
        raise Unscannable(f"{what}: corrupt {name} ({exc})") from None
    if not engine.eof:
        raise TruncatedStream(f"{what}: truncated {name} stream", bytes(out))
    return bytes(out), engine.unused_data


LZIP = b"LZIP\x01"


def unlzip(data: bytes, budget: Budget, what: str) -> bytes:
    """Decompress an lzip file (lzip 1.x, `tar --lzip`): members of a header (magic, version,
    coded dictionary size), an LZMA stream with its end marker (lc 3, lp 0, pb 2) and a trailer
    (CRC-32 and size of the data, size of the member), which is checked."""
    out = bytearray()
    rest = data
    while rest:
        if not rest.startswith(LZIP) or len(rest) < 6:
            if out and not rest.strip(b"\x00"):
                break  # zeros after the last member
            raise Unscannable(f"{what}: corrupt lzip (no member header at byte {len(data) - len(rest)})")
        base = 1 << (rest[5] & 0x1F)
        dictionary = base - (base // 16) * (rest[5] >> 5)
        if not 1 << 12 <= dictionary <= 1 << 29:
            raise Unscannable(f"{what}: corrupt lzip (dictionary of {dictionary} bytes)")
        engine = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[
            {"id": lzma.FILTER_LZMA1, "dict_size": dictionary, "lc": 3, "lp": 0, "pb": 2}])
        member, after = _drain(engine, rest[6:], budget, what, "lzip")
        if len(after) < 20:
            raise Unscannable(f"{what}: truncated lzip member (no trailer)")
        crc, size = struct.unpack_from("<IQ", after)
        if crc != zlib.crc32(member) or size != len(member):
            raise Unscannable(f"{what}: corrupt lzip (the trailer's CRC or size does not match the data)")
        out += member
        rest = after[20:]
    return bytes(out)


LZ4_LEGACY = b"\x02\x21\x4c\x18"
_LZ4_LEGACY_BLOCK = 8 << 20


def _unlz4_legacy(data: bytes, budget: Budget, what: str) -> bytes:
    """The legacy lz4 format (`lz4 -l`, Linux kernel images): the magic, then blocks of a 32-bit
    size and LZ4 data, each at most 8 MiB once decompressed."""
    import lz4.block

    out = bytearray()
    pos = len(LZ4_LEGACY)
    while pos + 4 <= len(data):
        size = struct.unpack_from("<I", data, pos)[0]
        if size == struct.unpack("<I", LZ4_LEGACY)[0]:  # another legacy stream follows
            pos += 4
            continue
        if pos + 4 + size > len(data):
            raise Unscannable(f"{what}: truncated lz4 stream")
        if budget.allowance() <= 0:
            budget.spend(1, what)  # raises: nothing more may be made
        try:
            piece = lz4.block.decompress(data[pos + 4 : pos + 4 + size], uncompressed_size=_LZ4_LEGACY_BLOCK)
        except (lz4.block.LZ4BlockError, ValueError) as exc:
            raise Unscannable(f"{what}: corrupt lz4 ({exc})") from None
        out += piece
        budget.spend(len(piece), what)
        pos += 4 + size
    return bytes(out)
