"""dBASE tables (.dbf): dBASE III-7, FoxPro and Visual FoxPro, Clipper; the attribute table of
every ESRI shapefile, and the export format of much legacy accounting and government software.
A `.dbf` was an `unscannable` binary; it is now read as a table of text: the heading "dBASE
table", a blank line, a header row of its field names, then a record a line, cells by tabs, so a
field's name ("CARD_NO", "SSN") names the values below it for the detectors. Records marked
deleted (their bytes stay until the table is packed) are read too, after the live ones, under
"dBASE table (deleted records)".

The layout (dBASE's file header, 32-byte field descriptors ended by 0x0D, then fixed-length
records, each led by its deletion flag): character, numeric and float fields as their text;
dates as ISO dates; logicals as true/false; Visual FoxPro's integers, currency, doubles and
datetimes decoded; memo, general and picture fields hold a block number in the `.dbt`/`.fpt` file
beside the table, which is another file, so they are empty here (the memo file is read as a file
of its own). Text is decoded as UTF-8 when it is valid UTF-8 (shapefiles written today), else in
the code page the header's language driver names (Windows-1252 when it names none). Every length
is checked against the header and the file: a table cut short gives the records it holds and is
named.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from rules.extract.budget import Budget, Unscannable

#: Version bytes of dBASE III-7, FoxBASE, FoxPro, Visual FoxPro, Clipper and HiPer-Six tables.
_VERSIONS = frozenset({0x02, 0x03, 0x04, 0x05, 0x07, 0x30, 0x31, 0x32, 0x43, 0x63, 0x83, 0x8B, 0x8E, 0xCB,
                       0xE5, 0xF5, 0xFB})
_VISUAL_FOXPRO = frozenset({0x30, 0x31, 0x32})
_TYPES = frozenset(b"CNFDLMIYTBGPV@+O0QWX")
#: Language driver ids and their code pages (dBASE and Visual FoxPro documentation).
_CODE_PAGES = {
    0x01: "cp437", 0x02: "cp850", 0x03: "cp1252", 0x04: "mac_roman", 0x13: "cp932", 0x26: "cp866",
    0x37: "cp850", 0x4D: "cp936", 0x4E: "cp949", 0x4F: "cp950", 0x50: "cp874", 0x57: "cp1252", 0x58: "cp1252",
    0x59: "cp1252", 0x64: "cp852", 0x65: "cp866", 0x66: "cp865", 0x67: "cp861", 0x6A: "cp737", 0x6B: "cp857",
    0x78: "cp950", 0x79: "cp949", 0x7A: "cp936", 0x7B: "cp932", 0x7C: "cp874", 0x7D: "cp1255", 0x7E: "cp1256",
    0x87: "cp852", 0xC8: "cp1250", 0xC9: "cp1251", 0xCA: "cp1254", 0xCB: "cp1253", 0xCC: "cp1257",
}
_JULIAN_EPOCH = 2440588  # the Julian day of 1970-01-01
_CHINESE_RUN = re.compile("[\u4e00-\u9fff]{2}")
_MAX_FIELDS = 2048


@dataclass(frozen=True)
class _Field:
    name: str
    kind: str
    offset: int
    length: int
    decimals: int


def is_dbase(data: bytes) -> bool:
    """A dBASE table: a known version, a plausible date, and field descriptors that add up to the
    record length the header gives (a check strong enough for a format without a magic number)."""
    if len(data) < 66 or data[0] not in _VERSIONS or not 1 <= data[2] <= 12 or not 1 <= data[3] <= 31:
        return False
    try:
        _fields(data)
    except ValueError:
        return False
    return True


def _fields(data: bytes) -> list[_Field]:
    header, record = struct.unpack_from("<HH", data, 8)
    if header < 65 or header > len(data) or record < 2:
        raise ValueError("sizes out of range")
    fields: list[_Field] = []
    at, offset = 32, 1  # the deletion flag comes first
    while at + 32 <= header and data[at] != 0x0D:
        raw_name, kind = data[at:at + 11], data[at + 11]
        length, decimals = data[at + 16], data[at + 17]
        name = raw_name.split(b"\x00", 1)[0]
        if not name or not all(0x20 < b < 0x7F for b in name) or kind not in _TYPES or len(fields) == _MAX_FIELDS:
            raise ValueError("not a field descriptor")
        if kind == ord("C") and decimals and offset + length + (decimals << 8) <= record:
            length += decimals << 8  # Clipper and FoxPro: character fields over 255 bytes
            decimals = 0
        fields.append(_Field(name.decode("ascii"), chr(kind), offset, length, decimals))
        offset += length
        at += 32
    if not fields or at >= header + 1 or data[at] != 0x0D or offset != record:
        raise ValueError("the fields do not add up to a record")
    return fields


def dbase_content(data: bytes, budget: Budget, what: str) -> tuple[str, list[str]]:
    """The text of the table's records, live then deleted, and what could not be read."""
    try:
        fields = _fields(data)
    except ValueError as exc:
        raise Unscannable(f"{what}: not a dBASE table ({exc})") from None
    version, count = data[0], struct.unpack_from("<I", data, 4)[0]
    header, record = struct.unpack_from("<HH", data, 8)
    code_page = _CODE_PAGES.get(data[29], "cp1252")
    shown = [f for f in fields if f.kind != "0"]  # _NullFlags: Visual FoxPro's own bookkeeping
    problems: list[str] = []
    held = (len(data) - header) // record
    if held < count:
        problems.append(f"{what}: a dBASE table cut short ({held} of its {count} records are in the file)")
    heading = "\t".join(f.name for f in shown) + "\n"
    live: list[str] = [f"dBASE table\n\n{heading}"]
    deleted: list[str] = []
    used = 0
    for number, (flag, line) in enumerate(_records(data, shown, header, record, min(count, held), version,
                                                   code_page)):
        if number % 4096 == 4095:
            budget.check_time()
        (deleted if flag == 0x2A else live).append(line)  # "*": deleted
        used += len(line)
        if used > budget.limits.max_text_chars:
            problems.append(f"{what}: text beyond {budget.limits.max_text_chars} characters")
            break
    text = "".join(live) + "\n"
    if deleted:
        text += f"dBASE table (deleted records)\n\n{heading}" + "".join(deleted) + "\n"
    return text, problems


def _records(data: bytes, fields: list[_Field], header: int, record: int, count: int, version: int,
             code_page: str) -> Iterator[tuple[int, str]]:
    foxpro = version in _VISUAL_FOXPRO
    for index in range(count):
        start = header + index * record
        row = data[start:start + record]
        if row[0] == 0x1A:  # the end-of-file mark where a record would start
            return
        cells = [_cell(_value(row[f.offset:f.offset + f.length], f, foxpro, code_page)) for f in fields]
        yield row[0], "\t".join(cells) + "\n"


def _value(raw: bytes, field: _Field, foxpro: bool, code_page: str) -> str:
    kind = field.kind
    if kind in "CV":
        return _text(raw.rstrip(b" \x00"), code_page)
    if kind in "NF":
        return raw.strip(b" \x00").decode("ascii", "replace")
    if kind == "D":
        digits = raw.strip(b" \x00").decode("ascii", "replace")
        return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}" if len(digits) == 8 and digits.isdigit() else digits
    if kind == "L":
        return {b"T": "true", b"t": "true", b"Y": "true", b"y": "true", b"F": "false", b"f": "false",
                b"N": "false", b"n": "false"}.get(raw[:1], "")
    if kind == "I" and len(raw) == 4:
        return str(struct.unpack("<i", raw)[0])
    if kind == "+" and len(raw) == 4:  # dBASE 7: big-endian, the sign bit flipped
        return str(struct.unpack(">i", raw)[0] ^ -0x80000000)
    if kind == "Y" and len(raw) == 8:
        units = struct.unpack("<q", raw)[0]
        return f"{Decimal(f'{units}e-4'):f}"
    if (kind == "B" and foxpro or kind == "O") and len(raw) == 8:
        number = struct.unpack("<d", raw)[0]
        return str(int(number)) if number.is_integer() and abs(number) < 1e17 else format(number, ".15g")
    if kind == "T" and len(raw) == 8:
        return _datetime(raw)
    return ""  # memo, general and picture fields (in the memo file), binary and unknown fields


def _text(raw: bytes, code_page: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode(code_page, "replace")


def _datetime(raw: bytes) -> str:
    """Visual FoxPro: the Julian day, then milliseconds since midnight."""
    day, millis = struct.unpack("<ii", raw)
    if day == 0:
        return ""
    try:
        moment = datetime(1970, 1, 1) + timedelta(days=day - _JULIAN_EPOCH, milliseconds=millis)
    except OverflowError:
        return ""
    return moment.isoformat(" ")


def _cell(text: str) -> str:
    """A value on one line and in one cell: tabs and line breaks inside it become spaces."""
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def is_memo_file(data: bytes, name: str) -> bool:
    """A dBASE or FoxPro memo file (.dbt, .fpt) beside its table: no magic number, so its name
    and a header that holds together (the first free block past the header, a block size that
    FoxPro or dBASE uses)."""
    from rules.extract.sniff import extension

    ext = extension(name)
    if ext not in ("dbt", "fpt") or len(data) < 520:
        return False
    if ext == "fpt":
        free: int = struct.unpack_from(">I", data, 0)[0]
        size: int = struct.unpack_from(">H", data, 6)[0]
        return 32 <= size <= 16384 and free * size >= 512  # FoxPro: 64 by default, 512 for older tables
    first: int = struct.unpack_from("<I", data, 0)[0]
    return first >= 1


def memo_content(data: bytes, budget: Budget, what: str, name: str) -> tuple[str, list[str]]:
    """Every memo's text, one after another (their records, in the table, are another file)."""
    from rules.extract.sniff import extension

    memos = list(_fpt_memos(data) if extension(name) == "fpt" else _dbt_memos(data))
    budget.check_time()
    text = "dBASE memo file\n\n" + "\n\n".join(_memo_text(m) for m in memos if m.strip(b" \x00\x1a")) + "\n"
    return text, ([] if memos else [f"{what}: a memo file with no memos in it"])


def _fpt_memos(data: bytes) -> Iterator[bytes]:
    """FoxPro: big-endian block size at 6; each memo a type (1: text), a length, the bytes."""
    size = struct.unpack_from(">H", data, 6)[0]
    at = -(-512 // size) * size
    while at + 8 <= len(data):
        kind, length = struct.unpack_from(">II", data, at)
        if kind == 1 and 0 < length <= len(data) - at - 8:
            yield data[at + 8:at + 8 + length]
            at += -(-(8 + length) // size) * size
        else:
            at += size  # an unused block, a picture or an object: passed over


def _dbt_memos(data: bytes) -> Iterator[bytes]:
    """dBASE: 512-byte blocks from the second; dBASE IV leads a memo with FF FF 08 00 and its
    length, dBASE III ends one with 1A 1A."""
    at = 512
    while at < len(data):
        if data[at:at + 4] == b"\xff\xff\x08\x00":
            length = struct.unpack_from("<I", data, at + 4)[0]
            end = min(len(data), at + max(length, 8))
            yield data[at + 8:end]
        else:
            found = data.find(b"\x1a", at)
            end = len(data) if found < 0 else found
            yield data[at:end]
        at = max(at + 512, -(-end // 512) * 512)


def _memo_text(raw: bytes) -> str:
    """A memo's text: UTF-8, else GB18030 when that reads as Chinese (two ideographs in a row;
    the code page is in the table, another file), else Windows-1252."""
    raw = raw.rstrip(b"\x00 \x1a")
    try:
        return _cell(raw.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    try:
        chinese = raw.decode("gb18030")
    except UnicodeDecodeError:
        chinese = ""
    if _CHINESE_RUN.search(chinese):  # Latin text read as GB18030 gives lone ideographs, not runs
        return _cell(chinese)
    return _cell(raw.decode("cp1252", "replace"))
