"""What the `kapbot` commands of every audience share: failing in plain words, the operator for
the audit log, the database's schema, quieting Rasa, printing a table."""

from __future__ import annotations

import logging
import os
import sys
import warnings

import click

from bot.settings import get_settings

# TensorFlow (imported by Rasa and spaCy) logs at import time unless told not to before.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


def fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def operator() -> str:
    """Who runs the command, for the audit log."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in some containers
        return "unknown"


def quiet_rasa() -> None:
    """TensorFlow and Rasa log a lot on import; the CLI's own output should stand out."""
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.ERROR)
    for name in ("rasa", "tensorflow", "absl", "sanic", "root"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # Rasa's structured logs go to stdout unless configured; `--json` output must stay clean.
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.ERROR)


def database_label(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _fail_database(url: str, error: Exception) -> None:
    reason = getattr(error, "orig", None) or error  # without SQLAlchemy's "Background" link
    fail(f"database {database_label(url)}: {str(reason).strip()}")


def migrate() -> tuple[str | None, str | None]:
    """Brings DATABASE_URL to the latest schema (a fresh install works); (before, after)."""
    import sqlalchemy as sa

    from bot.db.migrate import current_revision, upgrade

    url = get_settings().database_url
    try:
        before = current_revision(url)
        upgrade(url)
        return before, current_revision(url)
    except (sa.exc.SQLAlchemyError, OSError) as error:
        _fail_database(url, error)


def require_latest_schema() -> None:
    """For the commands that only read: exits 1, changing nothing, unless DATABASE_URL is at the
    latest schema revision. Upgrading is a decision of its own (`kapbot db upgrade`)."""
    import sqlalchemy as sa

    from bot.db.migrate import current_revision, head_revision

    url = get_settings().database_url
    try:
        current = current_revision(url)
    except (sa.exc.SQLAlchemyError, OSError) as error:
        _fail_database(url, error)
    latest = head_revision()
    if current != latest:
        fail(
            f"database {database_label(url)} is not at the latest schema revision "
            f"(it is at {current or 'none, never migrated'}; the latest is {latest}): "
            "run kapbot db upgrade first"
        )


def check_one_of(option: str, value: str | None, allowed: tuple[str, ...]) -> None:
    """Exits 2 for a filter value the listing would refuse, before the database is looked at:
    bad input is reported as such, whatever state the database is in."""
    if value is not None and value not in allowed:
        fail(f"{option} must be one of {', '.join(allowed)}, got {value!r}", 2)


def print_table(table: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("  ".join(cells).rstrip())
