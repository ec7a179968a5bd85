"""Legacy binary Office files (Word 97-2003 .doc, Excel 97-2003 .xls, PowerPoint 97-2003 .ppt):
OLE compound files whose streams hold the text.

* .doc: the text sits in the `WordDocument` stream in pieces that the piece table (the CLX in the
  `0Table`/`1Table` stream, found through the FIB) lists, each 8-bit (cp1252) or UTF-16. Every
  piece is read (body, headers, footnotes, comments, text boxes); table cells come out
  tab-separated, a row per line, so that a column header counts as context as in a docx.
* .xls: xlrd reads the workbook; each sheet is a table of tab-separated rows, and integers are
  shown through their cell's number format where it pads them (`rules.extract.numfmt`), as for
  xlsx.
* .ppt: the text atoms (`TextCharsAtom`, `TextBytesAtom`) of the `PowerPoint Document` stream's
  records, slides and notes.

Encrypted files (a .doc's FIB flag, an .xls's FILEPASS record, a .ppt's encrypted summary) give
`EncryptedContent`; anything malformed `Unscannable`.
"""

from __future__ import annotations

import datetime
import re
import struct
from collections.abc import Iterator

from rules.extract.budget import Budget, EncryptedContent, Unscannable

#: What a compound file is, by the stream that makes it so.
_MAIN_STREAMS = (("WordDocument", "doc"), ("Workbook", "xls"), ("Book", "xls"), ("PowerPoint Document", "ppt"))
_ENCRYPTED_OOXML = ("EncryptionInfo", "EncryptedPackage")


def compound_kind(data: bytes, what: str) -> tuple[str, object]:
    """("doc" | "xls" | "ppt", the open olefile) for a legacy Office file; `EncryptedContent` for
    an encrypted OOXML package (a CFB holding EncryptionInfo), `Unscannable` for anything else."""
    import olefile

    try:
        ole = olefile.OleFileIO(data)
        streams = {"/".join(path) for path in ole.listdir(streams=True, storages=False)}
    except (OSError, ValueError, IndexError, struct.error, RecursionError) as exc:
        if any(name.encode("utf-16-le") in data for name in _ENCRYPTED_OOXML):  # its directory, damaged
            raise EncryptedContent(f"{what}: password-protected Office document") from None
        raise Unscannable(f"{what}: corrupt compound file ({exc})") from None
    if any(name in streams for name in _ENCRYPTED_OOXML):
        raise EncryptedContent(f"{what}: password-protected Office document")
    for name, kind in _MAIN_STREAMS:
        if name in streams:
            return kind, ole
    raise Unscannable(f"{what}: a compound file that is no Word, Excel or PowerPoint document")


def legacy_text(data: bytes, budget: Budget, what: str) -> str:
    """The text of a .doc, .xls or .ppt."""
    kind, ole = compound_kind(data, what)
    try:
        if kind == "doc":
            text = _doc_text(ole, len(data), what)
        elif kind == "xls":
            workbook = "Workbook" if ole.exists("Workbook") else "Book"  # type: ignore[attr-defined]
            text = _xls_text(_stream(ole, workbook, len(data), what), budget, what)
        else:
            text = _ppt_text(ole, len(data), budget, what)
    except (EncryptedContent, Unscannable):
        raise
    except (OSError, ValueError, IndexError, KeyError, struct.error, UnicodeError, RecursionError, AssertionError,
            TypeError, OverflowError, LookupError) as exc:
        raise Unscannable(f"{what}: malformed {kind} ({type(exc).__name__}: {exc})") from None
    budget.spend(len(text), what)
    return text


def _stream(ole: object, name: str, file_size: int, what: str) -> bytes:
    """A stream's bytes; a stream said to be larger than the whole file is refused before it is
    read (a damaged sector chain that loops would otherwise be followed to the declared size)."""
    if not ole.exists(name):  # type: ignore[attr-defined]
        raise Unscannable(f"{what}: the {name} stream is missing")
    size = ole.get_size(name)  # type: ignore[attr-defined]
    if size > file_size:
        raise Unscannable(f"{what}: the {name} stream claims {size} bytes in a file of {file_size}")
    return ole.openstream(name).read()  # type: ignore[attr-defined, no-any-return]


# --- Word -------------------------------------------------------------------------------------

_FIB_FLAGS = 0x0A
_ENCRYPTED, _OBFUSCATED, _TABLE_1 = 0x0100, 0x8000, 0x0200
_CLX_PAIR = 33  # fcClx/lcbClx: the 34th pair of FibRgFcLcb97
# Word's marks in the text: cell ends, field delimiters, breaks, object anchors.
_WORD_MARKS = str.maketrans({"\r": "\n", "\x0b": "\n", "\x0c": "\n", "\x0e": "\n", "\x13": " ", "\x14": " ",
                             "\x15": " ", "\x1e": "-", "\x1f": None, "\xa0": " ", "\x01": None, "\x02": None,
                             "\x05": None, "\x08": None, "\x00": None})


def _doc_text(ole: object, file_size: int, what: str) -> str:
    word = _stream(ole, "WordDocument", file_size, what)
    if len(word) < 0x9A or struct.unpack_from("<H", word, 0)[0] != 0xA5EC:
        raise Unscannable(f"{what}: not a Word 97-2003 document (no FIB)")
    (flags,) = struct.unpack_from("<H", word, _FIB_FLAGS)
    if flags & (_ENCRYPTED | _OBFUSCATED):
        raise EncryptedContent(f"{what}: password-protected Word document")
    table = _stream(ole, "1Table" if flags & _TABLE_1 else "0Table", file_size, what)
    offset = 0x20
    (csw,) = struct.unpack_from("<H", word, offset)
    offset += 2 + csw * 2
    (cslw,) = struct.unpack_from("<H", word, offset)
    offset += 2 + cslw * 4
    (pairs,) = struct.unpack_from("<H", word, offset)
    if pairs <= _CLX_PAIR:
        raise Unscannable(f"{what}: the FIB has no piece table")
    fc_clx, lcb_clx = struct.unpack_from("<II", word, offset + 2 + _CLX_PAIR * 8)
    return _word_tables(_piece_text(word, table[fc_clx : fc_clx + lcb_clx], what)).translate(_WORD_MARKS)


def _piece_text(word: bytes, clx: bytes, what: str) -> str:
    """The document's characters, piece after piece, from the `WordDocument` stream `word`."""
    pieces, total = [], 0
    for start, length, compressed in _pieces(clx, what):
        total += length
        if total > len(word):  # pieces of a real document do not overlap: this one repeats text
            raise Unscannable(f"{what}: the piece table lists more text than the document holds")
        if compressed:
            pieces.append(word[start : start + length].decode("cp1252", errors="replace"))
        else:
            pieces.append(word[start : start + 2 * length].decode("utf-16-le", errors="replace"))
    return "".join(pieces)


def _pieces(clx: bytes, what: str) -> Iterator[tuple[int, int, bool]]:
    """(byte offset, characters, 8-bit?) of each piece of the CLX's piece table."""
    at = 0
    while at < len(clx) and clx[at] == 0x01:  # Prc: property modifiers, skipped
        (size,) = struct.unpack_from("<h", clx, at + 1)
        at += 3 + max(size, 0)
    if at >= len(clx) or clx[at] != 0x02:
        raise Unscannable(f"{what}: no piece table in the document's CLX")
    (lcb,) = struct.unpack_from("<I", clx, at + 1)
    plc = clx[at + 5 : at + 5 + lcb]
    count = (len(plc) - 4) // 12
    cps = struct.unpack_from(f"<{count + 1}I", plc, 0)
    for n in range(count):
        (fc,) = struct.unpack_from("<I", plc, 4 * (count + 1) + 8 * n + 2)
        length = cps[n + 1] - cps[n]
        if length <= 0:
            continue
        compressed = bool(fc & 0x40000000)
        fc &= 0x3FFFFFFF
        yield (fc // 2 if compressed else fc), length, compressed


_ROW_END = re.compile("\x07\x07|\x07\r")


def _word_tables(text: str) -> str:
    """Table rows as tab-separated lines: a cell ends with \\x07 and a row with one more (an empty
    cell just before the row's end reads as the end: its row is then split, its text kept)."""
    return _ROW_END.sub("\n", text).replace("\x07", "\t")


# --- Excel ------------------------------------------------------------------------------------

def _xls_text(workbook: bytes, budget: Budget, what: str) -> str:
    """The sheets of the BIFF `Workbook` stream (olefile has read the compound file: xlrd's own
    reader follows a looping sector chain until memory runs out)."""
    import xlrd
    from xlrd.compdoc import CompDocError

    from rules.extract.numfmt import renderer

    if workbook[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise Unscannable(f"{what}: a compound file inside the workbook stream")
    try:
        book = xlrd.open_workbook(file_contents=workbook, formatting_info=True, on_demand=True, ragged_rows=True,
                                  logfile=_Quiet())  # ragged: one far cell pads no other row
        renders = {key: renderer(fmt.format_str) for key, fmt in book.format_map.items()}
        sheets = [_xls_sheet(book, index, renders, budget) for index in range(book.nsheets)]
    except xlrd.XLRDError as exc:
        if "encrypted" in str(exc).lower():
            raise EncryptedContent(f"{what}: password-protected Excel workbook") from None
        raise Unscannable(f"{what}: malformed xls ({exc})") from None
    except CompDocError as exc:
        raise Unscannable(f"{what}: malformed xls ({exc})") from None
    except Unscannable:
        raise
    except Exception as exc:  # xlrd's record parsers raise what they meet (FormulaError, found by fuzzing)
        raise Unscannable(f"{what}: malformed xls ({type(exc).__name__}: {exc})") from None
    return "\n\n".join(sheets)  # each sheet its own table


def _xls_sheet(book: object, index: int, renders: dict, budget: Budget) -> str:  # type: ignore[type-arg]
    budget.check_time()
    sheet = book.get_sheet(index)  # type: ignore[attr-defined]
    lines = []
    for row in range(sheet.nrows):
        cells = [_xls_cell(book, sheet.cell(row, col), renders) for col in range(sheet.row_len(row))]
        while cells and not cells[-1]:
            cells.pop()
        lines.append("\t".join(cells))
    book.unload_sheet(index)  # type: ignore[attr-defined]
    if any("\t" in line for line in lines):  # a one-cell row of a wider sheet stays a row of its table
        lines = [line + "\t" if line and "\t" not in line else line for line in lines]
    return "\n".join(lines)


def _xls_cell(book: object, cell: object, renders: dict) -> str:  # type: ignore[type-arg]
    import xlrd

    kind, value = cell.ctype, cell.value  # type: ignore[attr-defined]
    if kind == xlrd.XL_CELL_TEXT:
        return str(value).replace("\t", " ").replace("\n", " ")
    if kind == xlrd.XL_CELL_NUMBER:
        whole = float(value).is_integer() and abs(value) < 1e15
        stored = str(int(value)) if whole else repr(float(value))
        xf = book.xf_list[cell.xf_index] if cell.xf_index is not None else None  # type: ignore[attr-defined]
        render = renders.get(xf.format_key) if xf is not None else None
        return render(stored) if render is not None and whole and value >= 0 else stored
    if kind == xlrd.XL_CELL_DATE:
        try:
            when: datetime.datetime = xlrd.xldate.xldate_as_datetime(value, book.datemode)  # type: ignore[attr-defined]
            return when.date().isoformat() if when.time() == datetime.time() else when.isoformat(sep=" ")
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return repr(value)
    if kind == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if value else "FALSE"
    return ""


class _Quiet:
    """xlrd's log: warnings about odd records are not ours to print."""

    def write(self, text: str) -> int:
        return len(text)


# --- PowerPoint -------------------------------------------------------------------------------

_CONTAINER = 0xF
_TEXT_CHARS, _TEXT_BYTES = 0x0FA0, 0x0FA8
_MAX_NESTING = 32


def _ppt_text(ole: object, file_size: int, budget: Budget, what: str) -> str:
    if ole.exists("EncryptedSummary"):  # type: ignore[attr-defined]
        raise EncryptedContent(f"{what}: password-protected PowerPoint presentation")
    stream = _stream(ole, "PowerPoint Document", file_size, what)
    texts: list[str] = []
    _ppt_records(stream, 0, len(stream), 0, texts, budget)
    return "\n".join(t.replace("\r", "\n").replace("\x0b", "\n") for t in texts)


def _ppt_records(stream: bytes, start: int, end: int, depth: int, texts: list[str], budget: Budget) -> None:
    """Walk the records in stream[start:end], collecting text atoms, into containers."""
    at = start
    for count in range(len(stream)):  # every record takes 8 bytes at least: this ends
        if at + 8 > end:
            break
        version_instance, kind, length = struct.unpack_from("<HHI", stream, at)
        body, at = at + 8, min(at + 8 + length, end)
        if version_instance & 0xF == _CONTAINER and depth < _MAX_NESTING:
            _ppt_records(stream, body, at, depth + 1, texts, budget)
        elif kind == _TEXT_CHARS:
            texts.append(stream[body:at].decode("utf-16-le", errors="replace"))
        elif kind == _TEXT_BYTES:
            texts.append(stream[body:at].decode("latin-1"))
        if count % 4096 == 4095:
            budget.check_time()
