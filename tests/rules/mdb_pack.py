"""A writer of Microsoft Access databases (.mdb of Jet 3 and Jet 4, .accdb of ACE 12 and ACE 14) for
the tests of our own Access reader.

Access writes no file on demand whose every structure is known: which memo sits inline and which on
a chain of LVAL pages, where a table definition runs over onto a second page, which row was deleted
or moved. So this writer lays the pages out itself, after mdbtools' HACKING.md (its notes on the
Jet3/Jet4 format, "HACKING" below) and, where HACKING is vague or silent, after what mdbtools' libmdb
reads (file.c, table.c, data.c, write.c, map.c, catalog.c, money.c) and what Jackcess writes:

* page 0, the database definition page ("Database Definition Page"): "Standard Jet DB" or "Standard
  ACE DB", the version at 0x14, and the 128 bytes from 0x18 masked by the RC4 stream of the fixed key
  0x6b39dac7 (file.c). Under the mask: the code page at 0x3c, the page-encoding key at 0x3e, the
  password at 0x42 (40 bytes of UCS-2, XORed with the little-endian int32 of the whole days of the
  creation date, the double at 0x72, as Jackcess unmasks it), the sort order at 0x6e;
* page 1, the global usage map (a data page whose row 0 is a type 0 map; Jackcess reads its set bits
  as pages that are free, so all bits are clear: no page is);
* page 2, the TDEF of MSysObjects, with the 17 columns of Access 2000's catalog (mdbtools binds Id,
  Name, Type, Flags and LvProp by name: catalog.c), and its rows: the "Tables", "Databases" and
  "Relationships" containers (Type 3), MSysObjects itself (Type 1, Flags 0x80000002: a system table)
  and one row per user table (Type 1, Flags 0, Id its TDEF page, ParentId the "Tables" container);
* TDEFs ("TDEF Pages", Jet4 Table Definition Block): the 63-byte head, 25-byte column entries, UCS-2
  names and the 0xFFFF end, one byte stream that runs over onto further pages by next_pg, each page
  adding its bytes from offset 8 on (table.c read_pg_if_n, Jackcess loadCompleteTableDefinitionBuffer);
* usage maps ("Page Usage Maps"): a table's owned-pages map (the data pages, overflow pages
  included) and free-space map (the pages with room for another of its largest rows) are rows of 69
  bytes on shared map pages (data pages of owner 0, as Jackcess writes them): type 0 (the start page
  and 64 bytes of bits from it) or, when the pages span more than 512, type 1 (17 pointers to 0x05
  pages, the n-th mapping the 32736 pages from n * 32736: map.c). LVAL pages are in neither map
  (mdbtools walks the owned-pages map and warns of any page there not a data page of the table);
* data pages ("Data Pages", Jet4 Row Definition) of rows written from the page end backwards, at most
  255 a page; deleted rows keep their bytes under an offset flagged 0x8000 and 0x4000 (Jackcess
  deleteRow sets both: a reader must test 0x8000 first); an overflow row keeps its space, now a
  4-byte pointer (page << 8 | row) and zeros, under an offset flagged 0x4000, and the row itself goes
  onto an overflow page after the table's data pages, flagged 0x8000 so that a scan skips it there
  (Jackcess updateRow);
* memo and OLE values ("Memo Field Definition", "LVAL Pages"): 12 bytes of the stored length |
  flags (0x80000000 inline, 0x40000000 one LVAL record of up to 4080 bytes, 0 a chain), lval_dp
  (page << 8 | row) and 4 zero bytes; a chain's records start with the next lval_dp (0 in the last)
  and fill whole pages but the last; a table's LVAL records share its LVAL pages while they fit;
* text ("Text Data Type"): UCS-2, or with `compress_text` on a column flagged 0x01 in misc_flags,
  the compressed form (0xFF 0xFE, then 0x00 switching between one byte a character and two) when no
  character is U+xx00 and it is shorter; a memo only when it has at most 1024 characters;
* with `encode_key`, every page after page 0 RC4-encrypted with the key (encode_key ^ page number) as
  4 little-endian bytes (file.c _mdb_read_pg; Jackcess JetCryptCodecHandler).

Access 97 (Jet3, `version="jet3"`) differs in its sizes and three layouts (`_Format`; HACKING,
checked against mdbtools' file.c, table.c and write.c and Jackcess's Jet3Format):

* 2048-byte pages; page 0 with version 0 and 126 bytes under the mask, the sort order in 2 bytes at
  0x3a, the password (20 bytes in the code page, 1252) under the mask alone, no creation date;
* data pages with a 10-byte header (no 4 unknown bytes), so LVAL records of up to 2036 bytes and
  chain records of up to 2032 after their pointer, rows of up to 2012 bytes (Jackcess MAX_ROW_SIZE);
* the 43-byte TDEF head ("VC" at offset 2 of every TDEF page), 18-byte column entries, names of a
  length byte and the code page's bytes; usage maps of 128 bytes of bits (133-byte rows, 15 a map
  page), type 1 maps of 33 pointers to 0x05 pages of 16352 pages each;
* rows counting columns and variable-length values in one byte each, their offsets one byte each
  with a jump table for the high bits (`jet3_var_trailer`); text in code page 1252, never
  compressed; no numeric or attachment columns.

`mdb_pack` also returns `Stats`, the counts of the structures it wrote, so that a test can assert
that the structure it is about really occurs. It is checked against two independent readers
(mdbtools and access_parser) in test_mdb_pack.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import math
import struct
import uuid
import zlib
from dataclasses import dataclass, field

PAGE = 4096  # Jet4 and ACE
JET3_PAGE = 2048
VERSIONS = {"jet3": (0x00, b"Standard Jet DB"), "jet4": (0x01, b"Standard Jet DB"),
            "ace12": (0x02, b"Standard ACE DB"), "ace14": (0x03, b"Standard ACE DB")}
HEADER_KEY = struct.pack("<I", 0x6B39DAC7)  # file.c: the RC4 key of the header mask
HEADER_START = 0x18
CREATED = 45292.5  # 2024-01-01 12:00, days since 1899-12-30: the creation date, and the password mask
ACCESS_EPOCH = dt.datetime(1899, 12, 30)
MAX_PAGE_ROWS = 255  # a row pointer keeps the row number in one byte
JET3_CODE_PAGE = 1252  # the code page of Jet3 text (mdbtools reads it as CP1252 unless told otherwise)
DELETED, OVERFLOW = 0x8000, 0x4000  # row offset flags; a deleted row has both (Jackcess deleteRow)
LONG_INLINE, LONG_SINGLE = 0x80000000, 0x40000000
USER_TABLE, SYSTEM_TABLE = 0x4E, 0x53
TABLE_MAGIC = 1625  # Jackcess MAGIC_TABLE_NUMBER: TDEF offset 12 and bytes 1-4 of each column entry
MSYS_OBJECTS = 2
TABLES_ID, DATABASES_ID, RELATIONSHIPS_ID, TOP_ID = 0x0F000001, 0x0F000002, 0x0F000003, 0x0F000000
SYSTEM_FLAGS = 0x80000002
GENERAL_SORT = 0x0409

#: kind -> (column type, bytes in the fixed area; None for a variable-length column)
KINDS: dict[str, tuple[int, int | None]] = {
    "bool": (0x01, 0), "byte": (0x02, 1), "int": (0x03, 2), "long": (0x04, 4), "currency": (0x05, 8),
    "single": (0x06, 4), "double": (0x07, 8), "datetime": (0x08, 8), "binary": (0x09, None),
    "text": (0x0A, None), "ole": (0x0B, None), "memo": (0x0C, None), "guid": (0x0F, 16),
    "numeric": (0x10, 17), "attachment": (0x12, 4),
}
FIXED_FLAG, NULLABLE_FLAG, COMPRESSED_FLAG = 0x01, 0x02, 0x01
JET3_KINDS = set(KINDS) - {"numeric", "attachment"}  # both came with Jet4 and Access 2007


@dataclass(frozen=True)
class _Format:
    """The sizes in which Jet3 (Access 97) differs from Jet4 and ACE."""

    jet3: bool
    page: int
    data_head: int  # a data page's header: type, 0x01, free space, owner, (Jet4: 4 unknown bytes), num_rows
    max_row: int  # Jackcess MAX_ROW_SIZE
    masked: int  # bytes of page 0 under the fixed RC4 mask, from 0x18 (file.c)
    map_bytes: int  # bytes of bits in a type 0 usage map (Jackcess USAGE_MAP_TABLE_BYTE_LENGTH)
    tdef_head: int  # the TDEF page header and the Table Definition Block

    @property
    def max_lval_record(self) -> int:
        return self.page - self.data_head - 2

    @property
    def max_chain_chunk(self) -> int:
        return self.max_lval_record - 4  # a chain's record begins with the next record's pointer

    @property
    def map_row(self) -> int:
        return 5 + self.map_bytes  # map type, start page, the bits

    @property
    def map_rows_per_page(self) -> int:
        return (self.page - self.data_head) // (self.map_row + 2)

    @property
    def reference_map_pages(self) -> int:
        return (self.page - 4) * 8  # pages mapped by one 0x05 page

    @property
    def reference_pointers(self) -> int:
        return (self.map_row - 1) // 4  # a type 1 map's pointers to 0x05 pages: 33 (Jet3) or 17


JET3 = _Format(jet3=True, page=JET3_PAGE, data_head=10, max_row=2012, masked=126, map_bytes=128, tdef_head=43)
JET4 = _Format(jet3=False, page=PAGE, data_head=14, max_row=4060, masked=128, map_bytes=64, tdef_head=63)


@dataclass
class Column:
    """A column; `length` is in characters for text (stored bytes are twice that in Jet4) and in
    bytes for binary (0: 255); `precision` and `scale` are a numeric column's."""

    name: str
    kind: str
    length: int = 0
    precision: int = 18
    scale: int = 0


@dataclass
class Attachment:
    """A file in an attachment column (Access 2007 on): kept in a hidden table, its FileData
    deflated when `compressed` (Access deflates what is not compressed already: text, CSV, BMP)."""

    name: str
    data: bytes
    compressed: bool = False


@dataclass
class Table:
    """Rows are lists of Python values, one per column (None is null); `deleted` lists rows that
    are written and then marked deleted (row offset flags 0x8000 | 0x4000), their bytes left in
    place as Access leaves them."""

    name: str
    columns: list[Column]
    rows: list[list[object]]
    deleted: list[int] = field(default_factory=list)


@dataclass
class Stats:
    """How many of each structure a file holds, so tests can check they are not vacuous. The
    counts of rows, values and the pages holding them are of the user tables only (not the
    catalog's)."""

    pages: int = 0
    tdef_pages: int = 0  # continuation pages of TDEFs (beyond the first page of each)
    data_pages: int = 0  # overflow pages included
    lval_pages: int = 0
    map_pages: int = 0  # data pages holding usage maps, and 0x05 pages
    reference_maps: int = 0  # type 1 usage maps
    inline_memos: int = 0  # memo and OLE values alike
    single_page_memos: int = 0
    chained_memos: int = 0
    compressed_strings: int = 0
    deleted_rows: int = 0
    overflow_rows: int = 0
    encoded_pages: int = 0
    attachments: int = 0
    compressed_attachments: int = 0


def mdb_pack(tables: list[Table], *, version: str = "jet4", compress_text: bool = True,
             encode_key: int | None = None, password: str | None = None, memo_inline_max: int = 64,
             overflow_rows: int = 0, drop: tuple[str, ...] | list[str] = ()) -> tuple[bytes, Stats]:
    """The database and the counts of the structures written into it. `overflow_rows` rows of each
    user table (spread over it) are written as overflow rows. The tables named in `drop` are
    written and then dropped as Access drops a table: their catalog rows deleted, their pages left
    as they were (until a compaction)."""
    if version not in VERSIONS:
        raise ValueError(f"unknown version {version!r} (one of {', '.join(VERSIONS)})")
    if (encode_key is not None or password is not None) and version not in ("jet3", "jet4"):
        raise ValueError("encoding and a header password are Jet3's and Jet4's (ACE encrypts otherwise)")
    if password is not None and len(password) > 20:
        raise ValueError(f"a {'Jet3' if version == 'jet3' else 'Jet4'} password has at most 20 characters")
    if encode_key is not None and not 0 < encode_key < 1 << 32:
        raise ValueError("encode_key is a non-zero 32-bit number")
    names = [t.name.lower() for t in tables]
    if len(set(names)) != len(names) or "msysobjects" in names:
        raise ValueError("table names must be unique and not MSysObjects")
    fmt = JET3 if version == "jet3" else JET4
    if fmt.jet3:
        _check_jet3(tables)
    writer = _Writer(fmt, compress_text and not fmt.jet3, memo_inline_max,
                     sort_version=1 if version == "ace14" else 0)
    if not set(drop) <= {t.name for t in tables}:
        raise ValueError("only tables written can be dropped")
    writer.database(tables, overflow_rows, set(drop))
    pages = writer.finish(_header(fmt, version, encode_key or 0, password or ""))
    if encode_key:
        pages = [pages[0]] + [rc4(struct.pack("<I", encode_key ^ n), p) for n, p in enumerate(pages) if n]
        writer.stats.encoded_pages = len(pages) - 1
    return b"".join(pages), writer.stats


def _check_jet3(tables: list[Table]) -> None:
    """What Access 97 cannot hold: numeric and attachment columns, more than 255 columns (a row
    counts them in one byte), names outside the code page or longer than 64 characters."""
    for table in tables:
        if len(table.columns) > 255:
            raise ValueError(f"table {table.name!r}: a Jet3 table has at most 255 columns")
        for name in [table.name, *(c.name for c in table.columns)]:
            if len(_jet3_text(name, f"table {table.name!r}")) > 64:  # Jackcess MAX_COLUMN_NAME_LENGTH
                raise ValueError(f"table {table.name!r}: the name {name!r} is longer than 64 characters")
        for column in table.columns:
            if column.kind in KINDS and column.kind not in JET3_KINDS:
                raise ValueError(f"column {column.name!r}: Jet3 has no {column.kind} columns")


def _jet3_text(text: str, what: str) -> bytes:
    """Jet3 text: one byte a character, in the database's code page (HACKING "Text Data Type")."""
    try:
        return text.encode(f"cp{JET3_CODE_PAGE}")
    except UnicodeEncodeError as error:
        raise ValueError(f"{what}: {text!r} has a character outside code page {JET3_CODE_PAGE}") from error


def rc4(key: bytes, data: bytes) -> bytes:
    """RC4, as mdbtools (file.c) runs it over the header and over the pages of an encoded database."""
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) & 0xFF
        state[i], state[j] = state[j], state[i]
    out = bytearray(data)
    i = j = 0
    for n in range(len(out)):
        i = (i + 1) & 0xFF
        j = (j + state[i]) & 0xFF
        state[i], state[j] = state[j], state[i]
        out[n] ^= state[(state[i] + state[j]) & 0xFF]
    return bytes(out)


def encode_text(text: str, compressible: bool) -> tuple[bytes, bool]:
    """Jet4 text: UCS-2, or its compressed form (HACKING "Text Data Type") when the column allows it,
    no code unit is U+xx00 and the result is shorter (or the text begins with U+FEFF, whose bytes
    would read as the prefix). The compressed form switches to two bytes a character before one
    above U+00FF, and back before a run of characters that one byte each makes shorter."""
    raw = text.encode("utf-16-le")
    units = struct.unpack(f"<{len(raw) // 2}H", raw)
    if not compressible or not units or any(u & 0xFF == 0 for u in units):
        return raw, False
    out, narrow = bytearray(b"\xff\xfe"), True
    for i, unit in enumerate(units):
        if narrow != (unit < 0x100) and (narrow or _pays_to_narrow(units, i)):
            out.append(0)
            narrow = not narrow
        out += bytes([unit]) if narrow else struct.pack("<H", unit)
    # text beginning with U+FEFF would read as compressed: it is stored compressed even if no shorter
    return (bytes(out), True) if len(out) < len(raw) or raw.startswith(b"\xff\xfe") else (raw, False)


def _pays_to_narrow(units: tuple[int, ...], start: int) -> bool:
    """Whether switching to one byte a character for the run from `start` is shorter: the switch
    costs a byte, and a byte more to switch back unless the run ends the text."""
    run = next((n for n, u in enumerate(units[start:]) if u >= 0x100), len(units) - start)
    return run > (1 if start + run == len(units) else 2)


def access_date(value: dt.datetime) -> float:
    """Days since 1899-12-30; before it, the negative whole day with the time of day subtracted
    (-1.25 is 1899-12-29 06:00), as mdbtools' mdb_date_to_tm reads it back."""
    delta = value - ACCESS_EPOCH
    fraction = (delta.seconds + delta.microseconds / 1e6) / 86400
    return delta.days + fraction if delta.days >= 0 else delta.days - fraction


def _scaled(value: object, scale: int) -> int:
    """`value` times 10**scale, which must be a whole number (currency: scale 4)."""
    if not isinstance(value, int | float | decimal.Decimal):
        raise ValueError(f"{value!r} is not a number")
    number = decimal.Decimal(str(value) if isinstance(value, float) else value)
    scaled = number.scaleb(scale)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value!r} has more than {scale} decimal places")
    return int(scaled)


def _numeric(value: object, scale: int) -> bytes:
    """17 bytes: a sign byte (0x80: negative), then the unscaled value as 4 little-endian 32-bit
    words, most significant first (money.c mdb_numeric_to_string; Jackcess fixNumericByteOrder)."""
    unscaled = _scaled(value, scale)
    magnitude = abs(unscaled)
    if magnitude >> 96:
        raise ValueError(f"{value!r} does not fit a numeric column")
    words = [(magnitude >> shift) & 0xFFFFFFFF for shift in (96, 64, 32, 0)]
    return bytes([0x80 if unscaled < 0 else 0]) + struct.pack("<4I", *words)


def _fixed_value(column: Column, value: object) -> bytes:
    match column.kind:
        case "byte":
            return struct.pack("<B", value)
        case "int":
            return struct.pack("<h", value)
        case "long":
            return struct.pack("<i", value)
        case "single":
            return struct.pack("<f", value)
        case "double":
            return struct.pack("<d", value)
        case "currency":
            return struct.pack("<q", _scaled(value, 4))
        case "datetime":
            if not isinstance(value, dt.datetime):
                raise ValueError(f"{column.name}: {value!r} is not a datetime")
            return struct.pack("<d", access_date(value))
        case "attachment":  # the foreign key of the row's files in the flat table
            return struct.pack("<i", value)
        case "guid":
            if not isinstance(value, uuid.UUID):
                raise ValueError(f"{column.name}: {value!r} is not a UUID")
            return value.bytes_le  # the layout of a Windows GUID, as Access stores it
        case _:
            return _numeric(value, column.scale)


def jet3_var_trailer(offsets: list[int], eod: int, mask_size: int) -> bytes:
    """What follows a Jet3 row's variable-length values up to its null mask (HACKING "Jet3 Row
    Definition"): eod and the values' offsets in one byte each, last to first; the jump table; the
    number of values. Readers (mdbtools mdb_crack_row3, Jackcess) take the jump table's size from
    the whole row's length L, (L - 1) // 256 bytes, and its k-th entry (k = 0 next to the count) as
    the index of the first offset at or past 256 * (k + 1), eod being offset number len(offsets);
    when eod lies below 256 times the size, the entry farthest from the count is a dummy (0xFF) they
    skip. The size depends on itself (each entry lengthens the row): the least that fits is taken."""
    table = [*offsets, eod]
    jumps = [next(i for i, at in enumerate(table) if at >= 256 * k) for k in range(1, eod // 256 + 1)]
    rest = eod + len(table) + 1 + mask_size  # the row's length without its jump table
    size = 0
    while (rest + size - 1) // 256 > size:
        size = (rest + size - 1) // 256
    if size > len(jumps) + 1:
        raise ValueError(f"a Jet3 row of {len(offsets)} variable-length values outgrows its jump table")
    low_bytes = bytes([eod & 0xFF, *(at & 0xFF for at in reversed(offsets))])
    return low_bytes + b"\xff" * (size - len(jumps)) + bytes([*reversed(jumps), len(offsets)])


def _map_row(fmt: _Format, pages: list[int]) -> bytes:
    """A type 0 usage map from the first of `pages` (which all lie within its bits of it)."""
    start = min(pages, default=0)
    bits = bytearray(fmt.map_bytes)
    for page in pages:
        bits[(page - start) // 8] |= 1 << ((page - start) % 8)
    return b"\x00" + struct.pack("<I", start) + bytes(bits)


def _data_page(fmt: _Format, owner: bytes, records: list[tuple[bytes, int]]) -> bytes:
    """A data (or LVAL) page: records from the page end backwards, each offset with its flags."""
    page = bytearray(fmt.page)
    end, offsets = fmt.page, []
    for data, flags in records:
        end -= len(data)
        page[end:end + len(data)] = data
        offsets.append(end | flags)
    page[0:2] = b"\x01\x01"
    struct.pack_into("<H", page, 2, end - fmt.data_head - 2 * len(records))
    page[4:8] = owner
    struct.pack_into(f"<H{len(records)}H", page, fmt.data_head - 2, len(records), *offsets)
    return bytes(page)


def _fits(fmt: _Format, records: list[tuple[bytes, int]], size: int) -> bool:
    used = fmt.data_head + sum(len(data) + 2 for data, _ in records)
    return len(records) < MAX_PAGE_ROWS and used + size + 2 <= fmt.page


def _header(fmt: _Format, version: str, db_key: int, password: str) -> bytes:
    """Page 0. A Jet4 password is masked by the creation date's whole days whether or not there is
    one, so that an empty password reads back as all zeros (Jackcess readEmbeddedDatabasePassword).
    Jet3 keeps its password of up to 20 bytes in the code page under the RC4 mask alone (Jackcess
    has no date mask for it; the 14 bytes mdbtools 0.x XORed it with are that mask's bytes at 0x42),
    its sort order in 2 bytes at 0x3a, and no creation date."""
    number, name = VERSIONS[version]
    page = bytearray(fmt.page)
    page[0:4] = b"\x00\x01\x00\x00"
    page[4:4 + len(name)] = name
    struct.pack_into("<I", page, 0x14, number)
    struct.pack_into("<HI", page, 0x3C, JET3_CODE_PAGE if fmt.jet3 else 1252, db_key)
    if fmt.jet3:
        page[0x42:0x56] = _jet3_text(password, "the password").ljust(20, b"\x00")
        struct.pack_into("<H", page, 0x3A, GENERAL_SORT)
    else:
        mask = struct.pack("<i", int(CREATED))
        secret = password.encode("utf-16-le").ljust(40, b"\x00")
        page[0x42:0x6A] = bytes(b ^ mask[i % 4] for i, b in enumerate(secret))
        struct.pack_into("<HBBd", page, 0x6E, GENERAL_SORT, 0, 1 if version == "ace14" else 0, CREATED)
    masked = slice(HEADER_START, HEADER_START + fmt.masked)
    page[masked] = rc4(HEADER_KEY, bytes(page[masked]))
    return bytes(page)


@dataclass(frozen=True)
class _Slot:
    """A column's place: its number, and its offset in the fixed area or its index among the
    variable-length columns."""

    column: Column
    number: int
    code: int
    fixed: bool
    offset: int


def _slots(columns: list[Column]) -> list[_Slot]:
    slots, fixed_at, var_index = [], 0, 0
    for number, column in enumerate(columns):
        if column.kind not in KINDS:
            raise ValueError(f"column {column.name!r}: unknown kind {column.kind!r}")
        code, size = KINDS[column.kind]
        if size is None:
            slots.append(_Slot(column, number, code, False, var_index))
            var_index += 1
        else:
            slots.append(_Slot(column, number, code, True, fixed_at))
            fixed_at += size
    return slots


def _column_entry(slot: _Slot, compress: bool, sort_version: int) -> bytes:
    """A 25-byte Jet4 column entry (HACKING "Jet4 Table Definition Block"; the numeric precision
    and scale at bytes 11 and 12 as Jackcess writes them, mdbtools table.c reading byte 12 as the
    number of decimals)."""
    column, kind = slot.column, slot.column.kind
    misc = b"\x00" * 4
    if kind in ("text", "memo"):
        misc = struct.pack("<HBB", GENERAL_SORT, 0, sort_version)
    elif kind == "numeric":
        misc = bytes([column.precision, column.scale, 0, 0])
    elif kind == "attachment":
        misc = struct.pack("<I", column.precision)  # the complex id (HACKING: "complexid", 4 bytes)
    flags = COMPLEX_FLAGS if kind == "attachment" else NULLABLE_FLAG | (FIXED_FLAG if slot.fixed else 0)
    misc_flags = COMPRESSED_FLAG if compress and kind in ("text", "memo") else 0
    return struct.pack("<BIHHH4sBBIHH", slot.code, TABLE_MAGIC, slot.number, 0 if slot.fixed else slot.offset,
                       slot.number, misc, flags, misc_flags, 0, slot.offset if slot.fixed else 0,
                       _column_length(JET4, column))


def _jet3_column_entry(slot: _Slot) -> bytes:
    """An 18-byte Jet3 column entry (HACKING "Jet3 Table Definition Block"): type, number,
    variable-column index, number again, 2 bytes unknown, the sort order and the code page of a
    text or memo column at bytes 9 and 11 (where Jackcess reads them; HACKING and access_parser
    have them at 7 and 9, and no reader of the tests looks), flags, fixed offset, length."""
    textual = slot.column.kind in ("text", "memo")
    return struct.pack("<BHHHHHHBHH", slot.code, slot.number, 0 if slot.fixed else slot.offset, slot.number,
                       0, GENERAL_SORT if textual else 0, JET3_CODE_PAGE if textual else 0,
                       NULLABLE_FLAG | (FIXED_FLAG if slot.fixed else 0), slot.offset if slot.fixed else 0,
                       _column_length(JET3, slot.column))


def _column_length(fmt: _Format, column: Column) -> int:
    size = KINDS[column.kind][1]
    if column.kind == "text":
        return (1 if fmt.jet3 else 2) * (column.length or 255)
    if column.kind == "binary":
        return column.length or 255
    return size or 0


@dataclass
class _TableDef:
    """What a TDEF says beyond its columns."""

    slots: list[_Slot]
    num_rows: int
    used_map: int  # page << 8 | row of the owned-pages map
    free_map: int
    system: bool = False


def _tdef_stream(fmt: _Format, tdef: _TableDef, compress: bool, sort_version: int) -> bytes:
    """The whole table definition as one stream, page header included (tdef_len: its length, as
    Jackcess's totalTableDefSize counts it)."""
    head = bytearray(fmt.tdef_head)
    head[0:2] = b"\x02\x01"
    num_cols, num_var = len(tdef.slots), sum(not s.fixed for s in tdef.slots)
    table_type = SYSTEM_TABLE if tdef.system else USER_TABLE
    if fmt.jet3:
        head[2:4] = b"VC"
        struct.pack_into("<IIBHHHIIII", head, 12, tdef.num_rows, 0, table_type, num_cols, num_var, num_cols,
                         0, 0, tdef.used_map, tdef.free_map)
        entries = b"".join(_jet3_column_entry(s) for s in tdef.slots)
        encoded = [_jet3_text(s.column.name, "a column name") for s in tdef.slots]
        names = b"".join(bytes([len(name)]) + name for name in encoded)
    else:
        struct.pack_into("<IIIB", head, 12, TABLE_MAGIC, tdef.num_rows, 0, 1)
        struct.pack_into("<BHHHIIII", head, 40, table_type, num_cols, num_var, num_cols, 0, 0, tdef.used_map,
                         tdef.free_map)
        entries = b"".join(_column_entry(s, compress, sort_version) for s in tdef.slots)
        encoded = [s.column.name.encode("utf-16-le") for s in tdef.slots]
        names = b"".join(struct.pack("<H", len(name)) + name for name in encoded)
    stream = head + entries + names + b"\xff\xff"
    struct.pack_into("<I", stream, 8, len(stream))
    return bytes(stream)


def _tdef_page_count(fmt: _Format, stream_length: int) -> int:
    return 1 + math.ceil(max(0, stream_length - fmt.page) / (fmt.page - 8))


def _tdef_pages(fmt: _Format, stream: bytes, numbers: list[int]) -> list[bytes]:
    """The stream cut into pages: the first page whole, each next page adding its bytes from
    offset 8 behind the header 02 01, free space (minus 8, HACKING) or in Jet3 "VC", next_pg."""
    rest = stream[fmt.page:]
    step = fmt.page - 8
    pieces = [stream[:fmt.page]] + [bytes(8) + rest[k:k + step] for k in range(0, len(rest), step)]
    pages = []
    for k, piece in enumerate(pieces):
        page = bytearray(piece).ljust(fmt.page, b"\x00")
        next_page = numbers[k + 1] if k + 1 < len(numbers) else 0
        page[0:2] = b"\x02\x01"
        if fmt.jet3:
            page[2:4] = b"VC"
        else:
            struct.pack_into("<H", page, 2, max(0, fmt.page - len(piece) - 8))
        struct.pack_into("<I", page, 4, next_page)
        pages.append(bytes(page))
    return pages


CATALOG_COLUMNS = [
    Column("Id", "long"), Column("ParentId", "long"), Column("Name", "text", 255), Column("Owner", "binary"),
    Column("Type", "int"), Column("Flags", "long"), Column("DateCreate", "datetime"),
    Column("DateUpdate", "datetime"), Column("Connect", "memo"), Column("Database", "memo"),
    Column("ForeignName", "text", 255), Column("RmtInfoShort", "binary"), Column("RmtInfoLong", "ole"),
    Column("Lv", "ole"), Column("LvProp", "ole"), Column("LvModule", "ole"), Column("LvExtra", "ole"),
]
CATALOG_DATE = dt.datetime(2024, 1, 1, 12, 0, 0)


COMPLEX_COLUMNS = "MSysComplexColumns"
COMPLEX_COLUMNS_COLUMNS = [Column("ColumnName", "text", 255), Column("ComplexID", "long"),
                           Column("ComplexTypeObjectID", "long"), Column("ConceptualTableID", "long"),
                           Column("FlatTableID", "long")]
COMPLEX_TYPE_ATTACHMENT = 0x0C  # the object id of the attachment type's template table (any number will do here)
HIDDEN_SYSTEM_FLAG = 0x80000000  # a flat table is a system object: no user's table list shows it
COMPLEX_FLAGS = 0x07  # HACKING: a complex column's flag byte is exactly 0x07


def _flat_columns(parent_column: str) -> list[Column]:
    """The attachment type's columns (Jackcess AttachmentColumnInfoImpl), and the foreign key,
    a Long named after the parent column."""
    return [Column("FileData", "ole"), Column("FileFlags", "long"), Column("FileName", "text", 255),
            Column("FileTimeStamp", "datetime"), Column("FileType", "text", 255), Column("FileURL", "memo"),
            Column(parent_column, "long")]


def _attachment_row(item: Attachment, key: int) -> list[object]:
    return [encode_attachment(item), 0, item.name, CATALOG_DATE, item.name.rpartition(".")[2].lower(), None, key]


def encode_attachment(item: Attachment) -> bytes:
    """FileData: a type (0 raw, 1 deflated in zlib's format), the content's length, the content;
    the content is its header's length, a 1, the file's extension in UCS-2 ending in a zero
    character, then the file (Jackcess AttachmentColumnInfoImpl; mdb-reader decodeAttachmentFileData)."""
    extension = item.name.rpartition(".")[2].lower() if "." in item.name else ""
    head = struct.pack("<I", 1) + (extension + "\x00").encode("utf-16-le")
    content = struct.pack("<I", 4 + len(head)) + head + item.data
    body = zlib.compress(content) if item.compressed else content
    return struct.pack("<II", 1 if item.compressed else 0, len(content)) + body


def _catalog_row(object_id: int, parent: int, name: str, kind: int, flags: int) -> list[object]:
    signed = struct.unpack("<ii", struct.pack("<II", object_id, flags))
    return [signed[0], parent, name, None, kind, signed[1], CATALOG_DATE, CATALOG_DATE] + [None] * 9


def _spread(items: list[int], count: int) -> set[int]:
    """`count` of `items` (all, if fewer), evenly spread."""
    count = min(count, len(items))
    return {items[k * len(items) // count] for k in range(count)}


class _Lval:
    """The LVAL pages of one table: records go onto the current page while they fit."""

    def __init__(self, writer: _Writer) -> None:
        self.writer = writer
        self.page = 0
        self.records: list[tuple[bytes, int]] = []

    def place(self, record: bytes) -> int:
        if not self.page or not _fits(self.writer.fmt, self.records, len(record)):
            self.flush()
            self.page = self.writer.alloc()
            self.writer.counts.lval_pages += 1
        self.records.append((record, 0))
        return self.page << 8 | (len(self.records) - 1)

    def flush(self) -> None:
        if self.page:
            self.writer.pages[self.page] = _data_page(self.writer.fmt, b"LVAL", self.records)
            self.page, self.records = 0, []


class _Writer:
    def __init__(self, fmt: _Format, compress: bool, memo_inline_max: int, sort_version: int) -> None:
        self.fmt, self.compress, self.memo_inline_max = fmt, compress, memo_inline_max
        self.sort_version = sort_version
        self.pages: list[bytes | None] = [None, None, None]  # header, global usage map, MSysObjects' TDEF
        self.stats = Stats()
        self.counts = self.stats  # where the current table's structures are counted
        self.maps: list[tuple[int, bytes]] = []  # (map row pointer, row) of every table's two maps
        self.map_pages: list[int] = []
        self.complex_ids = 0

    def alloc(self) -> int:
        self.pages.append(None)
        return len(self.pages) - 1

    def database(self, tables: list[Table], overflow_rows: int, dropped: set[str]) -> None:
        tables, flat = self.complex_values(tables)
        map_rows = 2 * (len(tables) + len(flat) + (1 if flat else 0) + 1)
        self.map_pages = [self.alloc() for _ in range(math.ceil(map_rows / self.fmt.map_rows_per_page))]
        self.stats.map_pages += len(self.map_pages)
        catalog = [_catalog_row(TABLES_ID, TOP_ID, "Tables", 3, 0),
                   _catalog_row(DATABASES_ID, TOP_ID, "Databases", 3, 0),
                   _catalog_row(RELATIONSHIPS_ID, TOP_ID, "Relationships", 3, 0),
                   _catalog_row(MSYS_OBJECTS, TABLES_ID, "MSysObjects", 1, SYSTEM_FLAGS)]
        gone = []
        pages: dict[str, int] = {}
        for index, table in enumerate(tables, start=1):
            pages[table.name] = tdef_page = self.table(table, map_index=index, overflow_rows=overflow_rows)
            if table.name in dropped:
                gone.append(len(catalog))
            catalog.append(_catalog_row(tdef_page, TABLES_ID, table.name, 1, 0))
        complex_rows = []
        for index, (parent, column, complex_id, table) in enumerate(flat, start=len(tables) + 1):
            flat_page = self.table(table, map_index=index, overflow_rows=0)
            catalog.append(_catalog_row(flat_page, TABLES_ID, table.name, 1, HIDDEN_SYSTEM_FLAG))
            complex_rows.append([column, complex_id, COMPLEX_TYPE_ATTACHMENT, pages[parent], flat_page])
        if flat:
            complex_page = self.table(Table(COMPLEX_COLUMNS, COMPLEX_COLUMNS_COLUMNS, complex_rows),
                                      map_index=len(tables) + len(flat) + 1, overflow_rows=0)
            catalog.append(_catalog_row(complex_page, TABLES_ID, COMPLEX_COLUMNS, 1, SYSTEM_FLAGS))
        self.table(Table("MSysObjects", CATALOG_COLUMNS, catalog, deleted=gone), map_index=0, overflow_rows=0,
                   tdef_page=MSYS_OBJECTS)

    def complex_values(self, tables: list[Table]) -> tuple[list[Table], list[tuple[str, str, int, Table]]]:
        """Attachment columns as Access keeps them (Access 2007 on; HACKING "Complex Columns",
        Jackcess ComplexColumnSupport and AttachmentColumnInfoImpl): the parent row holds a
        foreign key, each file is a row of a hidden flat table named f_<GUID>_<column>, and
        MSysComplexColumns ties the column to its flat table. Returns the tables with keys in
        place of the lists of files, and (parent, column, complex id, flat table) of each column."""
        out, flat = [], []
        for table in tables:
            kinds = [c.kind for c in table.columns]
            if "attachment" not in kinds:
                out.append(table)
                continue
            rows = [list(r) for r in table.rows]
            columns = list(table.columns)
            for number, column in enumerate(table.columns):
                if column.kind != "attachment":
                    continue
                self.complex_ids += 1
                # the complex id goes into the column entry's misc field
                columns[number] = dataclasses.replace(column, precision=self.complex_ids)
                files, key = [], 0
                for row in rows:
                    attached = row[number]
                    if attached is None:
                        continue
                    if not isinstance(attached, list) or not all(isinstance(a, Attachment) for a in attached):
                        raise ValueError(f"{column.name}: {attached!r} is not a list of Attachment")
                    key += 1
                    row[number] = key
                    for item in attached:
                        files.append(_attachment_row(item, key))
                        self.stats.attachments += 1
                        self.stats.compressed_attachments += item.compressed
                guid = uuid.UUID(int=0x5EC2E7 << 96 | self.complex_ids).hex.upper()
                flat.append((table.name, column.name, self.complex_ids,
                             Table(f"f_{guid}_{column.name}", _flat_columns(column.name), files)))
            out.append(Table(table.name, columns, rows, table.deleted))
        return out, flat

    def table(self, table: Table, *, map_index: int, overflow_rows: int, tdef_page: int = 0) -> int:
        """Lay out one table: TDEF pages, LVAL pages, data pages, overflow pages; the TDEF last,
        when its row count and maps are known. Returns its TDEF page."""
        slots = _slots(table.columns)
        system = tdef_page == MSYS_OBJECTS
        empty = _TableDef(slots, 0, 0, 0)
        stream_length = len(_tdef_stream(self.fmt, empty, self.compress, self.sort_version))
        first = tdef_page or self.alloc()
        tdef_numbers = [first] + [self.alloc() for _ in range(_tdef_page_count(self.fmt, stream_length) - 1)]
        self.stats.tdef_pages += len(tdef_numbers) - 1
        self.counts = Stats() if system else self.stats  # the catalog's are not counted
        deleted = set(table.deleted)
        if any(not 0 <= d < len(table.rows) for d in deleted):
            raise ValueError(f"table {table.name!r}: deleted rows out of range")
        lval = _Lval(self)
        rows = [(self.row(slots, values, lval, table.name), n in deleted)
                for n, values in enumerate(table.rows)]
        lval.flush()
        live = [n for n, (_, gone) in enumerate(rows) if not gone]
        moved = _spread(live, overflow_rows)
        data_pages, roomy_pages = self.data_pages(rows, moved, first)
        self.counts.data_pages += len(data_pages)
        self.counts.deleted_rows += len(deleted)
        self.counts.overflow_rows += len(moved)
        used, free = self.table_maps(map_index, data_pages, roomy_pages)
        tdef = _TableDef(slots, len(live), used, free, system)
        stream = _tdef_stream(self.fmt, tdef, self.compress, self.sort_version)
        for number, page in zip(tdef_numbers, _tdef_pages(self.fmt, stream, tdef_numbers), strict=True):
            self.pages[number] = page
        return first

    def data_pages(self, rows: list[tuple[bytes, bool]], moved: set[int],
                   owner: int) -> tuple[list[int], list[int]]:
        """Pack rows into data pages in order. A moved row keeps its space, now a pointer and zeros
        flagged 0x4000, and goes, flagged 0x8000, onto the overflow pages after them (Jackcess
        updateRow). Returns the pages, and those with room for one more of the table's largest rows
        (its free-space map)."""
        pages: dict[int, list[tuple[bytes, int]]] = {}
        records = [(bytes(max(4, len(data))), OVERFLOW) if n in moved
                   else (data, DELETED | OVERFLOW if gone else 0) for n, (data, gone) in enumerate(rows)]
        placed = self.pack(records, pages)
        targets = self.pack([(rows[n][0], DELETED) for n in sorted(moved)], pages)
        for n, target in zip(sorted(moved), targets, strict=True):
            stub = pages[placed[n] >> 8][placed[n] & 0xFF][0]
            pages[placed[n] >> 8][placed[n] & 0xFF] = (struct.pack("<I", target) + stub[4:], OVERFLOW)
        for number, records_on_page in pages.items():
            self.pages[number] = _data_page(self.fmt, struct.pack("<I", owner), records_on_page)
        largest = max((len(data) for data, _ in rows), default=0)
        return sorted(pages), sorted(n for n, on_page in pages.items() if _fits(self.fmt, on_page, largest))

    def pack(self, records: list[tuple[bytes, int]], pages: dict[int, list[tuple[bytes, int]]]) -> list[int]:
        """Place records on new pages (added to `pages`) while they fit; page << 8 | row of each."""
        placed, current = [], 0
        for data, flags in records:
            if not current or not _fits(self.fmt, pages[current], len(data)):
                current = self.alloc()
                pages[current] = []
            pages[current].append((data, flags))
            placed.append(current << 8 | (len(pages[current]) - 1))
        return placed

    def table_maps(self, index: int, data_pages: list[int], roomy_pages: list[int]) -> tuple[int, int]:
        """The owned-pages and free-space maps of a table, rows 2*index and 2*index+1 of the map
        pages; returns their row pointers."""
        pointers = []
        for k, pages in enumerate((data_pages, roomy_pages)):
            row = 2 * index + k
            per_page = self.fmt.map_rows_per_page
            pointer = self.map_pages[row // per_page] << 8 | row % per_page
            self.maps.append((pointer, self.usage_map(pages)))
            pointers.append(pointer)
        return pointers[0], pointers[1]

    def usage_map(self, pages: list[int]) -> bytes:
        if not pages or max(pages) - min(pages) < self.fmt.map_bytes * 8:
            return _map_row(self.fmt, pages)
        self.stats.reference_maps += 1
        mapped = self.fmt.reference_map_pages
        spans = sorted({p // mapped for p in pages})
        if spans[-1] >= self.fmt.reference_pointers:
            raise ValueError("a table reaches beyond the pages a type 1 usage map can map")
        pointers = [0] * self.fmt.reference_pointers
        for span in spans:
            bits = bytearray(self.fmt.page - 4)
            for page in (p - span * mapped for p in pages if p // mapped == span):
                bits[page // 8] |= 1 << (page % 8)
            pointers[span] = self.alloc()
            self.pages[pointers[span]] = b"\x05\x01\x00\x00" + bytes(bits)
            self.stats.map_pages += 1
        return b"\x01" + struct.pack(f"<{len(pointers)}I", *pointers)

    def row(self, slots: list[_Slot], values: list[object], lval: _Lval, table: str) -> bytes:
        """A row: num_cols, the fixed area, the variable-length values, eod, their offsets last to
        first (Jet3: in one byte each, then the jump table: jet3_var_trailer), their count, the null
        mask (which holds the values of bool columns)."""
        if len(values) != len(slots):
            raise ValueError(f"table {table!r}: a row of {len(values)} values for {len(slots)} columns")
        fixed = bytearray(sum(KINDS[s.column.kind][1] or 0 for s in slots))
        variable: list[bytes] = []
        mask = bytearray((len(slots) + 7) // 8)
        for slot, value in zip(slots, values, strict=True):
            present = bool(value) if slot.column.kind == "bool" else value is not None
            if slot.fixed and present and slot.column.kind != "bool":
                encoded = _fixed_value(slot.column, value)
                fixed[slot.offset:slot.offset + len(encoded)] = encoded
            elif not slot.fixed:
                variable.append(self.variable_value(slot.column, value, lval) if present else b"")
            if present:
                mask[slot.number // 8] |= 1 << (slot.number % 8)
        row = bytearray((bytes([len(slots)]) if self.fmt.jet3 else struct.pack("<H", len(slots))) + fixed)
        if variable:
            offsets = []
            for data in variable:
                offsets.append(len(row))
                row += data
            if self.fmt.jet3:
                row += jet3_var_trailer(offsets, len(row), len(mask))
            else:
                row += struct.pack(f"<H{len(offsets)}HH", len(row), *reversed(offsets), len(offsets))
        row += mask
        if len(row) > self.fmt.max_row:
            raise ValueError(f"table {table!r}: a row of {len(row)} bytes (at most {self.fmt.max_row})")
        return bytes(row)

    def variable_value(self, column: Column, value: object, lval: _Lval) -> bytes:
        if column.kind in ("text", "memo"):
            if not isinstance(value, str):
                raise ValueError(f"{column.name}: {value!r} is not text")
            units = len(value.encode("utf-16-le")) // 2
            if column.kind == "text" and units > (column.length or 255):
                raise ValueError(f"{column.name}: {units} characters in a column of {column.length or 255}")
            if self.fmt.jet3:
                data = _jet3_text(value, column.name)
                return data if column.kind == "text" else self.long_value(data, lval)
            compressible = self.compress and (column.kind == "text" or units <= 1024)
            data, compressed = encode_text(value, compressible)
            self.counts.compressed_strings += compressed
            return data if column.kind == "text" else self.long_value(data, lval)
        if not isinstance(value, bytes):
            raise ValueError(f"{column.name}: {value!r} is not bytes")
        if column.kind == "binary" and len(value) > (column.length or 255):
            raise ValueError(f"{column.name}: {len(value)} bytes in a column of {column.length or 255}")
        return value if column.kind == "binary" else self.long_value(value, lval)

    def long_value(self, data: bytes, lval: _Lval) -> bytes:
        """The 12-byte memo/OLE field: inline, one LVAL record, or a chain placed last record first
        so that each record knows the next one's pointer."""
        if len(data) <= self.memo_inline_max:
            self.counts.inline_memos += 1
            return struct.pack("<III", len(data) | LONG_INLINE, 0, 0) + data
        if len(data) <= self.fmt.max_lval_record:
            self.counts.single_page_memos += 1
            return struct.pack("<III", len(data) | LONG_SINGLE, lval.place(data), 0)
        self.counts.chained_memos += 1
        step = self.fmt.max_chain_chunk
        chunks = [data[k:k + step] for k in range(0, len(data), step)]
        pointer = 0
        for chunk in reversed(chunks):
            pointer = lval.place(struct.pack("<I", pointer) + chunk)
        return struct.pack("<III", len(data), pointer, 0)

    def finish(self, header: bytes) -> list[bytes]:
        """Fill in the header, the global usage map and the map pages; every page is written."""
        self.pages[0] = header
        self.pages[1] = _data_page(self.fmt, b"\x00" * 4, [(_map_row(self.fmt, []), 0)])
        for number in self.map_pages:
            rows = [row for pointer, row in sorted(self.maps) if pointer >> 8 == number]
            self.pages[number] = _data_page(self.fmt, b"\x00" * 4, [(row, 0) for row in rows])
        pages = [p for p in self.pages if p is not None]
        if len(pages) != len(self.pages):
            raise RuntimeError("a page was allocated and never written")
        self.stats.pages = len(pages)
        return pages
