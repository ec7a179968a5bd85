"""7z archives, read with the standard library's decompressors, within the expansion budget.

The archive's header (at the end of the file, usually itself LZMA-compressed: an "encoded
header") lists folders (chains of coders over packed streams) and the files each folder's
output holds, in order. Supported coders: Copy, LZMA, LZMA2, Deflate, BZip2, PPMd (since
2026-12-07 (39), `rules.extract.ppmd`), and the branch filters (BCJ x86, ARM, ARMT, PPC, SPARC,
IA64) and Delta in front of LZMA or LZMA2. AES (a password: names hidden with -mhe, or only the
contents) gives `EncryptedContent`; other coders (BCJ2, Deflate64, zstd...) and PPMd behind a
filter give `Unscannable` naming the coder. Format: 7-Zip's
`DOC/7zFormat.txt`.

An archive whose header lies past its end (the first volume of a split archive, `.7z.001`, or a
copy cut short) has no list of files; its first packed stream starts right after the signature
header, and when it is LZMA2 (7-Zip's default) or LZMA with the usual properties it is decoded as
far as it goes (`TruncatedStream`): the start of the files' contents, one after another, without
their names. Later volumes start in the middle of a stream and cannot be read alone.
"""

from __future__ import annotations

import bz2
import lzma
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from rules.extract.archive import TruncatedStream
from rules.extract.budget import Budget, EncryptedContent, Unscannable
from rules.extract.ppmd import Model, PpmdError, SevenZipRangeDecoder, ppmd7_props

MAGIC = b"7z\xbc\xaf\x27\x1c"
_AES = b"\x06\xf1\x07\x01"
_COPY, _LZMA, _LZMA2, _DEFLATE, _BZIP2, _DELTA = b"\x00", b"\x03\x01\x01", b"\x21", b"\x04\x01\x08", b"\x04\x02\x02", b"\x03"
_BRANCH = {b"\x03\x03\x01\x03": lzma.FILTER_X86, b"\x03\x03\x05\x01": lzma.FILTER_ARM,
           b"\x03\x03\x07\x01": lzma.FILTER_ARMTHUMB, b"\x03\x03\x02\x05": lzma.FILTER_POWERPC,
           b"\x03\x03\x08\x05": lzma.FILTER_SPARC, b"\x03\x03\x04\x01": lzma.FILTER_IA64}
_PPMD = b"\x03\x04\x01"
#: PPMd's model memory, at most: 7-Zip's largest preset is 192 MiB (the model's pages are
#: reserved, and filled only as the text needs them).
_MAX_PPMD_MEMORY = 256 << 20
_PPMD_PIECE = 1 << 16  # bytes decoded between two looks at the clock
_NAMES = {_PPMD: "PPMd", b"\x03\x03\x01\x1b": "BCJ2", b"\x04\x01\x09": "Deflate64",
          b"\x04\xf7\x11\x01": "zstd", b"\x04\xf7\x11\x02": "Brotli"}
# Property ids of the header.
(_END, _HEADER, _ARCHIVE_PROPERTIES, _ADDITIONAL_STREAMS, _MAIN_STREAMS, _FILES, _PACK_INFO, _UNPACK_INFO,
 _SUBSTREAMS, _SIZE, _CRC, _FOLDER, _UNPACK_SIZE, _NUM_UNPACK_STREAM, _EMPTY_STREAM, _EMPTY_FILE, _ANTI,
 _NAME) = range(18)
_ATTRIBUTES, _ENCODED_HEADER, _DUMMY = 0x15, 0x17, 0x19
_MAX_COUNT = 1 << 20  # folders, files, files of all folders: more is a hostile header
_MAX_CODERS = 64  # coders of a folder, streams of a coder (7-Zip's own limits)
_CHUNK = 1 << 20


@dataclass
class _Folder:
    coders: list[tuple[bytes, bytes]] = field(default_factory=list)  # (codec id, properties)
    unpack_sizes: list[int] = field(default_factory=list)
    packed: int = 1  # number of packed streams the folder reads
    substreams: int = 1
    sizes: list[int] = field(default_factory=list)  # of each file in the folder's output
    crc_defined: bool = False

    @property
    def size(self) -> int:
        return max(self.unpack_sizes, default=0)


@dataclass
class _Streams:
    pack_pos: int = 0
    pack_sizes: list[int] = field(default_factory=list)
    folders: list[_Folder] = field(default_factory=list)
    ranges: list[tuple[int, int]] | None = None  # of the folders' packed streams, once computed


class _Reader:
    """The header's bytes, read as 7z NUMBERs, bytes and bit vectors."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.at, self.what = data, 0, what

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise Unscannable(f"{self.what}: truncated 7z header")
        self.at += 1
        return self.data[self.at - 1]

    def take(self, n: int) -> bytes:
        if n < 0 or self.at + n > len(self.data):
            raise Unscannable(f"{self.what}: truncated 7z header")
        self.at += n
        return self.data[self.at - n : self.at]

    def number(self) -> int:
        first, mask = self.byte(), 0x80
        for extra in range(8):
            if not first & mask:
                low = int.from_bytes(self.take(extra), "little")
                return low | ((first & (mask - 1)) << (8 * extra))
            mask >>= 1
        return int.from_bytes(self.take(8), "little")

    def count(self) -> int:
        n = self.number()
        if n > _MAX_COUNT:
            raise Unscannable(f"{self.what}: 7z header lists {n} items")
        return n

    def bits(self, n: int) -> list[bool]:
        out, byte = [], 0
        for i in range(n):
            if i % 8 == 0:
                byte = self.byte()
            out.append(bool(byte & (0x80 >> (i % 8))))
        return out

    def defined(self, n: int) -> list[bool]:
        """A vector that may say "all defined" in one byte."""
        return [True] * n if self.byte() else self.bits(n)

    def expect(self, pid: int) -> None:
        got = self.byte()
        if got != pid:
            raise Unscannable(f"{self.what}: malformed 7z header (property {got:#x} where {pid:#x} belongs)")


def seven_zip_members(data: bytes, budget: Budget, what: str) -> Iterator[tuple[str, bytes]]:
    """(name, content) of each file of a 7z archive, in the archive's order."""
    if len(data) < 32 or not data.startswith(MAGIC):
        raise Unscannable(f"{what}: not a 7z archive")
    next_offset, next_size, next_crc = struct.unpack_from("<QQI", data, 12)
    start = 32 + next_offset
    if next_size == 0:
        return  # an empty archive
    if next_size > len(data) or start + next_size > len(data):
        partial = packed_start(data[32:], budget, f"{what}/packed files")
        if partial:
            raise TruncatedStream(f"{what}: truncated 7z archive (its header lies past the end: the first volume of "
                                  "a split archive, or a copy cut short); the start of its packed files decoded "
                                  f"as far as it goes ({len(partial)} bytes), without their names", partial)
        raise Unscannable(f"{what}: truncated 7z archive (its header lies past the end: the first volume of a split "
                          "archive, or a copy cut short), whose packed data does not decode without it")
    header = data[start : start + next_size]
    if zlib.crc32(header) != next_crc:
        raise Unscannable(f"{what}: corrupt 7z archive (header checksum)")
    for _ in range(4):  # an encoded header decodes to a header, rarely to another encoded one
        reader = _Reader(header, what)
        kind = reader.byte()
        if kind == _HEADER:
            break
        if kind != _ENCODED_HEADER:
            raise Unscannable(f"{what}: malformed 7z header (starts with {kind:#x})")
        streams = _streams_info(reader)
        if not streams.folders:
            raise Unscannable(f"{what}: malformed 7z header (no folder)")
        header = b"".join(_unpack_folder(data, streams, 0, budget, what))
    else:
        raise Unscannable(f"{what}: 7z header encoded too many times")
    streams, files = _header(reader)
    yield from _files(data, streams, files, budget, what)


_PART = re.compile(r"\.7z\.(\d{3}|[a-z]{2})$", re.IGNORECASE)


def later_part(name: str) -> int | None:
    """The number of a split 7z archive's part that is not the first (`.7z.002` on, or `split`'s
    `.7z.ab` on), else None."""
    found = _PART.search(name)
    if found is None:
        return None
    suffix = found.group(1).lower()
    number = int(suffix) if suffix.isdigit() else (ord(suffix[0]) - 97) * 26 + ord(suffix[1]) - 96
    return number if number > 1 else None


#: The window assumed for a stream whose header is missing: 7-Zip's largest preset's (-mx9); a
#: stream made with a larger one decodes up to its first match reaching further back.
_START_WINDOW = 64 << 20


def packed_start(packed: bytes, budget: Budget, what: str) -> bytes:
    """A 7z stream decoded as far as it goes without the header that names its coder: LZMA2
    (its first chunk resets the dictionary: control byte 1 or 0xE0 and up) or LZMA with lc=3,
    lp=0, pb=2 (its range coder's first byte is 0); b"" for anything else (AES, PPMd...)."""
    if not packed:
        return b""
    if packed[0] == 0:
        chain: list[dict[str, int]] = [{"id": lzma.FILTER_LZMA1, "lc": 3, "lp": 0, "pb": 2, "dict_size": _START_WINDOW}]
    elif packed[0] == 1 or packed[0] >= 0xE0:
        chain = [{"id": lzma.FILTER_LZMA2, "dict_size": _START_WINDOW}]
    else:
        return b""
    engine = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=chain)
    out = bytearray()
    rest = packed
    while not engine.eof:
        allowance = budget.allowance()
        if allowance <= 0:
            break
        try:
            piece = engine.decompress(rest, min(allowance, 1 << 20))
        except lzma.LZMAError:
            break  # the cut, a match past the assumed window, or not a stream of this kind after all
        rest = b""
        out += piece
        budget.spend(len(piece), what)
        if engine.needs_input:
            break
    return bytes(out)


def _header(reader: _Reader) -> tuple[_Streams, list[tuple[str, bool]]]:
    streams, files = _Streams(), []
    pid = reader.byte()
    if pid == _ARCHIVE_PROPERTIES:
        while reader.byte() != _END:
            reader.take(reader.number())
        pid = reader.byte()
    if pid == _ADDITIONAL_STREAMS:
        _streams_info(reader)
        pid = reader.byte()
    if pid == _MAIN_STREAMS:
        streams = _streams_info(reader)
        pid = reader.byte()
    if pid == _FILES:
        files = _files_info(reader)
        pid = reader.byte()
    if pid != _END:
        raise Unscannable(f"{reader.what}: malformed 7z header (property {pid:#x})")
    return streams, files


def _streams_info(reader: _Reader) -> _Streams:
    streams = _Streams()
    pid = reader.byte()
    if pid == _PACK_INFO:
        streams.pack_pos = reader.number()
        count = reader.count()
        pid = reader.byte()
        while pid != _END:
            if pid == _SIZE:
                streams.pack_sizes = [reader.number() for _ in range(count)]
            elif pid == _CRC:
                _digests(reader, count)
            else:
                raise Unscannable(f"{reader.what}: malformed 7z pack info ({pid:#x})")
            pid = reader.byte()
        pid = reader.byte()
    if pid == _UNPACK_INFO:
        reader.expect(_FOLDER)
        folders = reader.count()
        if reader.byte() != 0:
            raise Unscannable(f"{reader.what}: 7z folders stored outside the header are not supported")
        streams.folders = [_folder(reader) for _ in range(folders)]
        reader.expect(_UNPACK_SIZE)
        for folder in streams.folders:
            folder.unpack_sizes = [reader.number() for _ in folder.unpack_sizes]
        pid = reader.byte()
        if pid == _CRC:
            for folder, defined in zip(streams.folders, _digests(reader, len(streams.folders)), strict=True):
                folder.crc_defined = defined
            pid = reader.byte()
        if pid != _END:
            raise Unscannable(f"{reader.what}: malformed 7z unpack info ({pid:#x})")
        pid = reader.byte()
    for folder in streams.folders:
        folder.sizes = [folder.size]
    if pid == _SUBSTREAMS:
        _substreams(reader, streams.folders)
        pid = reader.byte()
    if pid != _END:
        raise Unscannable(f"{reader.what}: malformed 7z streams info ({pid:#x})")
    return streams


def _folder(reader: _Reader) -> _Folder:
    folder, ins, outs = _Folder(), 0, 0
    coders = reader.count()
    if coders > _MAX_CODERS:
        raise Unscannable(f"{reader.what}: 7z folder of {coders} coders")
    for _ in range(coders):
        flags = reader.byte()
        codec = reader.take(flags & 0x0F)
        n_in, n_out = (reader.count(), reader.count()) if flags & 0x10 else (1, 1)
        if max(n_in, n_out) > _MAX_CODERS:
            raise Unscannable(f"{reader.what}: 7z coder of {max(n_in, n_out)} streams")
        properties = reader.take(reader.number()) if flags & 0x20 else b""
        if flags & 0x80:
            raise Unscannable(f"{reader.what}: 7z alternative coders are not supported")
        folder.coders.append((codec, properties))
        ins, outs = ins + n_in, outs + n_out
    for _ in range(outs - 1):  # bind pairs: for the chains supported, coder i feeds coder i - 1
        reader.number()
        reader.number()
    folder.packed = ins - (outs - 1)
    if folder.packed > 1:
        for _ in range(folder.packed):
            reader.number()
    folder.unpack_sizes = [0] * outs
    return folder


def _substreams(reader: _Reader, folders: list[_Folder]) -> None:
    pid = reader.byte()
    if pid == _NUM_UNPACK_STREAM:
        for folder in folders:
            folder.substreams = reader.count()
        if sum(folder.substreams for folder in folders) > _MAX_COUNT:
            raise Unscannable(f"{reader.what}: 7z header lists more than {_MAX_COUNT} files")
        pid = reader.byte()
    if pid == _SIZE:
        for folder in folders:
            if folder.substreams == 0:
                continue
            sizes = [reader.number() for _ in range(folder.substreams - 1)]
            folder.sizes = [*sizes, folder.size - sum(sizes)]
        pid = reader.byte()
    else:
        for folder in folders:
            folder.sizes = [folder.size] if folder.substreams == 1 else [0] * folder.substreams
    if pid == _CRC:  # for the streams whose CRC the folder's does not give already
        _digests(reader, sum(f.substreams for f in folders if not (f.substreams == 1 and f.crc_defined)))
        pid = reader.byte()
    if pid != _END:
        raise Unscannable(f"{reader.what}: malformed 7z substreams info ({pid:#x})")
    for folder in folders:
        if folder.substreams == 0:
            folder.sizes = []
        if any(size < 0 for size in folder.sizes):
            raise Unscannable(f"{reader.what}: malformed 7z substream sizes")


def _digests(reader: _Reader, n: int) -> list[bool]:
    """Which of `n` streams have a CRC (the CRCs themselves are skipped)."""
    defined = reader.defined(n)
    reader.take(4 * sum(defined))
    return defined


def _files_info(reader: _Reader) -> list[tuple[str, bool]]:
    """(name, has content) of each file and folder entry."""
    count = reader.count()
    names, empty_stream = [""] * count, [False] * count
    while True:
        pid = reader.byte()
        if pid == _END:
            break
        size = reader.number()
        body = _Reader(reader.take(size), reader.what)
        if pid == _EMPTY_STREAM:
            empty_stream = body.bits(count)
        elif pid == _NAME:
            if body.byte() != 0:
                raise Unscannable(f"{reader.what}: 7z names stored outside the header are not supported")
            text = body.data[1:].decode("utf-16-le", errors="replace")
            names = (text.split("\0") + [""] * count)[:count]
    return [(name, not empty) for name, empty in zip(names, empty_stream, strict=True)]


def _files(data: bytes, streams: _Streams, files: list[tuple[str, bool]], budget: Budget,
           what: str) -> Iterator[tuple[str, bytes]]:
    with_content = [name for name, has in files if has]
    locked = [folder for folder in streams.folders if any(codec == _AES for codec, _ in folder.coders)]
    if locked:
        listed = ", ".join(with_content)[:200]
        raise EncryptedContent(f"{what}: password-protected 7z archive ({listed})")
    at = 0
    for index, folder in enumerate(streams.folders):
        names = with_content[at : at + len(folder.sizes)]
        at += len(folder.sizes)
        if not names:
            continue
        budget.enter(what)
        output = b"".join(_unpack_folder(data, streams, index, budget, what))
        offset = 0
        for name, size in zip(names, folder.sizes, strict=False):
            budget.enter(what)
            yield name, output[offset : offset + size]
            offset += size


def _pack_ranges(streams: _Streams, what: str) -> list[tuple[int, int]]:
    """Byte offset and size in the archive of each folder's (first) packed stream, in one pass."""
    if streams.ranges is None:
        offsets, at = [], 32 + streams.pack_pos
        for size in streams.pack_sizes:
            offsets.append(at)
            at += size
        ranges, stream = [], 0
        for folder in streams.folders:
            if stream >= len(streams.pack_sizes):
                raise Unscannable(f"{what}: 7z header names a packed stream it does not size")
            ranges.append((offsets[stream], streams.pack_sizes[stream]))
            stream += folder.packed
        streams.ranges = ranges
    return streams.ranges


def _unpack_folder(data: bytes, streams: _Streams, index: int, budget: Budget, what: str) -> Iterator[bytes]:
    """The output of folder `index`, in pieces, charged to the budget as they come."""
    folder = streams.folders[index]
    if any(codec == _AES for codec, _ in folder.coders):
        raise EncryptedContent(f"{what}: password-protected 7z archive")
    start, size = _pack_ranges(streams, what)[index]
    if folder.packed != 1 or start + size > len(data):
        raise Unscannable(f"{what}: truncated 7z archive" if folder.packed == 1
                          else f"{what}: 7z folder of {folder.packed} packed streams ({_name(folder)})")
    packed = data[start : start + size]
    decompress = _decompressor(folder, what)
    left = folder.size
    piece = decompress(packed, min(_CHUNK, left))
    while piece and left > 0:
        left -= len(piece)
        budget.spend(len(piece), what)
        yield piece
        piece = decompress(b"", min(_CHUNK, left)) if left > 0 else b""
    if left > 0:
        raise Unscannable(f"{what}: truncated 7z stream ({left} bytes short)")


def _name(folder: _Folder) -> str:
    return " + ".join(_NAMES.get(codec, codec.hex()) for codec, _ in folder.coders)


Decompress = Callable[[bytes, int], bytes]


def _decompressor(folder: _Folder, what: str) -> Decompress:
    """A function (data, max_length) -> bytes for the folder's coder chain."""
    codecs = [codec for codec, _ in folder.coders]
    if codecs == [_COPY]:
        copy = {"rest": b""}

        def copied(data: bytes, most: int) -> bytes:
            copy["rest"] += data
            out, copy["rest"] = copy["rest"][:most], copy["rest"][most:]
            return out
        return copied
    if codecs == [_DEFLATE]:
        inflater = zlib.decompressobj(-15)
        def inflated(chunk: bytes, most: int) -> bytes:
            try:
                return inflater.decompress(inflater.unconsumed_tail + chunk, most)
            except zlib.error as exc:
                raise Unscannable(f"{what}: corrupt 7z stream ({exc})") from None
        return inflated
    if codecs == [_BZIP2]:
        return _stdlib(bz2.BZ2Decompressor(), what)
    if codecs == [_PPMD]:
        return _ppmd(folder.coders[0][1], what)
    # lzma takes the chain in the order compression applied it: the filters, then the compressor
    # (7-Zip lists the compressor first; with one filter the bind pairs allow no other order).
    chain = sorted(folder.coders, key=lambda coder: coder[0] in (_LZMA, _LZMA2))
    if len(chain) > 2 or (len(chain) == 2 and chain[0][0] in (_LZMA, _LZMA2)):
        raise Unscannable(f"{what}: 7z coder chain {_name(folder)} is not supported")
    filters = [_filter(codec, properties, folder, what) for codec, properties in chain]
    try:
        return _stdlib(lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=filters), what)
    except (lzma.LZMAError, ValueError) as exc:
        raise Unscannable(f"{what}: 7z coders {_name(folder)}: {exc}") from None


def _filter(codec: bytes, properties: bytes, folder: _Folder, what: str) -> dict[str, int]:
    if codec == _LZMA and len(properties) >= 5:
        d = properties[0]
        if d >= 9 * 5 * 5:
            raise Unscannable(f"{what}: 7z LZMA properties out of range")
        return {"id": lzma.FILTER_LZMA1, "lc": d % 9, "lp": (d // 9) % 5, "pb": d // 45,
                "dict_size": max(int.from_bytes(properties[1:5], "little"), 4096)}
    if codec == _LZMA2 and len(properties) >= 1:
        p = min(properties[0], 40)
        return {"id": lzma.FILTER_LZMA2, "dict_size": 0xFFFFFFFF if p == 40 else (2 | (p & 1)) << (p // 2 + 11)}
    if codec in _BRANCH:
        return {"id": _BRANCH[codec]}
    if codec == _DELTA:
        return {"id": lzma.FILTER_DELTA, "dist": (properties[0] + 1) if properties else 1}
    raise Unscannable(f"{what}: 7z coder {_NAMES.get(codec, codec.hex())} is not supported ({_name(folder)})")


def _ppmd(properties: bytes, what: str) -> Decompress:
    """7-Zip's PPMd coder (`rules.extract.ppmd`), decoded a piece at a time so that the budget's
    clock is looked at between pieces (pure Python: about 0.2 MB/s)."""
    try:
        order, memory = ppmd7_props(properties)
    except PpmdError as exc:
        raise Unscannable(f"{what}: 7z {exc}") from None
    if memory > _MAX_PPMD_MEMORY:
        raise Unscannable(f"{what}: 7z PPMd model of {memory >> 20} MiB, above the limit of {_MAX_PPMD_MEMORY >> 20}")
    return _PpmdStream(order, memory, what)


class _PpmdStream:
    """The `Decompress` of a PPMd folder: the model and coder start with the first chunk (the
    whole packed stream)."""

    def __init__(self, order: int, memory: int, what: str) -> None:
        self.order, self.memory, self.what = order, memory, what
        self.model: Model | None = None
        self.coder: SevenZipRangeDecoder | None = None

    def __call__(self, chunk: bytes, most: int) -> bytes:
        try:
            if self.model is None or self.coder is None:
                self.model, self.coder = Model(self.order, self.memory), SevenZipRangeDecoder(chunk)
            return self.model.decode_7z(self.coder, min(most, _PPMD_PIECE))
        except PpmdError as exc:
            raise Unscannable(f"{self.what}: corrupt 7z stream ({exc})") from None


def _stdlib(engine: bz2.BZ2Decompressor | lzma.LZMADecompressor, what: str) -> Decompress:
    def decompress(chunk: bytes, most: int) -> bytes:
        if engine.eof:
            return b""
        try:
            return engine.decompress(chunk, most)
        except (OSError, EOFError, ValueError, lzma.LZMAError) as exc:
            raise Unscannable(f"{what}: corrupt 7z stream ({exc})") from None
    return decompress
