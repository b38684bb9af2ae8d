"""`kapbot` for whoever runs the services: serve them, upgrade the database's schema."""

from __future__ import annotations

import os
import sys

import click

from bot.cli.common import database_label, migrate
from bot.settings import get_settings


@click.command()
@click.option(
    "--prod",
    is_flag=True,
    help="Production mode: RASA_INSTANCES Rasa servers behind nginx, conversations in "
    "PostgreSQL (DATABASE_URL), their locks in Redis (REDIS_URL). KAPBOT_PROD_MODE=true "
    "in .env does the same.",
)
def serve(prod: bool) -> None:
    """Run the Rasa server, the action server and the web app until Ctrl-C."""
    from bot.ops.runner import serve_all

    if prod:
        # As if set in .env, so everything derived from it (rasa_api_urls) follows.
        os.environ["KAPBOT_PROD_MODE"] = "true"
        get_settings.cache_clear()
    sys.exit(serve_all(get_settings()))


@click.group()
def db() -> None:
    """The database of handoffs, staff users and the audit log (DATABASE_URL)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations that have not run yet."""
    before, after = migrate()
    where = database_label(get_settings().database_url)
    if before == after:
        click.echo(f"{where}: schema up to date (revision {after})")
    else:
        click.echo(f"{where}: schema upgraded from {before or 'empty'} to revision {after}")
