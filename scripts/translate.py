"""Fill zh_Hans translations from a Python dict file: `python scripts/translate.py CATALOG FILE.py`.

FILE.py defines T = {msgid: translation}. Only empty entries are filled; existing ones are kept.
"""

import runpy
import sys

from babel.messages.pofile import write_po

from smeai.i18n_catalogs import po_path, read_catalog, update_catalogs

if __name__ == "__main__":
    name, source = sys.argv[1], sys.argv[2]
    table = runpy.run_path(source)["T"]
    update_catalogs([name])
    catalog = read_catalog("zh_Hans", name)
    for message in catalog:
        if message.id and not message.string and message.id in table:
            message.string = table[message.id]
    with po_path("zh_Hans", name).open("wb") as fh:
        write_po(fh, catalog, width=120, sort_output=True)
    left = [m.id for m in catalog if m.id and not m.string]
    print(f"{name}: {len(left)} untranslated", *left, sep="\n  ")
