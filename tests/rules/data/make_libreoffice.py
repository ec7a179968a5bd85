"""Writes the fixtures that need LibreOffice 7.4 driven through UNO (Debian's python3-uno; run
from this folder with /usr/bin/python3):

- odf/payroll-locked.odt and odf/sheet-locked.ods: odf/payroll.odt and odf/sheet.ods saved with
  the password "hunter2" (`soffice --convert-to` takes no password). The unlocked ones came from
  `soffice --headless --convert-to odt:writer8 libreoffice_payroll.html` (renamed payroll.odt),
  `--convert-to ods legacy_office.fods` (sheet.ods) and `--convert-to odp legacy_office.fodp`
  (slides.odp).
- pivot_only.xlsx: a sheet of names, routing numbers and card numbers, a pivot table over it
  (names and routing numbers as row fields, the cards as its data field, so the table shows
  counts, not cards), then the source sheet deleted, as one sends a pivot report.
"""

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]
from com.sun.star.sheet.DataPilotFieldOrientation import DATA, ROW  # type: ignore[import-not-found]
from com.sun.star.table import CellAddress, CellRangeAddress  # type: ignore[import-not-found]

ACCEPT = "socket,host=127.0.0.1,port=2003;urp;"
ROWS = [("Name", "Routing number", "Card"), ("Ada", "021000021", "4111 1111 1111 1111"),
        ("Bob", "011000015", "5500 0000 0000 0004"), ("Cy", "026009593", "4012 8888 8888 1881")]


def prop(name: str, value: object) -> object:
    made = PropertyValue()
    made.Name, made.Value = name, value
    return made


@contextlib.contextmanager
def office() -> Iterator[object]:
    """A headless LibreOffice, and its desktop."""
    process = subprocess.Popen(["soffice", "--headless", "--invisible", "--norestore", f"--accept={ACCEPT}"])
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(60):
        try:
            context = resolver.resolve(f"uno:{ACCEPT}StarOffice.ComponentContext")
            break
        except Exception:  # not listening yet
            time.sleep(0.5)
    desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
    try:
        yield desktop
    finally:
        desktop.terminate()
        process.wait(timeout=30)


def locked(desktop: object) -> None:
    for source, target, kind in [("odf/payroll.odt", "odf/payroll-locked.odt", "writer8"),
                                 ("odf/sheet.ods", "odf/sheet-locked.ods", "calc8")]:
        document = desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.abspath(source)), "_blank", 0,  # type: ignore[attr-defined]
                                                (prop("Hidden", True),))
        document.storeToURL(uno.systemPathToFileUrl(os.path.abspath(target)),
                            (prop("FilterName", kind), prop("Password", "hunter2")))
        document.close(True)


def pivot_only(desktop: object) -> None:
    document = desktop.loadComponentFromURL("private:factory/scalc", "_blank", 0, (prop("Hidden", True),))  # type: ignore[attr-defined]
    sheets = document.Sheets
    source = sheets.getByIndex(0)
    for row, values in enumerate(ROWS):
        for column, value in enumerate(values):
            source.getCellByPosition(column, row).setString(value)
    sheets.insertNewByName("Pivot", 1)
    tables = sheets.getByName("Pivot").getDataPilotTables()
    descriptor = tables.createDataPilotDescriptor()
    area = CellRangeAddress()
    area.Sheet, area.StartColumn, area.StartRow, area.EndColumn, area.EndRow = 0, 0, 0, 2, len(ROWS) - 1
    descriptor.setSourceRange(area)
    for index in range(3):
        descriptor.getDataPilotFields().getByIndex(index).Orientation = ROW if index < 2 else DATA
    corner = CellAddress()
    corner.Sheet, corner.Column, corner.Row = 1, 0, 0
    tables.insertNewByName("DataPilot1", corner, descriptor)
    sheets.removeByName("Sheet1")
    document.storeToURL(uno.systemPathToFileUrl(os.path.abspath("pivot_only.xlsx")),
                        (prop("FilterName", "Calc MS Excel 2007 XML"),))
    document.close(True)


if __name__ == "__main__":
    with office() as desktop:
        locked(desktop)
        pivot_only(desktop)
