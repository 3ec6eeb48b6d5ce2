"""Schema migrations run from code, for the command line and for tests."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

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


@cache
def known_revisions() -> tuple[str, frozenset[str]]:
    """Return the newest revision of this code's migrations, and every older one."""
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None, "the migrations have no head"
    older = frozenset(rev.revision for rev in script.walk_revisions() if rev.revision != head)
    return head, older


def schema_problem(version: str | None) -> str | None:
    """Describe why a database at `version` is not ready for this code, or return None.

    A revision this code does not contain is newer, which is fine: a release migrates before
    its servers start.
    """
    head, older = known_revisions()
    if version is None:
        return "not migrated: run `nappatzim migrate`"
    if version in older:
        return f"schema at revision {version}, this release needs {head}: run `nappatzim migrate`"
    return None


def downgrade(url: str, *, schema: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url, schema=schema), revision)
