"""`make i18n`: extract msgids into every domain's catalogs, keeping translations."""

from smeai.i18n_catalogs import update_catalogs

if __name__ == "__main__":
    for name, n in update_catalogs().items():
        print(f"{name}: {n} untranslated zh_Hans entries" if n else f"{name}: complete")
