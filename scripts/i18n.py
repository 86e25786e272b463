"""`make i18n` or `python scripts/i18n.py [CATALOG ...]`: extract msgids into the catalogs, keeping
translations. With names, only those catalogs (core, catalog, survey, ...) are touched."""

import sys

from smeai.i18n_catalogs import update_catalogs

if __name__ == "__main__":
    for name, n in update_catalogs(sys.argv[1:] or None).items():
        print(f"{name}: {n} untranslated zh_Hans entries" if n else f"{name}: complete")
