"""NTFS volumes: every record of the MFT (itself found through record 0's data runs, with the
update sequence fixups applied and checked), each file's unnamed `$DATA` and its named streams
(alternate data streams, a classic hiding place: `report.txt:secret`), resident or in data runs,
sparse runs read as zeros; paths from the `$FILE_NAME` parent references (Win32 names preferred to
DOS 8.3 ones). NTFS metadata files (`$MFT`, `$LogFile`, `$Extend`'s) are skipped. Named unread:
torn or BAAD records, LZNT1-compressed streams, files whose attributes spill into other records
(`$ATTRIBUTE_LIST`); EFS-encrypted streams make the image `encrypted`."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from rules.extract.blockdev import SECTOR, Disk
from rules.extract.budget import Budget, EncryptedContent, Unscannable

_MAX_RECORDS = 1 << 20
_MAX_RUNS = 65_536
_FILE_NAME, _DATA, _ATTRIBUTE_LIST, _END = 0x30, 0x80, 0x20, 0xFFFFFFFF
_COMPRESSED, _ENCRYPTED = 0x0001, 0x4000
_ROOT, _EXTEND, _FIRST_USER_RECORD = 5, 11, 16


def is_ntfs(boot: bytes) -> bool:
    return boot[3:11] == b"NTFS    "


@dataclass
class _Record:
    number: int
    names: list[tuple[int, int, str]] = field(default_factory=list)  # (parent, namespace, name)
    streams: list[tuple[str, int, bytes | list[tuple[int | None, int]], int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    directory: bool = False


def ntfs_members(disk: Disk, start: int, length: int, budget: Budget, what: str, prefix: str,
                  unread: list[str]) -> Iterator[tuple[str, bytes]]:
    boot = disk[start : start + SECTOR]
    sector_size, per_cluster = struct.unpack_from("<HB", boot, 11)
    if per_cluster > 0x80:
        per_cluster = 1 << (256 - per_cluster)
    cluster = sector_size * per_cluster
    mft_cluster = struct.unpack_from("<Q", boot, 48)[0]
    per_record = struct.unpack_from("<b", boot, 64)[0]
    record_size = 1 << -per_record if per_record < 0 else per_record * cluster
    if sector_size not in (512, 1024, 2048, 4096) or not cluster or not 256 <= record_size <= 65536:
        unread.append(f"{prefix}(damaged NTFS boot sector)")
        return
    volume = _Volume(disk, start, length, cluster, record_size, what)
    try:
        first = volume.record_at(start + mft_cluster * cluster)
    except Unscannable:
        first = None
    if first is None:
        unread.append(f"{prefix}(no readable MFT)")
        return
    mft = volume.parse(first, 0)
    runs = next((content for name, _, content, _ in mft.streams if name == "" and isinstance(content, list)), None)
    if runs is None:
        unread.append(f"{prefix}(MFT without its data runs)")
        return
    records: dict[int, _Record] = {}
    offset = 0
    for at, run_length in runs:
        for within in range(0, run_length - record_size + 1, record_size):
            number = (offset + within) // record_size
            if number >= _MAX_RECORDS:
                break
            if number % 4096 == 0:
                budget.check_time()
            try:
                raw = None if at is None else volume.record_at(at + within)
            except Unscannable as exc:
                unread.append(f"{prefix}MFT record {number} ({exc})")  # a file may be lost with it: say so
                continue
            if raw is not None:
                records[number] = volume.parse(raw, number)
        offset += run_length
    for number in sorted(records):
        record = records[number]
        if number < _FIRST_USER_RECORD or record.directory:
            continue
        if _under(records, record, _EXTEND):
            continue  # NTFS metadata: $Extend's $Quota, $ObjId, $Reparse, $UsnJrnl
        path = prefix + _path(records, record)
        for problem in record.problems:
            unread.append(f"{path} ({problem})")
        for stream, flags, content, size in record.streams:
            name = path + (f":{stream}" if stream else "")
            if flags & _ENCRYPTED:
                raise EncryptedContent(f"{what}: {name} is EFS-encrypted")
            if flags & _COMPRESSED:
                unread.append(f"{name} (NTFS-compressed)")
                continue
            budget.enter(what)
            budget.spend(size, what)
            try:
                yield name, content if isinstance(content, bytes) else volume.read_runs(content, size)
            except Unscannable as exc:
                unread.append(f"{name} ({exc})")


def _under(records: dict[int, _Record], record: _Record, ancestor: int) -> bool:
    seen: set[int] = set()
    current: _Record | None = record
    while current is not None and current.number not in seen and current.names:
        seen.add(current.number)
        parent = current.names[0][0]
        if parent == ancestor:
            return True
        current = records.get(parent)
    return False


def _path(records: dict[int, _Record], record: _Record) -> str:
    parts: list[str] = []
    seen: set[int] = set()
    current: _Record | None = record
    while current is not None and current.number != _ROOT and current.number not in seen and len(parts) < 256:
        seen.add(current.number)
        names = sorted(current.names, key=lambda n: n[1] == 2)  # a DOS 8.3 name last
        if not names:
            parts.append(f"record {current.number}")
            break
        parent, _, name = names[0]
        parts.append(name)
        current = records.get(parent)
    return "/".join(reversed(parts))


@dataclass
class _Volume:
    disk: Disk
    start: int
    length: int
    cluster: int
    record_size: int
    what: str

    def record_at(self, offset: int) -> bytearray | None:
        """A MFT record at `offset` with its update sequence fixups applied; None when it is not one."""
        if offset + self.record_size > self.start + self.length or offset + self.record_size > self.disk.size:
            return None
        raw = bytearray(self.disk.read(offset, self.record_size))
        if raw[:4] == b"BAAD":
            raise Unscannable("damaged MFT record (marked BAAD)")
        if raw[:4] != b"FILE":
            return None  # never used
        usa, count = struct.unpack_from("<HH", raw, 4)
        if count < 1 or usa + 2 * count > len(raw) or (count - 1) * SECTOR > len(raw):
            raise Unscannable("damaged MFT record (update sequence)")
        check = raw[usa : usa + 2]
        for index in range(1, count):
            end = index * SECTOR - 2
            if raw[end : end + 2] != check:
                raise Unscannable("damaged MFT record (torn write)")
            raw[end : end + 2] = raw[usa + 2 * index : usa + 2 * index + 2]
        return raw

    def parse(self, raw: bytearray, number: int) -> _Record:
        record = _Record(number)
        flags, base = struct.unpack_from("<H", raw, 22)[0], struct.unpack_from("<Q", raw, 32)[0]
        if not flags & 0x01 or base & 0xFFFFFFFFFFFF:
            return _Record(number, directory=True)  # not in use, or an extension of another record
        record.directory = bool(flags & 0x02)
        pos = struct.unpack_from("<H", raw, 20)[0]
        while pos + 16 <= len(raw):
            kind, size = struct.unpack_from("<II", raw, pos)
            if kind == _END or size < 16 or pos + size > len(raw):
                break
            attribute = bytes(raw[pos : pos + size])
            pos += size
            resident = attribute[8] == 0
            name_length, name_at, attribute_flags = attribute[9], *struct.unpack_from("<HH", attribute, 10)
            name = attribute[name_at : name_at + 2 * name_length].decode("utf-16-le", "replace")
            if kind == _ATTRIBUTE_LIST:
                record.problems.append("attributes spread over several MFT records, not read")
            elif kind == _FILE_NAME and resident:
                length, at = struct.unpack_from("<IH", attribute, 16)
                content = attribute[at : at + length]
                if len(content) >= 66:
                    parent = struct.unpack_from("<Q", content)[0] & 0xFFFFFFFFFFFF
                    chars, namespace = content[64], content[65]
                    record.names.append((parent, namespace, content[66 : 66 + 2 * chars].decode("utf-16-le", "replace")))
            elif kind == _DATA and resident:
                length, at = struct.unpack_from("<IH", attribute, 16)
                record.streams.append((name, attribute_flags, attribute[at : at + length], length))
            elif kind == _DATA and len(attribute) >= 64:
                first_vcn, runs_at, real = (struct.unpack_from("<Q", attribute, 16)[0],
                                            struct.unpack_from("<H", attribute, 32)[0],
                                            struct.unpack_from("<Q", attribute, 48)[0])
                if first_vcn:
                    continue  # the rest of a stream begun in another record
                try:
                    runs = self.runs(attribute[runs_at:])
                except Unscannable as exc:
                    record.problems.append(str(exc))
                    continue
                record.streams.append((name, attribute_flags, runs, real))
        return record

    def runs(self, data: bytes) -> list[tuple[int | None, int]]:
        """A non-resident attribute's data runs as (disk offset or None for sparse, byte length)."""
        runs: list[tuple[int | None, int]] = []
        pos, cluster = 0, 0
        while pos < len(data) and data[pos] and len(runs) < _MAX_RUNS:
            header = data[pos]
            size_bytes, offset_bytes = header & 0x0F, header >> 4
            if not size_bytes or size_bytes > 8 or offset_bytes > 8 or pos + 1 + size_bytes + offset_bytes > len(data):
                raise Unscannable("damaged data runs")
            count = int.from_bytes(data[pos + 1 : pos + 1 + size_bytes], "little")
            if offset_bytes:
                cluster += int.from_bytes(data[pos + 1 + size_bytes : pos + 1 + size_bytes + offset_bytes], "little",
                                          signed=True)
                runs.append((self.start + cluster * self.cluster, count * self.cluster))
            else:
                runs.append((None, count * self.cluster))  # sparse
            pos += 1 + size_bytes + offset_bytes
        return runs

    def read_runs(self, runs: list[tuple[int | None, int]], size: int) -> bytes:
        out, left = [], size
        for at, length in runs:
            take = min(length, left)
            if take <= 0:
                break
            if at is None:
                out.append(bytes(take))
            else:
                if at < self.start or at + take > self.start + self.length:
                    raise Unscannable("a data run lies outside its volume")
                out.append(self.disk.read(at, take))
            left -= take
        if left > 0:
            raise Unscannable("data runs shorter than the stream")
        return b"".join(out)
