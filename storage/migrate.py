"""Schema migrations run from code, for the command line and for tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str, *, schema: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["schema"] = schema
    return config


def upgrade(url: str, *, schema: str | None = None, revision: str = "head") -> None:
    """Bring the database to `revision`; blocking, so call it from a thread inside a loop."""
    command.upgrade(alembic_config(url, schema=schema), revision)


def downgrade(url: str, *, schema: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url, schema=schema), revision)
