"""Builders for real document files used by the rules tests (docx, xlsx, pptx, pdf, eml, archives)."""

from __future__ import annotations

import email
import email.policy
import gzip
import io
import random
import re
import subprocess
import tarfile
import zipfile
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from xml.sax.saxutils import escape

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
CONTENT_TYPES = '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'


def _package(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        for name, xml in parts.items():
            archive.writestr(name, xml)
    return buffer.getvalue()


def docx(paragraphs: list[str]) -> bytes:
    body = "".join(f"<w:p><w:r><w:t>{escape(p)}</w:t></w:r></w:p>" for p in paragraphs)
    return _package({"word/document.xml": f'<?xml version="1.0"?><w:document {W}><w:body>{body}</w:body></w:document>'})


#: A docx table cell: text, (text, grid columns it spans), or the rows of a table nested in it.
DocxCell = str | tuple[str, int] | list[list["DocxCell"]]


def _docx_cell(cell: DocxCell) -> str:
    if isinstance(cell, list):
        return f"<w:tc>{docx_table_xml(cell)}<w:p/></w:tc>"
    text, span = cell if isinstance(cell, tuple) else (cell, 1)
    props = f'<w:tcPr><w:gridSpan w:val="{span}"/></w:tcPr>' if span != 1 else ""
    paragraphs = "".join(f"<w:p><w:r><w:t>{escape(line)}</w:t></w:r></w:p>" for line in text.split("\n"))
    return f"<w:tc>{props}{paragraphs}</w:tc>"


def docx_table_xml(rows: list[list[DocxCell]]) -> str:
    return "<w:tbl><w:tblPr/>" + "".join(f"<w:tr>{''.join(map(_docx_cell, row))}</w:tr>" for row in rows) + "</w:tbl>"


def docx_with_table(rows: list[list[DocxCell]], before: str = "Payroll", after: str = "Signed") -> bytes:
    """A docx of a paragraph, a table (``w:tbl``, one ``w:tc`` per cell, merged cells as ``gridSpan``)
    and a paragraph."""
    return docx_body(f"<w:p><w:r><w:t>{escape(before)}</w:t></w:r></w:p>{docx_table_xml(rows)}"
                     f"<w:p><w:r><w:t>{escape(after)}</w:t></w:r></w:p>")


def docx_body(body: str) -> bytes:
    """A docx whose ``w:body`` is the given WordprocessingML."""
    return _package({"word/document.xml": f'<?xml version="1.0"?><w:document {W}><w:body>{body}</w:body></w:document>'})


def pptx_table(rows: list[list[str]]) -> bytes:
    """A one-slide pptx holding a table (``a:tbl`` in a graphic frame)."""
    ns = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
    cells = "".join("<a:tr>" + "".join(f"<a:tc><a:txBody><a:p><a:r><a:t>{escape(c)}</a:t></a:r></a:p></a:txBody></a:tc>"
                                       for c in row) + "</a:tr>" for row in rows)
    slide = f"<sld {ns}><a:p><a:r><a:t>Slide</a:t></a:r></a:p><a:graphic><a:tbl>{cells}</a:tbl></a:graphic></sld>"
    return _package({"ppt/presentation.xml": "<presentation/>", "ppt/slides/slide1.xml": slide})


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _sheet_xml(rows: list[list[str]], strings: list[str], ns: str) -> str:
    """Rows of shared-string cells with real references (``B7``); empty cells and empty rows are
    left out, as Excel does, so a reader must place cells by reference."""
    out = []
    for r, row in enumerate(rows, 1):
        cells = []
        for c, value in enumerate(row):
            if value:
                strings.append(value)
                cells.append(f'<c r="{_column_letters(c)}{r}" t="s"><v>{len(strings) - 1}</v></c>')
        if cells:
            out.append(f'<row r="{r}">{"".join(cells)}</row>')
    return f"<worksheet {ns}><sheetData>{''.join(out)}</sheetData></worksheet>"


def xlsx(rows: list[list[str]], *more_sheets: list[list[str]]) -> bytes:
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    strings: list[str] = []
    sheets = {f"xl/worksheets/sheet{i}.xml": _sheet_xml(sheet, strings, ns)
              for i, sheet in enumerate((rows, *more_sheets), 1)}
    shared = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    return _package({"xl/workbook.xml": f"<workbook {ns}/>", "xl/sharedStrings.xml": f"<sst {ns}>{shared}</sst>", **sheets})


def pptx(slides: list[str]) -> bytes:
    ns = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
    parts = {"ppt/presentation.xml": "<presentation/>"}
    for i, text in enumerate(slides, 1):
        parts[f"ppt/slides/slide{i}.xml"] = f"<sld {ns}><a:p><a:r><a:t>{escape(text)}</a:t></a:r></a:p></sld>"
    return _package(parts)


def pdf(lines: list[str]) -> bytes:
    """A real one-page PDF with a Helvetica text layer, cross-reference table and trailer."""
    return pdf_page("BT /F1 11 Tf 50 780 Td 14 TL " + " ".join(f"({line}) '" for line in lines) + " ET")


def pdf_page(ops: str) -> bytes:
    """A one-page PDF drawing the content stream `ops`, with Helvetica as font /F1."""
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(ops)} >>\nstream\n{ops}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode())
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    out.write("".join(f"{o:010d} 00000 n \n" for o in offsets).encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def encrypted_pdf(lines: list[str], password: str = "s3cret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf(lines))))
    writer.encrypt(user_password=password, owner_password=password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_docx(paragraphs: list[str], password: str = "s3cret") -> bytes:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    source = OOXMLFile(io.BytesIO(docx(paragraphs)))
    source.encrypt(password, out)
    return out.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def mark_zip_encrypted(data: bytes) -> bytes:
    """Set the 'encrypted' flag bit in every local and central header (what zip -e produces)."""
    raw = bytearray(data)
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        position = raw.find(signature)
        while position >= 0:
            raw[position + flag_offset] |= 0x01
            position = raw.find(signature, position + 4)
    return bytes(raw)


def tar_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def tar_gz_of(members: dict[str, bytes]) -> bytes:
    return gzip.compress(tar_of(members))


def eml(body: str, attachments: dict[str, bytes]) -> bytes:
    message = EmailMessage()
    message["From"] = "alice@example.com"
    message["To"] = "bob@example.org"
    message["Subject"] = "quarterly numbers"
    message.set_content(body)
    for name, data in attachments.items():
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes()


def xlsx_number_formats(header: list[str], rows: list[list[tuple[str, str | None]]]) -> bytes:
    """A sheet whose header row is text and whose other cells are numbers as Excel stores them
    (``<c s="1"><v>21000021</v></c>``), each with a custom number format (None: General), declared
    in ``xl/styles.xml`` the way Excel writes it (``numFmt`` ids from 164, one ``xf`` per format)."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    codes = sorted({code for row in rows for _, code in row if code is not None})
    style = {code: i + 1 for i, code in enumerate(codes)}
    num_fmts = "".join(f'<numFmt numFmtId="{164 + i}" formatCode="{escape(code, {chr(34): "&quot;"})}"/>'
                       for i, code in enumerate(codes))
    xfs = '<xf numFmtId="0"/>' + "".join(f'<xf numFmtId="{164 + i}" applyNumberFormat="1"/>' for i in range(len(codes)))
    styles = f'<styleSheet {ns}><numFmts count="{len(codes)}">{num_fmts}</numFmts><cellXfs>{xfs}</cellXfs></styleSheet>'
    strings = list(header)
    out = ['<row r="1">' + "".join(f'<c r="{_column_letters(c)}1" t="s"><v>{c}</v></c>' for c in range(len(header))) + "</row>"]
    for r, row in enumerate(rows, 2):
        cells = "".join(f'<c r="{_column_letters(c)}{r}"{f" s={chr(34)}{style[code]}{chr(34)}" if code else ""}><v>{value}</v></c>'
                        for c, (value, code) in enumerate(row))
        out.append(f'<row r="{r}">{cells}</row>')
    sheet = f"<worksheet {ns}><sheetData>{''.join(out)}</sheetData></worksheet>"
    shared = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    return _package({"xl/workbook.xml": f"<workbook {ns}/>", "xl/sharedStrings.xml": f"<sst {ns}>{shared}</sst>",
                     "xl/styles.xml": styles, "xl/worksheets/sheet1.xml": sheet})


DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DROID = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"  # CJK; it has no Latin digits


def screenshot(lines: list[str], fmt: str = "PNG", size: int = 22, *, width: int = 900, font: str = DEJAVU,
               quality: int = 75) -> bytes:
    """Dark text on a light page, as a screenshot of a document shows it: Latin in `font`,
    Chinese in Droid Sans Fallback, as a browser falls back (`make test` installs both fonts)."""
    from PIL import Image, ImageDraw, ImageFont

    latin, chinese = ImageFont.truetype(font, size), ImageFont.truetype(DROID, size)
    img = Image.new("RGB", (width, 60 + 2 * size * len(lines)), (250, 250, 250))
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        x = 30.0
        for char in line:
            face = chinese if ord(char) >= 0x2E80 else latin
            draw.text((x, 30 + 2 * size * i), char, fill=(20, 20, 20), font=face)
            x += face.getlength(char)
    out = io.BytesIO()
    img.save(out, fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return out.getvalue()


def with_media(package: bytes, media: dict[str, bytes]) -> bytes:
    """An Office file with pictures added under its media folder (`word/media/image1.png`...)."""
    buffer = io.BytesIO(package)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        for name, data in media.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def damaged(original: bytes, seed: str, count: int, *, most_flips: int, cut_chance: float,
            shortest: int = 1) -> Iterator[bytes]:
    """`count` copies of `original` with 1 to `most_flips` bytes set at random and, with
    `cut_chance`, cut short (to no fewer than `shortest` bytes); the same copies for the same seed."""
    rng = random.Random(seed)
    for _ in range(count):
        data = bytearray(original)
        for _ in range(rng.randint(1, most_flips)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < cut_chance:
            data = data[: rng.randrange(shortest, len(data))]
        yield bytes(data)


def varint(value: int) -> bytes:
    """An unsigned LEB128 number: 7 bits a byte, low first (RAR 5.0's vint, protobuf's varint)."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def unar_files(archive: bytes, folder: Path) -> dict[str, bytes]:
    """What The Unarchiver's `unar` (an independent RAR reader) extracts from `archive`, by path."""
    from tests.fixtures.realparts import require_binary

    unar = require_binary("unar", "unar")
    source, out = folder / "a.rar", folder / "out"
    source.write_bytes(archive)
    run = subprocess.run([unar, "-q", "-f", "-D", "-o", str(out), str(source)], capture_output=True, text=True,
                         check=False, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def readpst_messages(pst: bytes, folder: Path) -> dict[str, list[EmailMessage]]:
    """What libpst's `readpst` (an independent .pst reader) finds in `pst`: the messages of each
    folder, by its path below the IPM subtree ("Inbox/Sub"), parsed from the .eml files of
    `readpst -e` (attachments and embedded messages are MIME parts there; bodies are UTF-8 by -8,
    and 8-bit strings of ANSI files without a code page, such as folder names, read as cp1252).

    readpst writes an embedded message mbox-style, after a `>From "sender" date` line that is not a
    header; that line is dropped so that `email` parses the embedded message's headers."""
    from tests.fixtures.realparts import require_binary

    readpst = require_binary("readpst", "pst-utils")
    source, out = folder / "a.pst", folder / "readpst"
    source.write_bytes(pst)
    out.mkdir()
    run = subprocess.run([readpst, "-q", "-8", "-C", "windows-1252", "-e", "-D", "-b", "-j", "0", "-o", str(out), str(source)],
                         capture_output=True, text=True, check=False, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    found: dict[str, list[EmailMessage]] = {}
    for eml in sorted(out.rglob("*.eml"), key=lambda p: (p.parent, int(p.stem))):
        data = re.sub(rb'(?m)^>From "[^\n]*\n', b"", eml.read_bytes())
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        path = eml.parent.relative_to(out).as_posix().partition("/")[2]  # below the store's folder
        found.setdefault(path, []).append(message)
    return found


def x86_like(size: int) -> bytes:
    """Machine-code-like bytes: calls (E8) and jumps (E9) to small absolute addresses, what the x86
    filters of RAR (and 7z's BCJ) are for."""
    rng = random.Random(7)
    out = bytearray()
    while len(out) < size:
        out += rng.choice((b"\x55\x89\xe5", b"\x8b\x45\x08", b"\xc3", b"\x90"))
        if rng.random() < 0.3:
            out += bytes([rng.choice((0xE8, 0xE9))]) + rng.randint(0, 0x8000).to_bytes(4, "little")
    return bytes(out[:size])


def arm_like(size: int) -> bytes:
    """32-bit words, some of them ARM BL instructions (top byte 0xEB)."""
    rng = random.Random(8)
    return b"".join(rng.randint(0, 0xFFFFFF).to_bytes(3, "little") + bytes([rng.choice((0xEB, 0xE5, 0xE1))])
                    for _ in range(size // 4))
