"""Running smeai in production: request logs, health and readiness, metrics (issue 17).

Not plumbing: readiness and the domain gauges read the domains' tables, so like app.py this package sits
above the domains; `create_app` installs it.
"""
