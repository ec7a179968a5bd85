"""Files inlined in HTML pages as `data:` URIs (RFC 2397): a CSV as a download link, a screenshot
as an image, a PDF in an object."""

from __future__ import annotations

import base64
import urllib.parse

import pytest

from rules.extract import Limits, extract
from rules.extract.markup import MAX_DATA_URIS, html_content
from tests.rules import samples

CARD = "4111 1111 1111 1111"
CSV = f"name,card\nAda,{CARD}\n".encode()


def b64(media: str, data: bytes) -> str:
    return f"data:{media};base64,{base64.b64encode(data).decode()}"


def test_a_csv_behind_a_download_link_is_read() -> None:
    page = f'<html><body><p>Export ready</p><a download="c.csv" href="{b64("text/csv", CSV)}">download</a></body></html>'
    result = extract(page.encode(), "export.html")
    assert result.status == "ok" and [p.path for p in result.parts] == ["export.html", "export.html/data-uri-1.csv"]
    assert CARD in result.text and "base64" not in result.text  # the file, not its encoding


def test_percent_encoded_and_pdf_and_image_uris() -> None:
    pdf = samples.pdf([f"card {CARD.replace(' ', '')}"])
    page = (f'<a href="data:text/plain,{urllib.parse.quote("resident 11010519491231002X")}">x</a>'
            f'<object data="{b64("application/pdf", pdf)}"></object><img src="{b64("image/png", samples.screenshot(["hi"]))}">')
    seen: list[int] = []
    result = extract(page.encode(), "p.html", limits=Limits(ocr=lambda data, seconds: seen.append(len(data)) or "ocr text"))
    assert [p.path for p in result.parts] == ["p.html", "p.html/data-uri-1.txt", "p.html/data-uri-2.pdf", "p.html/data-uri-3.png"]
    assert "11010519491231002X" in result.text and CARD.replace(" ", "") in result.text and seen


def test_bad_and_too_many_uris_are_bounded() -> None:
    text, files = html_content('<a href="data:nocomma">a</a><img src="data:image/png;base64,!!!">' +
                               "".join(f'<img src="data:text/plain,{n}">' for n in range(MAX_DATA_URIS + 50)))
    assert len(files) == MAX_DATA_URIS - 1  # the first, without its comma, decodes to nothing; the rest past the cap are left
    assert files[0] == ("data-uri-2.png", b"") and files[1] == ("data-uri-3.txt", b"0")


def test_a_page_of_inlined_bombs_stops_at_the_budget() -> None:
    big = b64("text/plain", b"x" * (1 << 20))
    page = "".join(f'<a href="{big}">{n}</a>' for n in range(20)).encode()
    result = extract(page, "bomb.html", limits=Limits(max_expanded_bytes=16 << 20))
    assert result.status == "unscannable" and "16777216" in (result.reason or "")


@pytest.mark.parametrize("section", ["<![DB[ x ]]>", "<![\x08w[", "<![", "<![CDATA[ fine ]]>", "<![if !IE]>"])
def test_marked_sections_python_rejects_do_not_end_the_page(section: str) -> None:
    """Found by fuzzing extract (2026-12-07): html.parser raises an AssertionError on `<![` with a
    keyword it does not know, which ended the extraction with an exception instead of a result."""
    page = f"<html><body><p>before 078-05-1120</p>{section}<p>after 4111 1111 1111 1111</p></body></html>"
    result = extract(page.encode(), "page.html")
    assert result.status == "ok", result.reason
    assert "078-05-1120" in result.text
