"""The web shell: templates, render(), locale, CSRF, navigation. Imports no domain."""
