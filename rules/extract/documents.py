"""PDF and e-mail."""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from io import BytesIO
from typing import TYPE_CHECKING

from rules.extract.budget import Budget, EncryptedContent, Unscannable
from rules.extract.markup import html_text
from rules.extract.pdf_runs import LineStarts, page_rotation, positioned_runs
from rules.extract.pdf_tables import table_text

if TYPE_CHECKING:
    from pypdf import PageObject

Attachment = tuple[str, bytes]


def pdf_text(data: bytes, budget: Budget, what: str) -> tuple[str, str | None]:
    """Text of a PDF, page by page, within the page and time caps, and what could not be read
    (None when all of it was). Scanned pages (a picture and next to no text) are read by OCR when
    the limits carry it; the text of the other pages is kept whatever becomes of the OCR."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise EncryptedContent(f"{what}: password-protected PDF")
        pages = reader.pages
        if len(pages) > budget.limits.max_pdf_pages:
            raise Unscannable(f"{what}: {len(pages)} pages, above the limit of {budget.limits.max_pdf_pages}")
        texts = []
        for page in pages:
            budget.check_time()
            text = _page_text(page, budget)
            budget.spend(len(text), what)
            texts.append(text)
        scanned = tuple(n for n, (page, text) in enumerate(zip(pages, texts, strict=True), 1)
                        if len(text.strip()) < SCANNED_PAGE_CHARS and _has_pictures(page))
    except (EncryptedContent, Unscannable):
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError,
            NotImplementedError, OSError) as exc:
        raise Unscannable(f"{what}: malformed PDF ({type(exc).__name__}: {exc})") from None
    problem = _read_scanned(data, scanned, texts, budget, what) if scanned and budget.limits.ocr_pages else None
    return "\n".join(texts), problem


def _has_pictures(page: PageObject) -> bool:
    """Whether the page draws an image XObject (a scanner's page is one picture)."""
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    if xobjects is None:
        return False
    return any(x.get_object().get("/Subtype") == "/Image" for x in xobjects.get_object().values())


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
    names = ("From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date")
    return "\n".join(f"{name}: {message[name]}" for name in names if message[name] is not None)


def _parts(message: EmailMessage) -> Iterator[EmailMessage]:
    for part in message.walk():
        if isinstance(part, EmailMessage) and not part.is_multipart():
            yield part


def email_content(data: bytes, budget: Budget, what: str) -> tuple[str, list[Attachment]]:
    """Headers and bodies as text; attachments returned for the caller to extract in turn."""
    try:
        message = email.message_from_bytes(data, policy=email.policy.default)
    except (ValueError, IndexError, TypeError) as exc:
        raise Unscannable(f"{what}: malformed e-mail ({exc})") from None
    if not isinstance(message, EmailMessage):
        raise Unscannable(f"{what}: malformed e-mail")
    texts, attachments = [_headers(message)], []
    for part in _parts(message):
        budget.enter(what)
        try:
            payload = part.get_payload(decode=True)
        except (ValueError, LookupError) as exc:
            raise Unscannable(f"{what}: undecodable part ({exc})") from None
        if not isinstance(payload, bytes):
            continue
        budget.spend(len(payload), what)
        filename = part.get_filename()
        if filename or part.get_content_maintype() not in ("text",):
            attachments.append((filename or f"part.{part.get_content_subtype()}", payload))
            continue
        charset = part.get_content_charset() or "utf-8"
        body = payload.decode(charset if _known_charset(charset) else "utf-8", errors="replace")
        texts.append(html_text(body) if part.get_content_subtype() == "html" else body)
    return "\n\n".join(texts), attachments


def _known_charset(charset: str) -> bool:
    import codecs

    try:
        codecs.lookup(charset)
    except LookupError:
        return False
    return True
