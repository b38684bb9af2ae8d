"""The one place that creates database engines and sessions.

Every reader and writer of the project's own tables (actions, web app, CLI) gets its sessions here,
so connection settings and SQLite's quirks are handled once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.files.local_secrets import private_file
from bot.settings import get_settings


def get_engine(url: str | None = None) -> Engine:
    """An engine for `url` (DATABASE_URL by default), created once per URL and process."""
    # Resolved before the cache: a cached "default" would outlive a change of settings.
    return _engine_for(url or get_settings().database_url)


@functools.lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    parsed = make_url(url)
    # hide_parameters: a failed statement's error text must not carry visitors' data into logs.
    options: dict = {"future": True, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Conversations and contact details: the owner's only (SQLite's journal files
            # take the database file's mode).
            private_file(Path(database))
        # The action server and the web app use threads; SQLite serialises writes itself.
        options["connect_args"] = {"check_same_thread": False, "timeout": 15}
    else:
        # Survive a restarted database server without a failed first request.
        options["pool_pre_ping"] = True
        options["connect_args"] = {"connect_timeout": 5}
    engine = sa.create_engine(url, **options)
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    return engine


def _enable_sqlite_foreign_keys(dbapi_connection, _record) -> None:
    # SQLite ignores ON DELETE CASCADE unless asked per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(url: str | None = None) -> sessionmaker:
    return sessionmaker(bind=get_engine(url), future=True, expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
