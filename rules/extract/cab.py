"""Microsoft Cabinet archives (.cab, [MS-CAB]).

`makecab` is on every Windows PC, and "compress it with makecab" is a known way to carry files past
a content scanner that reads zip but not cabinets. A .cab was `unscannable` ("no text to extract
from binary data"); now its files are read when stored or compressed with MSZIP, what `makecab`
writes by default (and `gcab -z`, `lcab`, Windows Update's smaller cabinets).

Format: a header (`MSCF`, the cabinet's size, where the file entries start, counts, flags for a
reserved area and for the neighbours of a multi-cabinet set), the folder entries (where each
folder's data blocks start, how many, the compression), the file entries (size, offset in its
folder's uncompressed data, folder, attributes, a name in UTF-8 when attribute 0x80 says so, else
in the ANSI code page), then the data blocks (checksum, compressed and uncompressed sizes, the
reserved area, the bytes). MSZIP blocks start with ``CK`` and are raw deflate whose window carries
over from block to block (the previous 32 KiB of output is the next block's dictionary).

Every count and offset is checked against the cabinet's length; each block's output is spent
from the budget before it is made (a folder may hold 65,535 blocks of 32 KiB: 2 GiB from a small
file), and each file again as it is handed out (entries overlapping in one folder are a bomb).
Not read, named `unscannable` after the others: Quantum and LZX folders (`makecab /D
CompressionType=LZX`), files continued from or into another cabinet of a set.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from rules.extract.budget import Budget, Unscannable

MAGIC = b"MSCF\x00\x00\x00\x00"
_NONE, _MSZIP, _QUANTUM, _LZX = 0, 1, 2, 3
_METHODS = {_QUANTUM: "Quantum", _LZX: "LZX"}
_PREVIOUS, _NEXT, _RESERVE = 0x0001, 0x0002, 0x0004
_UTF8_NAME = 0x80
_CONTINUED = (0xFFFD, 0xFFFE, 0xFFFF)  # a file continued from the previous cabinet, into the next, or both
_BLOCK = 32768
_NAMES_SHOWN = 200


@dataclass(frozen=True)
class _Folder:
    start: int
    blocks: int
    method: int


@dataclass(frozen=True)
class _File:
    name: str
    size: int
    offset: int
    folder: int


def cab_members(data: bytes, budget: Budget, what: str) -> Iterator[tuple[str, bytes]]:
    """(name, content) of each file of a cabinet, folder by folder; raises `Unscannable` after
    them for the files that could not be read."""
    folders, files, reserve_block = _directory(data, what)
    unread = [f"{f.name} (continued in another cabinet)" for f in files if f.folder in _CONTINUED]
    for index, folder in enumerate(folders):
        members = sorted((f for f in files if f.folder == index), key=lambda f: f.offset)
        if not members:
            continue
        method = folder.method & 0x0F
        if method not in (_NONE, _MSZIP):
            name = _METHODS.get(method, f"method {method}")
            unread += [f"{f.name} ({name} compression)" for f in members]
            continue
        try:
            content = _folder_data(data, folder, reserve_block, budget, what)
        except Unscannable as exc:
            unread += [f"{f.name} ({str(exc).removeprefix(what + ': ')})" for f in members]
            continue
        for file in members:
            if file.offset + file.size > len(content):
                unread.append(f"{file.name} (lies past its folder's data)")
                continue
            budget.check_time()
            budget.enter(what)
            budget.spend(file.size, what)
            yield file.name, content[file.offset : file.offset + file.size]
    if unread:
        raise Unscannable(f"{what}: cabinet partly read: " + "; ".join(unread)[:_NAMES_SHOWN])


def _directory(data: bytes, what: str) -> tuple[list[_Folder], list[_File], int]:
    """The folders and files a cabinet lists, and the size of each data block's reserved area."""
    if len(data) < 36 or not data.startswith(MAGIC):
        raise Unscannable(f"{what}: not a cabinet")
    files_at = struct.unpack_from("<I", data, 16)[0]
    minor, major, folder_count, file_count, flags = struct.unpack_from("<BBHHH", data, 24)
    if major != 1:
        raise Unscannable(f"{what}: cabinet format {major}.{minor} is not read")
    pos, folder_reserve, block_reserve = 36, 0, 0
    if flags & _RESERVE:
        if pos + 4 > len(data):
            raise Unscannable(f"{what}: truncated cabinet header")
        header_reserve, folder_reserve, block_reserve = struct.unpack_from("<HBB", data, pos)
        pos += 4 + header_reserve
    for flag in (_PREVIOUS, _NEXT):  # the neighbouring cabinet's name and disk
        if flags & flag:
            for _ in range(2):
                end = data.find(b"\x00", pos, pos + 256)
                if end < 0:
                    raise Unscannable(f"{what}: damaged cabinet header (a cabinet name)")
                pos = end + 1
    folders = []
    for _ in range(folder_count):
        if pos + 8 > len(data):
            raise Unscannable(f"{what}: truncated cabinet (folder entries)")
        start, blocks, method = struct.unpack_from("<IHH", data, pos)
        folders.append(_Folder(start, blocks, method))
        pos += 8 + folder_reserve
    files, pos = [], files_at
    for _ in range(file_count):
        if pos + 17 > len(data):
            raise Unscannable(f"{what}: truncated cabinet (file entries)")
        size, offset, folder, _date, _time, attributes = struct.unpack_from("<IIHHHH", data, pos)
        end = data.find(b"\x00", pos + 16, pos + 16 + 1024)
        if end < 0:
            raise Unscannable(f"{what}: damaged cabinet (a file name without its end)")
        raw = data[pos + 16 : end]
        name = raw.decode("utf-8" if attributes & _UTF8_NAME else "cp1252", "replace").replace("\\", "/")
        if folder not in _CONTINUED and folder >= len(folders):
            raise Unscannable(f"{what}: damaged cabinet ({name} in folder {folder} of {len(folders)})")
        files.append(_File(name, size, offset, folder))
        pos = end + 1
    return folders, files, block_reserve


def _folder_data(data: bytes, folder: _Folder, reserve: int, budget: Budget, what: str) -> bytes:
    """A folder's uncompressed bytes, block by block."""
    out: list[bytes] = []
    history = b""
    pos = folder.start
    for index in range(folder.blocks):
        budget.check_time()
        if pos + 8 + reserve > len(data):
            raise Unscannable(f"{what}: truncated cabinet (data block {index})")
        packed, size = struct.unpack_from("<HH", data, pos + 4)
        body = pos + 8 + reserve
        if body + packed > len(data):
            raise Unscannable(f"{what}: truncated cabinet (data block {index})")
        if size > _BLOCK:
            raise Unscannable(f"{what}: damaged cabinet (a block of {size} bytes)")
        budget.spend(size, what)
        block = data[body : body + packed]
        if folder.method & 0x0F == _NONE:
            piece = block
        else:
            if block[:2] != b"CK":
                raise Unscannable(f"{what}: damaged MSZIP block {index} (no CK signature)")
            try:
                piece = zlib.decompressobj(-15, zdict=history).decompress(block[2:], size) if history else \
                    zlib.decompressobj(-15).decompress(block[2:], size)
            except zlib.error as exc:
                raise Unscannable(f"{what}: corrupt MSZIP block {index} ({exc})") from None
        if len(piece) != size:
            raise Unscannable(f"{what}: damaged cabinet (block {index} gives {len(piece)} bytes, not {size})")
        out.append(piece)
        history = (history + piece)[-_BLOCK:]
        pos = body + packed
    return b"".join(out)
