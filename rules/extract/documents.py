"""PDF and e-mail."""

from __future__ import annotations

import email
import email.policy
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from io import BytesIO
from typing import TYPE_CHECKING

from rules.extract.budget import Budget, EncryptedContent, Unscannable
from rules.extract.images import MIN_PICTURE_SIDE
from rules.extract.markup import html_text, known_encoding
from rules.extract.pdf_runs import LineStarts, page_rotation, positioned_runs
from rules.extract.pdf_tables import table_text

if TYPE_CHECKING:
    from pypdf import PageObject

Attachment = tuple[str, bytes]


def pdf_text(data: bytes, budget: Budget, what: str) -> tuple[str, str | None]:
    """Text of a PDF and what could not be read (`pdf_content` without the attachments)."""
    text, problem, _ = pdf_content(data, budget, what)
    return text, problem


def pdf_content(data: bytes, budget: Budget, what: str) -> tuple[str, str | None, list[Attachment]]:
    """Text of a PDF, page by page, within the page and time caps, what could not be read
    (None when all of it was), and the files attached to it for the caller to extract in turn
    (`_attachments`). When the limits carry OCR, scanned pages (a picture and next to no
    text) are read whole, and the pictures on the other pages (a screenshot in a report) are read
    one by one, their text after their page's; the text layer is kept whatever becomes of the OCR."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise EncryptedContent(f"{what}: password-protected PDF")
        pages = reader.pages
        if len(pages) > budget.limits.max_pdf_pages:
            raise Unscannable(f"{what}: {len(pages)} pages, above the limit of {budget.limits.max_pdf_pages}")
        texts: list[str] = []
        scanned: list[int] = []
        pictures: dict[int, Picture] = {}  # by object number: a logo on every page is read once
        for number, page in enumerate(pages, 1):
            budget.check_time()
            text = _page_text(page, budget)
            budget.spend(len(text), what)
            texts.append(text)
            drawn = _pictures(page, number)
            if len(text.strip()) < SCANNED_PAGE_CHARS and drawn:
                scanned.append(number)
            else:
                for picture in drawn:
                    if picture.number is not None and min(picture.size) >= MIN_PICTURE_SIDE:
                        pictures.setdefault(picture.number, picture)
    except (EncryptedContent, Unscannable):
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError,
            NotImplementedError, OSError) as exc:
        raise Unscannable(f"{what}: malformed PDF ({type(exc).__name__}: {exc})") from None
    fields = _form_fields(reader, what)
    if fields:
        texts.append(fields)
        budget.spend(len(fields), what)
    attachments, unread = _attachments(reader, budget, what)
    problems = [_read_scanned(data, tuple(scanned), texts, budget, what) if scanned else None,
                _read_pictures(data, list(pictures.values()), texts, budget, what) if pictures else None, unread]
    return "\n".join(texts), "; ".join(p for p in problems if p) or None, attachments


#: Form fields read from one PDF, at most.
MAX_FORM_FIELDS = 10_000


def _form_fields(reader: object, what: str) -> str:
    """The values typed into a PDF form (XFA data, then AcroForm fields), a field a line as
    "name: value": a filled form
    keeps them in its fields, not in the page's text, until it is flattened. The field's name
    (or its tooltip) stays beside the value, where it counts as a context word."""
    from pypdf.errors import PyPdfError

    try:
        fields = reader.get_fields() or {}  # type: ignore[attr-defined]
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        return ""
    lines = _xfa_data(reader)
    for name, field in list(fields.items())[:MAX_FORM_FIELDS]:
        value = field.get("/V") if hasattr(field, "get") else None
        if value is None or value == "":
            continue
        shown = " ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        label = str(field.get("/TU") or name)
        lines.append(f"{label}: {shown.lstrip('/')}")
    return "\n".join(lines)


def _xfa_data(reader: object) -> list[str]:
    """The data of an XFA form (Adobe LiveCycle: the `datasets` packet of the AcroForm's `/XFA`
    array), a value a line as "field: value"."""
    from pypdf.errors import PyPdfError

    from rules.extract.markup import local_name, parse_xml

    try:
        packets = reader.trailer["/Root"]["/AcroForm"]["/XFA"]  # type: ignore[attr-defined]
        pairs = list(packets) if isinstance(packets, list) else []
        stream = next((pairs[i + 1] for i in range(0, len(pairs) - 1, 2) if str(pairs[i]) == "datasets"), None)
        if stream is None:
            return []
        root = parse_xml(stream.get_object().get_data(), "XFA datasets")
    except (PyPdfError, Unscannable, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        return []
    return [f"{local_name(node.tag)}: {node.text.strip()}" for node in root.iter()
            if node.text and node.text.strip() and not len(node)][:MAX_FORM_FIELDS]


def _attachments(reader: object, budget: Budget, what: str) -> tuple[list[Attachment], str | None]:
    """The files attached to a PDF: in its document-level list (`/EmbeddedFiles`, what `pdfattach`
    and Acrobat's attachments pane write) and as file-attachment annotations on its pages (a
    paperclip on the page), each once; and what could not be read. Decoding is capped by pypdf's
    own stream limits, and each file counts against the entry and expansion budgets."""
    from pypdf.errors import PyPdfError

    found: dict[tuple[str, int, int], Attachment] = {}
    try:
        for name, contents in reader.attachments.items():  # type: ignore[attr-defined]
            for content in contents:
                _attach(found, str(name), content, budget, what)
        for page in reader.pages:  # type: ignore[attr-defined]
            for annotation in page.get("/Annots") or []:
                budget.check_time()
                note = annotation.get_object()
                if note.get("/Subtype") != "/FileAttachment" or "/FS" not in note:
                    continue
                spec = note["/FS"].get_object()
                embedded = spec.get("/EF", {}).get_object()
                stream = embedded.get("/UF") or embedded.get("/F")
                if stream is not None:
                    _attach(found, str(spec.get("/UF") or spec.get("/F") or "attachment"),
                            stream.get_object().get_data(), budget, what)
    except Unscannable as exc:  # the budget: the pages' text is kept
        return list(found.values()), str(exc)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError,
            NotImplementedError, OSError) as exc:
        return list(found.values()), f"{what}: attached files could not all be read ({type(exc).__name__}: {exc})"
    return list(found.values()), None


def _attach(found: dict[tuple[str, int, int], Attachment], name: str, content: bytes, budget: Budget, what: str) -> None:
    key = (name, len(content), hash(content))
    if key in found:
        return
    budget.enter(what)
    budget.spend(len(content), what)
    found[key] = (name.replace("/", "_").replace("\\", "_") or "attachment", content)


@dataclass(frozen=True, slots=True)
class Picture:
    """An image XObject a page draws: its page (from 1), object number (None when it is not an
    indirect object) and size in pixels, as its dictionary says (nothing is decoded here)."""

    page: int
    number: int | None
    size: tuple[int, int]


def _pictures(page: PageObject, number: int) -> list[Picture]:
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    if xobjects is None:
        return []
    found = []
    for ref in xobjects.get_object().values():
        xobject = ref.get_object()
        if xobject.get("/Subtype") != "/Image":
            continue
        size = (_number(xobject.get("/Width")), _number(xobject.get("/Height")))
        found.append(Picture(number, getattr(ref, "idnum", None), size))
    return found


def _number(value: object) -> int:
    value = value.get_object() if hasattr(value, "get_object") else value
    return int(value) if isinstance(value, (int, float)) else 0


def _read_scanned(data: bytes, scanned: tuple[int, ...], texts: list[str], budget: Budget, what: str) -> str | None:
    """Put the OCR text of the scanned pages (at most `max_ocr_pages`) in place of their text;
    what was not read, if anything."""
    ocr_pages, limit = budget.limits.ocr_pages, budget.limits.max_ocr_pages
    if ocr_pages is None:
        return None
    try:
        read = ocr_pages(data, scanned[:limit], budget.seconds_left())
    except Unscannable as exc:
        return f"{what}: scanned pages {', '.join(map(str, scanned[:limit]))}: {exc}"
    for number, text in zip(scanned, read, strict=False):
        texts[number - 1] = text
    budget.spend(sum(map(len, read)), what)
    if len(scanned) > limit:
        return f"{what}: {len(scanned)} scanned pages; OCR read the first {limit}"
    return None


def _read_pictures(data: bytes, pictures: list[Picture], texts: list[str], budget: Budget, what: str) -> str | None:
    """Add the OCR text of the pictures (at most `max_ocr_pages`, none over the pixel limit) to
    their pages' text; what was not read, if anything."""
    ocr_pictures, limits = budget.limits.ocr_pictures, budget.limits
    if ocr_pictures is None:
        return None
    problems = [f"{what}: picture {p.number} on page {p.page}: {p.size[0]} x {p.size[1]} pixels, above the limit "
                f"of {limits.max_image_pixels:,}" for p in pictures if p.size[0] * p.size[1] > limits.max_image_pixels]
    readable = [p for p in pictures if p.size[0] * p.size[1] <= limits.max_image_pixels]
    chosen = readable[:limits.max_ocr_pages]
    if len(readable) > len(chosen):
        problems.append(f"{what}: {len(readable)} pictures on pages with text; OCR read the first {len(chosen)}")
    try:
        read = ocr_pictures(data, tuple((p.page, p.number or 0) for p in chosen), budget.seconds_left()) if chosen else []
    except Unscannable as exc:
        pages = sorted({p.page for p in chosen})
        return "; ".join([f"{what}: pictures on pages {', '.join(map(str, pages))}: {exc}", *problems])
    for picture, text in zip(chosen, read, strict=False):
        if text.strip():
            texts[picture.page - 1] += "\n" + text
    budget.spend(sum(map(len, read)), what)
    return "; ".join(problems) or None


#: A page with fewer characters of text than this and a picture is read by OCR, when there is OCR.
SCANNED_PAGE_CHARS = 16


def _page_text(page: PageObject, budget: Budget) -> str:
    """pypdf's plain text of the page; where the page may hold a table and its positioned text lays
    out as one, the page with the table's rows as tab-separated cells (`rules.extract.pdf_tables`),
    provided that this keeps every character of the plain text (the layout reading misses text in
    form XObjects, rotated text and text in fonts it cannot measure)."""
    starts = LineStarts()
    text = page.extract_text(visitor_operand_after=starts.see) or ""
    if not starts.several() and not page_rotation(page):  # (lines of a turned page run along y)
        return text
    budget.check_time()
    runs = positioned_runs(page)
    laid_out = table_text(runs) if runs else None
    if laid_out is None or Counter("".join(text.split())) - Counter("".join(laid_out.split())):
        return text
    return laid_out


def _headers(message: EmailMessage) -> str:
    """The address, subject and date headers as written (RFC 2047 words decoded), without
    parsing them as addresses: a malformed one (`From: alice@`) makes the standard library's
    header parser raise, and its text must still be judged."""
    from email.header import decode_header, make_header

    names = ("from", "to", "cc", "bcc", "reply-to", "subject", "date")
    lines = []
    for name, value in message.raw_items():
        if name.lower() in names:
            try:
                value = str(make_header(decode_header(str(value))))
            except (ValueError, LookupError, UnicodeError):
                value = str(value)
            lines.append(f"{name}: {' '.join(value.split())}")
    return "\n".join(lines)


def _parts(message: EmailMessage) -> Iterator[EmailMessage]:
    for part in message.walk():
        if isinstance(part, EmailMessage) and not part.is_multipart():
            yield part


def email_content(data: bytes, budget: Budget, what: str) -> tuple[str, list[Attachment]]:
    """Headers and bodies as text; attachments returned for the caller to extract in turn. The
    standard library parses headers when they are first read, and a malformed one can raise then
    (an IndexError deep in its header parser, found by fuzzing): any of that is unscannable."""
    try:
        message = email.message_from_bytes(data, policy=email.policy.default)
        if not isinstance(message, EmailMessage):
            raise Unscannable(f"{what}: malformed e-mail")
        texts, attachments = [_headers(message)], []
        for part in _parts(message):
            budget.enter(what)
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                continue
            budget.spend(len(payload), what)
            filename = part.get_filename()
            if filename or part.get_content_maintype() not in ("text",):
                attachments.append((filename or f"part.{part.get_content_subtype()}", payload))
                continue
            charset = part.get_content_charset() or "utf-8"
            body = payload.decode(charset if known_encoding(charset) else "utf-8", errors="replace")
            texts.append(html_text(body) if part.get_content_subtype() == "html" else body)
    except (ValueError, LookupError, TypeError, AttributeError) as exc:  # LookupError: IndexError, KeyError
        raise Unscannable(f"{what}: malformed e-mail ({type(exc).__name__}: {exc})") from None
    return "\n\n".join(texts), attachments



#: An mbox "From " line: the envelope sender, then the date and time it was delivered.
_MBOX_FROM = re.compile(rb"From [^ \r\n]+ +[^\r\n]*\d\d:\d\d(:\d\d)?[^\r\n]*\r?\n")
_HEADER_LINE = re.compile(rb"[A-Za-z0-9-]{1,76}:")


def is_mbox(data: bytes) -> bool:
    """Whether `data` starts as a mailbox file (Thunderbird's, `mbox` exports): a "From " line,
    then a header."""
    line = _MBOX_FROM.match(data)
    return line is not None and _HEADER_LINE.match(data, line.end()) is not None


def mbox_messages(data: bytes, budget: Budget, what: str) -> Iterator[Attachment]:
    """Each message of a mailbox file, as an e-mail, for the caller to extract in turn. A message
    starts at a "From " line at the start of the file or after a blank line; quoted ">From " lines
    of bodies are not separators."""
    starts = [0] + [m.start() + m.group(0).index(b"From ") for m in re.finditer(rb"\n\r?\nFrom ", data)
                    if _MBOX_FROM.match(data, m.start() + m.group(0).index(b"From "))]
    for number, (start, end) in enumerate(zip(starts, [*starts[1:], len(data)], strict=True), 1):
        budget.enter(what)
        message = data[start:end]
        body = message[message.index(b"\n") + 1 :] if b"\n" in message else b""
        yield f"message-{number}.eml", body
