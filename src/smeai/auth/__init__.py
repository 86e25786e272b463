"""Accounts: organisations, users, roles and permissions, sessions, API tokens, CSRF."""
