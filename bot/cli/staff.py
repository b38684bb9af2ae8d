"""`kapbot staff add|unlock|deactivate|reactivate|set-role|reset-password USER`: what an
administrator does to a staff console account, from the command line.

Each command is one function of bot/desk/staff_accounts.py (the console's account page calls the
same ones), which writes the audit entry as `cli:<operator>` and ends the user's sessions where it
must. Exit codes: 0 done, 2 refused (no such account, nothing to change, the last administrator),
1 a database problem.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from bot.cli.common import fail, migrate, operator
from bot.settings import get_settings


def _run(change: Callable, done: Callable[[object], str]) -> None:
    """Runs change(session, actor) in one transaction on DATABASE_URL (migrated first)."""
    import sqlalchemy as sa

    from bot.db.session import session_scope
    from bot.desk.staff_accounts import AccountError

    migrate()
    try:
        with session_scope() as session:
            result = change(session, f"cli:{operator()}")
    except AccountError as error:
        fail(str(error), 2)
    except sa.exc.SQLAlchemyError as error:
        fail(f"database: {type(error).__name__}: {str(error).splitlines()[0]}")
    click.echo(done(result))


def _account_command(name: str, change: str, done: Callable[[str, object], str], help: str):
    """A command taking USERNAME that runs bot.desk.staff_accounts.<change>(session, USERNAME,
    by)."""

    @click.command(name, help=help)
    @click.argument("username")
    def command(username: str) -> None:
        from bot.desk import staff_accounts

        _run(
            lambda session, by: getattr(staff_accounts, change)(session, username, by),
            lambda result: done(username.strip().lower(), result),
        )

    return command


unlock = _account_command(
    "unlock",
    "unlock",
    lambda name, lifted: f"lifted {lifted} sign-in wait(s) on {name!r}",
    "Lift every sign-in wait that failed attempts put on USERNAME.",
)
deactivate = _account_command(
    "deactivate",
    "deactivate",
    lambda name, _user: f"deactivated {name!r} and ended every session of it",
    "Stop USERNAME from signing in, and end every session they have.",
)
reactivate = _account_command(
    "reactivate",
    "reactivate",
    lambda name, _user: f"{name!r} can sign in again",
    "Let a deactivated USERNAME sign in again.",
)
reset_password = _account_command(
    "reset-password",
    "reset_password",
    lambda name, temporary: (
        f"temporary password for {name!r} (shown once; they must choose their own at the next "
        f"sign-in):\n{temporary}"
    ),
    "Give USERNAME a temporary password (printed once) that they must change at their next "
    "sign-in; their sessions end.",
)


@click.command("set-role")
@click.argument("username")
@click.argument("role", metavar="staff|editor|admin|clinician")
def set_role(username: str, role: str) -> None:
    """Give USERNAME another role; their sessions end, so the new role applies at once."""
    from bot.desk.staff_accounts import set_role as change_role

    _run(
        lambda session, by: change_role(session, username, role, by),
        lambda user: f"{user.username!r} now has the role {user.role}; every session ended",
    )


@click.group(commands=[unlock, deactivate, reactivate, set_role, reset_password])
def staff() -> None:
    """Accounts for the staff console (/staff on the web app)."""


@staff.command("add")
@click.argument("username")
@click.option(
    "--role", default="staff", show_default=True, help="staff, editor, admin or clinician."
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of asking twice.",
)
def staff_add(username: str, role: str, password_stdin: bool) -> None:
    """Create the staff console account USERNAME."""
    import getpass

    import sqlalchemy as sa

    from bot.db.migrate import upgrade
    from bot.db.session import session_scope
    from bot.desk import audit
    from bot.desk.staff_accounts import (
        AccountError,
        create_user,
        validate_password,
        validate_role,
        validate_username,
    )

    try:
        username = validate_username(username)
        validate_role(role)
    except AccountError as error:
        fail(str(error), 2)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {username}: ")
        if getpass.getpass("The same password again: ") != password:
            fail("the two passwords differ; no account was created", 2)
    try:
        validate_password(password)
    except AccountError as error:
        fail(str(error), 2)
    actor = f"cli:{operator()}"
    url = get_settings().database_url
    try:
        upgrade(url)
        with session_scope(url) as session:
            create_user(session, username, password, role)
            audit.record(session, actor, "staff_user_created", target=username, detail=role)
    except AccountError as error:
        fail(str(error), 2)
    except (sa.exc.SQLAlchemyError, OSError) as error:
        fail(f"database: {type(error).__name__}: {str(error).splitlines()[0]}")
    click.echo(f"created the {role} account {username!r}")
