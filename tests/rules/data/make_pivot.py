"""Writes pivot_only.xlsx with LibreOffice 7.4 through UNO (Debian's python3-uno): a sheet of
names, routing numbers and card numbers, a pivot table over it (names and routing numbers as row
fields, the cards as its data field, so the table shows counts, not cards), then the source sheet
deleted, as one sends a pivot report. Run with /usr/bin/python3."""

import os
import subprocess
import time

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]
from com.sun.star.sheet.DataPilotFieldOrientation import DATA, ROW  # type: ignore[import-not-found]
from com.sun.star.table import CellAddress, CellRangeAddress  # type: ignore[import-not-found]

URL = "uno:socket,host=127.0.0.1,port=2003;urp;StarOffice.ComponentContext"
ROWS = [("Name", "Routing number", "Card"), ("Ada", "021000021", "4111 1111 1111 1111"),
        ("Bob", "011000015", "5500 0000 0000 0004"), ("Cy", "026009593", "4012 8888 8888 1881")]


def prop(name: str, value: object) -> object:
    made = PropertyValue()
    made.Name, made.Value = name, value
    return made


def main() -> None:
    office = subprocess.Popen(["soffice", "--headless", "--invisible", "--norestore",
                               "--accept=socket,host=127.0.0.1,port=2003;urp;"])
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(60):
        try:
            context = resolver.resolve(URL)
            break
        except Exception:  # not listening yet
            time.sleep(0.5)
    desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
    document = desktop.loadComponentFromURL("private:factory/scalc", "_blank", 0, (prop("Hidden", True),))
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
    desktop.terminate()
    office.wait(timeout=30)


if __name__ == "__main__":
    main()
