"""OCR of images: how many sensitive values tesseract gives back to the detectors, and how fast.

Each image is a form page as a screenshot shows it: eight lines "label: value", the label the
type's own context word, so that what is measured is OCR's fidelity and not the context logic.
Values are the labelled corpus's generators (Faker and our own: valid checksums). Pages are drawn
in three fonts at screen sizes (11-20 px) and saved as PNG, and as JPEG 75 as a chat app would.
A value counts as found when the detector of its type reports a finding whose characters, without
spaces and dashes, are the value's own. Seconds are the tesseract process's CPU time (one thread)
per image, and a full 1920 x 1080 page of prose at 14 px is timed on its own. Last, form pages
pasted as pictures into PDF reports (a line of prose above each), read by pdfimages and tesseract.

    .venv/bin/python -m bench.rules_ocr [--pages N]
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import statistics
import time

from bench.rules_corpus import sentence
from bench.rules_values import all_generators
from rules.detectors import scan_text
from rules.extract import Limits, extract
from rules.extract.tesseract import tesseract_ocr, with_ocr
from tests.rules.samples import screenshot

FONTS = {"sans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
         "serif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
         "mono": "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"}
SIZES = (11, 13, 16, 20)
LABELS = {"credit_card": "Card number", "cn_resident_id": "身份证号码", "iban": "IBAN", "us_ssn": "SSN",
          "email": "Email", "cn_mobile": "手机", "in_aadhaar": "Aadhaar", "uk_nhs": "NHS number"}
_PLAIN = re.compile(r"[\s\-]")


def page(rng: random.Random, generators: dict) -> tuple[list[str], list[tuple[str, str]]]:
    planted = [(kind, generators[kind](rng)) for kind in rng.sample(sorted(LABELS), 8)]
    return [f"{LABELS[kind]}: {value}" for kind, value in planted], planted


def found(text: str, planted: list[tuple[str, str]]) -> int:
    seen = {(f.detector, _PLAIN.sub("", text[f.start : f.end])) for f in scan_text(text)}
    return sum((kind, _PLAIN.sub("", value)) in seen for kind, value in planted)


def child_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=5, help="pages per font, size and format")
    args = parser.parse_args()
    ocr = tesseract_ocr()
    if ocr is None:
        raise SystemExit("tesseract-ocr is not installed (Debian: tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim)")
    limits = Limits(ocr=ocr, seconds=120)
    generators, rng = all_generators(), random.Random(20261206)
    print(f"# OCR bench, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; {args.pages} pages of 8 values per cell\n")
    print("| font | size px | PNG found | JPEG 75 found | s per page (CPU) |")
    print("|---|---|---|---|---|")
    totals = {"PNG": [0, 0], "JPEG": [0, 0]}
    for font, path in FONTS.items():
        for size in SIZES:
            cells, seconds = {}, []
            for fmt in ("PNG", "JPEG"):
                hit = total = 0
                for _ in range(args.pages):
                    lines, planted = page(rng, generators)
                    before = child_seconds()
                    result = extract(screenshot(lines, fmt, size, font=path), f"page.{fmt.lower()}", limits=limits)
                    seconds.append(child_seconds() - before)
                    hit, total = hit + found(result.text, planted), total + len(planted)
                cells[fmt] = f"{hit}/{total}"
                totals[fmt][0] += hit
                totals[fmt][1] += total
            print(f"| {font} | {size} | {cells['PNG']} | {cells['JPEG']} | {statistics.median(seconds):.2f} |")
    png, jpeg = (f"{h}/{t} ({h / t:.3f})" for h, t in totals.values())
    print(f"| **all** | | **{png}** | **{jpeg}** | |\n")
    prose = [sentence(rng, 24) for _ in range(36)]
    before = child_seconds()
    extract(screenshot(prose, "PNG", 14, width=1920), "page.png", limits=limits)
    print(f"A 1920 x 1080 page of prose at 14 px: {child_seconds() - before:.2f} s CPU.")
    pdf_reports(rng, generators, args.pages)


def pdf_reports(rng: random.Random, generators: dict, reports: int) -> None:
    """Reports of four pages, each a line of prose and a form screenshot (13 px, PNG) below it."""
    from io import BytesIO

    from fpdf import FPDF

    limits = with_ocr(Limits(seconds=120))
    if limits.ocr_pictures is None:
        print("PDF reports: skipped (poppler-utils' pdfimages is not installed)")
        return
    hit = total = 0
    seconds, wall = [], []
    for _ in range(reports):
        pdf, planted = FPDF(), []
        pdf.set_font("Helvetica", size=11)
        for _ in range(4):
            lines, values = page(rng, generators)
            planted += values
            pdf.add_page()
            pdf.multi_cell(w=180, text=sentence(rng, 16))
            pdf.image(BytesIO(screenshot(lines, "PNG", 13, font=FONTS["sans"])), x=10, y=40, w=150)
        before, started = child_seconds(), time.perf_counter()
        result = extract(bytes(pdf.output()), "report.pdf", limits=limits)
        seconds.append(child_seconds() - before)
        wall.append(time.perf_counter() - started)
        hit, total = hit + found(result.text, planted), total + len(planted)
    print(f"PDF reports with a form screenshot on each of 4 pages: {hit}/{total} ({hit / total:.3f}) values found; "
          f"{statistics.median(seconds) / 4:.2f} s CPU per picture, {statistics.median(wall):.2f} s wall per report.")


if __name__ == "__main__":
    main()
