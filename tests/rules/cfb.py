"""A minimal compound-file (CFB, [MS-CFB] version 3) writer for test fixtures.

Nothing on this machine writes Outlook .msg files, which are compound files, so the tests build
them: streams under 4,096 bytes in the mini stream, the rest in 512-byte sectors, FAT and mini
FAT chains, the directory with each storage's children chained as right siblings (all black: a
valid, if unbalanced, red-black tree). olefile, an independent reader, reads what this writes
(`tests/rules/test_extract_outlook.py::test_the_writer_makes_files_olefile_reads`).
"""

from __future__ import annotations

import struct

SECTOR, MINI, CUTOFF = 512, 64, 4096
FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _chain(table: list[int], start: int, count: int) -> None:
    for i in range(count):
        table.append(start + i + 1 if i < count - 1 else END)


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A compound file holding `streams`, named by their path ("storage/sub/stream")."""
    # the directory tree: storages implied by the paths
    entries: list[dict[str, object]] = [{"name": "Root Entry", "kind": 5, "children": [], "data": b""}]
    index: dict[tuple[str, ...], int] = {(): 0}
    for path in sorted(streams):
        parts = tuple(path.split("/"))
        for depth in range(1, len(parts) + 1):
            key = parts[:depth]
            if key in index:
                continue
            is_stream = depth == len(parts)
            entries.append({"name": key[-1], "kind": 2 if is_stream else 1, "children": [],
                            "data": streams[path] if is_stream else b""})
            index[key] = len(entries) - 1
            entries[index[key[:-1]]]["children"].append(index[key])  # type: ignore[attr-defined]
    # small streams into the mini stream, large ones into sectors
    mini_stream, mini_fat = bytearray(), []
    large: list[int] = []
    for number, entry in enumerate(entries):
        data = entry["data"]
        assert isinstance(data, bytes)
        if entry["kind"] != 2:
            continue
        if len(data) < CUTOFF:
            count = -(-len(data) // MINI)
            entry["start"] = len(mini_fat) if count else END
            _chain(mini_fat, len(mini_fat), count)
            mini_stream += data + bytes(count * MINI - len(data))
        else:
            large.append(number)
    sectors: list[bytes] = []  # content sectors, numbered from 0

    def place(data: bytes) -> int:
        start = len(sectors)
        for at in range(0, len(data), SECTOR):
            sectors.append(data[at : at + SECTOR].ljust(SECTOR, b"\0"))
        return start

    fat: list[int] = []
    for number in large:
        data = entries[number]["data"]
        assert isinstance(data, bytes)
        entries[number]["start"] = place(data)
        _chain(fat, entries[number]["start"], -(-len(data) // SECTOR))  # type: ignore[arg-type]
    entries[0]["start"] = place(bytes(mini_stream)) if mini_stream else END
    entries[0]["size"] = len(mini_stream)
    _chain(fat, len(fat), -(-len(mini_stream) // SECTOR))
    mini_fat_bytes = b"".join(struct.pack("<I", v) for v in mini_fat)
    mini_fat_bytes += b"\xff" * (-len(mini_fat_bytes) % SECTOR)
    mini_fat_start = place(mini_fat_bytes) if mini_fat else END
    _chain(fat, len(fat), len(mini_fat_bytes) // SECTOR)
    directory = b"".join(_entry(entries, number) for number in range(len(entries)))
    directory += b"".join(_empty_entry() for _ in range(-len(entries) % 4))
    directory_start = place(directory)
    _chain(fat, len(fat), len(directory) // SECTOR)
    # FAT sectors go last; they describe themselves too
    fat_count = 1
    while len(fat) + fat_count > fat_count * (SECTOR // 4):
        fat_count += 1
    assert fat_count <= 109, "no DIFAT sectors in this writer"
    fat_start = len(sectors)
    fat += [FATSECT] * fat_count
    fat += [FREE] * (fat_count * (SECTOR // 4) - len(fat))
    for at in range(0, len(fat), SECTOR // 4):
        sectors.append(b"".join(struct.pack("<I", v) for v in fat[at : at + SECTOR // 4]))
    difat = [fat_start + i for i in range(fat_count)] + [FREE] * (109 - fat_count)
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", bytes.fromhex("d0cf11e0a1b11ae1"), bytes(16), 0x3E, 3, 0xFFFE, 9, 6,
                         bytes(6), 0, fat_count, directory_start, 0, CUTOFF,
                         mini_fat_start, len(mini_fat_bytes) // SECTOR if mini_fat else 0, END, 0)
    header += b"".join(struct.pack("<I", v) for v in difat)
    return header + b"".join(sectors)


def _entry(entries: list[dict[str, object]], number: int) -> bytes:
    entry = entries[number]
    name = str(entry["name"]).encode("utf-16-le") + b"\0\0"
    assert len(name) <= 64, entry["name"]
    children: list[int] = entry["children"]  # type: ignore[assignment]
    ordered = sorted(children, key=lambda n: (len(str(entries[n]["name"])), str(entries[n]["name"]).upper()))
    for position, child in enumerate(ordered):  # each child's right sibling is the next one
        entries[child]["right"] = ordered[position + 1] if position + 1 < len(ordered) else NOSTREAM
    data = entry["data"]
    assert isinstance(data, bytes)
    size = int(entry.get("size", len(data)))  # type: ignore[call-overload]
    start = int(entry.get("start", END)) if entry["kind"] != 1 else 0  # type: ignore[call-overload]
    return struct.pack("<64sHBBIII16sIQQIII", name.ljust(64, b"\0"), len(name), int(entry["kind"]), 1,  # type: ignore[call-overload]
                       NOSTREAM, int(entry.get("right", NOSTREAM)), ordered[0] if ordered else NOSTREAM,  # type: ignore[call-overload]
                       bytes(16), 0, 0, 0, start, size, 0)


def _empty_entry() -> bytes:
    return struct.pack("<64sHBBIII16sIQQIII", bytes(64), 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM, bytes(16), 0, 0, 0,
                       0, 0, 0)
