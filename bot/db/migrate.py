"""Schema migrations (Alembic) for the project's own tables, run by `kapbot db upgrade`, by
`kapbot serve` before it starts anything, and by the tests for each database they use."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Not Alembic's default name: the database also holds Rasa's tables.
VERSION_TABLE = "kap_alembic_version"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = url
    return config


def current_revision(url: str | None = None) -> str | None:
    """The revision the database at `url` is at; None for a database never migrated."""
    from alembic.migration import MigrationContext

    from bot.db.session import get_engine

    with get_engine(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Brings the database at `url` (DATABASE_URL by default) to `revision`."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
