"""Settings read from the environment once, at the entry point."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of one process: a server, a worker or the scheduler.

    With neither `DATABASE_URL` nor `REDIS_URL` set, the process runs in embedded mode: a
    SQLite file under `DATA_DIR`, jobs and events in process.
    """

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    database_url: str | None = None
    database_replica_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # A PostgreSQL schema to use instead of `public`; lets tests share one database.
    database_schema: str | None = None
    redis_url: str | None = None
    # Every Redis key, stream and channel name starts with this prefix.
    redis_prefix: str = "nappatzim:"
    jwt_secret: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    data_dir: Path = Path(".nappatzim")
    log_level: str = "INFO"

    access_token_seconds: int = Field(default=15 * 60, gt=0)
    refresh_token_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    # Failed logins allowed per account, and per client address, in one window.
    login_attempts: int = Field(default=10, gt=0)
    login_address_attempts: int = Field(default=100, gt=0)
    login_window_seconds: int = Field(default=300, gt=0)
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, gt=0)

    # How long a task may go unacknowledged before another worker takes it over. A job's task
    # keeps its lease through heartbeats while it runs longer. Other tasks should finish within
    # this time, because a second worker would start them again while the first still runs.
    task_redelivery_seconds: float = Field(default=60.0, gt=0)
    # How long a worker blocks on an empty queue before it looks for abandoned tasks.
    task_poll_seconds: float = Field(default=2.0, gt=0)
    worker_concurrency: int = Field(default=20, gt=0)
    # How often each process looks for outbox rows whose immediate hand-off failed.
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    # How long a row may wait for its immediate hand-off before the relay sends it.
    outbox_grace_seconds: float = Field(default=5.0, gt=0)
    # How long a sent task may take to finish before the relay sends it again.
    outbox_task_lease_seconds: float = Field(default=300.0, gt=0)
    # Runs of a task before it is dead-lettered; a permanent error dead-letters it at once.
    task_max_attempts: int = Field(default=5, ge=1)
    # Delay before retry n after a transient error: a random share (full jitter) of
    # min(TASK_RETRY_MAX_SECONDS, TASK_RETRY_BASE_SECONDS * TASK_RETRY_FACTOR ** (n - 1)).
    task_retry_base_seconds: float = Field(default=1.0, gt=0)
    task_retry_factor: float = Field(default=2.0, ge=1)
    task_retry_max_seconds: float = Field(default=300.0, gt=0)

    # Outgoing email. With no SMTP_HOST, emails are skipped and in-app notifications still work.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "Nappatzim <no-reply@localhost>"
    # Upgrade the connection with STARTTLS before logging in; fails if the server lacks it.
    smtp_starttls: bool = True

    # How long an export file stays downloadable; the hourly purge deletes it afterwards.
    export_expiry_seconds: float = Field(default=24 * 3600.0, gt=0)

    @field_validator("database_replica_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @field_validator("database_url", "redis_url", "smtp_host", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"unknown level {value!r}: use one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        if value is not None and not to_async_url(value).startswith(SUPPORTED_DRIVERS):
            raise ValueError(
                f"unsupported database URL {value.split(':', 1)[0]!r}: use postgresql://... "
                "or sqlite:///path"
            )
        return value

    @model_validator(mode="after")
    def _check_secret(self) -> Settings:
        if self.jwt_secret is None and not self.embedded:
            raise ValueError(
                "JWT_SECRET is missing: a deployment with DATABASE_URL or REDIS_URL needs one"
            )
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value().encode()) < 32:
            raise ValueError("JWT_SECRET is too short: use at least 32 bytes, as HS256 needs")
        return self

    @property
    def embedded(self) -> bool:
        return self.database_url is None and self.redis_url is None

    @property
    def sqlalchemy_url(self) -> str:
        """Return the database URL with the async driver SQLAlchemy needs."""
        if self.database_url is None:
            return f"sqlite+aiosqlite:///{self.data_dir / 'nappatzim.sqlite3'}"
        return to_async_url(self.database_url)

    def secret(self) -> str:
        """Return the token signing secret, creating a persistent one in embedded mode."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        path = self.data_dir / "jwt-secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SUPPORTED_DRIVERS = ("postgresql+asyncpg://", "sqlite+aiosqlite://")


def to_async_url(url: str) -> str:
    """Map `postgresql://` and `sqlite://` URLs onto the asyncpg and aiosqlite drivers."""
    for prefix in (
        "postgresql://",
        "postgres://",
        "postgresql+psycopg://",
        "postgresql+psycopg2://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url
