"""Settings: the only reader of the environment (SMEAI_* variables and `.env`).

Settings are read one way, once: `get_settings()` reads them once per process; `create_app(settings)`
keeps the app's copy, and code that runs in a request reads that copy through `app_settings(request)`
(routes: the `AppSettings` dependency), so a test's app with its own settings is obeyed throughout.
Services read no settings: the edge passes what they need (small_cell_min=, var_dir, ...).
Every field is documented in docs/configuration.md; tests/test_docs.py keeps the two in step.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from starlette.requests import Request  # not fastapi's re-export: every CLI command imports this module


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SMEAI_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/smeai.db",
        description="SQLAlchemy URL. SQLite file under ./var by default; postgresql+psycopg://... in production.",
    )
    secret_key: str = Field(
        default="",
        description="Key that signs cookies and CSRF tokens. Empty: a random key is made and kept in var/secret_key.",
    )
    var_dir: Path = Field(default=Path("./var"), description="Folder for the SQLite file, uploads, exports.")
    lang: str = Field(default="zh_Hans", description="Default language: zh_Hans or en (pages and CLI).")
    host: str = Field(default="127.0.0.1", description="Address `smeai serve` listens on.")
    port: int = Field(default=8000, description="Port `smeai serve` listens on.")
    cookie_secure: bool = Field(
        default=False, description="Mark session cookies Secure (set true behind HTTPS in production)."
    )
    session_hours: int = Field(default=12, gt=0, description="Lifetime of a login session, in hours.")
    login_max_failures: int = Field(
        default=5, gt=0, description="Failed logins per account (or per account and known browser) before throttling."
    )
    login_max_failures_per_address: int = Field(
        default=20, gt=0, description="Failed logins from one address before browsers unknown there are throttled."
    )
    login_window_minutes: int = Field(
        default=15, gt=0, le=1440, description="Window over which failed logins count (at most a day)."
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed (comma-separated).",
    )
    api_token_days: int = Field(default=90, gt=0, le=3650, description="Lifetime of an API token, in days.")
    body_max_bytes: int = Field(
        default=1_048_576, gt=0, description="Largest request body (JSON, forms) outside the upload routes."
    )
    json_max_depth: int = Field(default=32, gt=0, description="Deepest nesting accepted in a JSON body.")
    shutdown_timeout_seconds: int = Field(
        default=30, gt=0, description="How long `smeai serve` waits for running requests after SIGTERM."
    )
    small_cell_min: int = Field(
        default=10,
        ge=1,
        description="Published survey cells resting on fewer firms than this are suppressed.",
    )
    upload_max_bytes: int = Field(default=10_000_000, gt=0, description="Largest accepted upload, in bytes.")
    smtp_host: str = Field(
        default="", description="Mail server for the outbox. Empty: messages stay queued in the outbox, unsent."
    )
    smtp_port: int = Field(default=587, gt=0, le=65535, description="Mail server port.")
    smtp_tls: bool = Field(default=True, description="STARTTLS to the mail server (false: plain, e.g. a local relay).")
    smtp_user: str = Field(default="", description="Mail server login; empty: no authentication.")
    smtp_password: str = Field(default="", description="Mail server password.")
    smtp_from: str = Field(default="smeai <noreply@localhost>", description="Sender address of every email.")
    mail_retry_seconds: int = Field(
        default=60, gt=0, description="First wait before a failed email is retried; doubles each try (8 tries)."
    )
    public_url: str = Field(
        default="", description="Base URL in emailed links (https://...). Empty: the address the request came to."
    )
    email_link_hours: int = Field(
        default=48, gt=0, description="Lifetime of emailed links: address verification, invitations, password reset."
    )
    register_max_per_hour: int = Field(
        default=20, gt=0, description="Registrations (and password-reset emails) accepted per address per hour."
    )
    log_json: bool = Field(
        default=False, description="Log one JSON object per line (production); false: readable lines (development)."
    )
    log_level: str = Field(
        default="INFO",
        pattern=r"^(DEBUG|INFO|WARNING|ERROR)$",
        description="Lowest level logged: DEBUG, INFO, WARNING or ERROR.",
    )
    metrics_token: str = Field(
        default="", description="Bearer token that /metrics asks for. Empty: only the metrics networks may read it."
    )
    metrics_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"],
        description="Addresses or CIDRs that may read /metrics without the token (comma-separated; empty: none).",
    )
    storage_url: str = Field(
        default="",
        description="Where uploads and operator files are kept: file:///path or s3://bucket/prefix. Empty: var_dir.",
    )
    storage_endpoint_url: str = Field(
        default="", description="Endpoint of an S3-compatible store (MinIO, Ceph, OSS). Empty: AWS S3."
    )
    storage_key_id: str = Field(default="", description="S3 access key id. Empty: the usual AWS credential chain.")
    storage_secret_key: str = Field(default="", description="S3 secret access key.")
    storage_region: str = Field(default="", description="S3 region. Empty: the store's default.")
    orphan_grace_hours: int = Field(
        default=24, gt=0, description="Stored uploads no record names are removed once older than this."
    )
    request_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Longest a read (GET) may take, waiting included; then 503 with Retry-After."
    )
    expensive_slots: int = Field(
        default=4, gt=0, le=64, description="Expensive pages of one kind computed at once per worker; others wait."
    )
    workers: int = Field(default=1, gt=0, le=64, description="Worker processes `smeai serve` starts (uvicorn).")

    @field_validator("trusted_proxies", "metrics_networks", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):  # "10.0.0.1, 10.1.0.0/16" or a JSON list
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies", "metrics_networks")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)  # ValueError names the bad entry
        return value

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(item, strict=False) for item in self.trusted_proxies)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process's settings (CLI commands, create_app's default), read from the environment once."""
    return Settings()


def app_settings(request: Request) -> Settings:
    """The settings of the app serving this request (create_app keeps them on app.state)."""
    return request.app.state.settings


def secret_key(settings: Settings) -> str:
    """The configured key, or one made once and kept under var/ (never in the repository). The file is
    read once per process, not on every page that signs a CSRF token."""
    return settings.secret_key or _kept_key(settings.var_dir.resolve())


@lru_cache(maxsize=8)  # one entry per var folder (tests make several apps, each with its own)
def _kept_key(var_dir: Path) -> str:
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
