"""Alembic environment: the URL comes from the caller (bot/db/migrate.py) or DATABASE_URL."""

from __future__ import annotations

from alembic import context

from bot.db.migrate import VERSION_TABLE
from bot.db.models import Base
from bot.db.session import get_engine


def _include_object(obj, name, type_, reflected, compare_to):
    # The database also holds Rasa's tracker-store tables: never touch what is not ours.
    if type_ == "table":
        return name.startswith("kap_")
    return True


def run_migrations() -> None:
    url = context.config.attributes.get("database_url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    engine = get_engine(url or None)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            version_table=VERSION_TABLE,
            include_object=_include_object,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
