"""Writes payroll-locked.odt and sheet-locked.ods: payroll.odt and sheet.ods saved with the password
"hunter2" by LibreOffice 7.4 through UNO (Debian's python3-uno; `soffice --convert-to` takes no
password). The unlocked ones: `soffice --headless --convert-to odt:writer8
../libreoffice_payroll.html` (renamed payroll.odt), `--convert-to ods ../legacy_office.fods`
(sheet.ods) and `--convert-to odp ../legacy_office.fodp` (slides.odp). Run from this folder
with /usr/bin/python3."""

import os
import subprocess
import time

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]

URL = "uno:socket,host=127.0.0.1,port=2002;urp;StarOffice.ComponentContext"


def prop(name: str, value: object) -> object:
    made = PropertyValue()
    made.Name, made.Value = name, value
    return made


def main() -> None:
    office = subprocess.Popen(["soffice", "--headless", "--invisible", "--norestore",
                               "--accept=socket,host=127.0.0.1,port=2002;urp;"])
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(60):
        try:
            context = resolver.resolve(URL)
            break
        except Exception:  # not listening yet
            time.sleep(0.5)
    desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
    for source, target, kind in [("payroll.odt", "payroll-locked.odt", "writer8"), ("sheet.ods", "sheet-locked.ods", "calc8")]:
        document = desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.abspath(source)), "_blank", 0,
                                                (prop("Hidden", True),))
        document.storeToURL(uno.systemPathToFileUrl(os.path.abspath(target)),
                            (prop("FilterName", kind), prop("Password", "hunter2")))
        document.close(True)
    desktop.terminate()
    office.wait(timeout=30)


if __name__ == "__main__":
    main()
