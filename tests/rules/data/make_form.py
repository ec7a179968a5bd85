"""Writes form_blank.pdf and form_filled.pdf with reportlab 4 (`pip install reportlab` in a scratch
venv; reportlab is no dependency of leakguard): an employee form with two AcroForm text fields,
empty in one, filled in the other (an SSN and a card number)."""

from reportlab.pdfgen import canvas  # type: ignore[import-not-found]


def form(path: str, ssn: str, card: str) -> None:
    page = canvas.Canvas(path)
    page.drawString(72, 750, "Employee form")
    page.drawString(72, 700, "SSN:")
    page.acroForm.textfield(name="ssn", tooltip="Social security number", value=ssn, x=120, y=690, width=200, height=20)
    page.drawString(72, 650, "Card:")
    page.acroForm.textfield(name="card", value=card, x=120, y=640, width=200, height=20)
    page.save()


if __name__ == "__main__":
    form("form_blank.pdf", "", "")
    form("form_filled.pdf", "078-05-1120", "4111 1111 1111 1111")
