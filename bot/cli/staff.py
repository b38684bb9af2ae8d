"""`kapbot staff unlock|deactivate|reactivate|set-role|reset-password USER`: what an
administrator does to a staff console account, from the command line.

Each command is one function of bot/desk/staff_accounts.py (the console's account page calls the
same
ones), which writes the audit entry as `cli:<operator>` and ends the user's sessions where it must.
Exit codes: 0 done, 2 refused (no such account, nothing to change, the last administrator), 1 a
database problem.
"""

from __future__ import annotations

from collections.abc import Callable

import click


def _run(change: Callable, done: Callable[[object], str]) -> None:
    """Runs change(session, actor) in one transaction on DATABASE_URL (migrated first)."""
    import sqlalchemy as sa

    from bot.cli import _fail, _migrate, _operator
    from bot.db.session import session_scope
    from bot.desk.staff_accounts import AccountError

    _migrate()
    try:
        with session_scope() as session:
            result = change(session, f"cli:{_operator()}")
    except AccountError as error:
        _fail(str(error), 2)
    except sa.exc.SQLAlchemyError as error:
        _fail(f"database: {type(error).__name__}: {str(error).splitlines()[0]}")
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
@click.argument("role", metavar="staff|editor|admin")
def set_role(username: str, role: str) -> None:
    """Give USERNAME another role; their sessions end, so the new role applies at once."""
    from bot.desk.staff_accounts import set_role as change_role

    _run(
        lambda session, by: change_role(session, username, role, by),
        lambda user: f"{user.username!r} now has the role {user.role}; every session ended",
    )


def staff_account_commands() -> list[click.Command]:
    return [unlock, deactivate, reactivate, set_role, reset_password]
