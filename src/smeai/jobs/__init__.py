"""Scheduled work without a person: `smeai jobs run` runs each due job once across every worker and host
(a lock row per job in the database), `smeai jobs list` shows last and next runs. Like cli.py this package
sits above the domains and calls their services."""
