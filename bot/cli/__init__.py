"""`kapbot`: the command line for developers, editors and scripts.

The commands live in one module per audience: models (developers of the assistant), content
(editors), desk (the care team, retention), ops (running the services), staff (accounts)."""

from __future__ import annotations

import click

from bot.cli import content, desk, models, ops, signoff, staff
from bot.cli.common import fail
from bot.settings import SettingsError, get_settings


@click.group()
def main() -> None:
    """KAP Assistant: build, train, evaluate and serve the clinic's chatbot."""
    try:
        get_settings()
    except SettingsError as error:
        fail(f"configuration: {error}", 2)


def _add_commands(group: click.Group) -> None:
    for command in (
        content.build,
        models.build_spacy,
        models.build_encoder,
        models.train,
        models.compare,
        models.publish,
        models.rollback,
        content.validate,
        models.ask,
        models.evaluate_command,
        models.tune,
        ops.serve,
        ops.db,
        desk.handoffs,
        desk.bookings,
        desk.purge,
        staff.staff,
        content.inbox,
        content.article,
        content.gaps,
        signoff.signoff,
    ):
        group.add_command(command)


_add_commands(main)
