"""Staff accounts in the console: administrators unlock, deactivate, reactivate, change the role
of and reset the password of accounts at /staff/accounts; every signed-in user changes their own
password at /staff/password (and must, after a reset, before anything else).

The routes are on the staff console's blueprint, so its sign-in and CSRF checks cover them. The
pages are thin: each change is one function of bot/desk/staff_accounts.py, which `kapbot staff` uses
too and which writes the audit entry and ends the user's sessions where it must.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from bot.db.models import ROLES
from bot.desk import audit
from bot.desk import staff_accounts as accounts
from bot.web.staff import sessions as staff_sessions
from bot.web.staff.access import require_role
from bot.web.staff.pages import database, me

DONE = {
    "unlock": "Every sign-in wait on {name} is lifted.",
    "deactivate": "{name} is deactivated and signed out everywhere.",
    "reactivate": "{name} can sign in again.",
    "role": "{name} now has the role {role}, and was signed out everywhere.",
}


def add_routes(staff: Blueprint) -> None:
    staff.add_url_rule("/accounts", view_func=account_list, methods=["GET"])
    # A fixed path outranks <what> in the URL map, so the reset keeps its own page.
    staff.add_url_rule(
        "/accounts/<username>/reset-password", view_func=account_reset_password, methods=["POST"]
    )
    staff.add_url_rule("/accounts/<username>/<what>", view_func=account_change, methods=["POST"])
    staff.add_url_rule("/password", view_func=change_password, methods=["GET", "POST"])


def _accounts_page(status: int = 200, temporary: tuple[str, str] | None = None):
    with database() as db:
        users = accounts.list_users(db)
    page = render_template(
        "staff/accounts.html", users=users, roles=ROLES, temporary=temporary, me=me()
    )
    return page, status


@require_role("admin")
def account_list():
    with database() as db:
        audit.record(db, me().username, "staff_accounts_viewed")
    return _accounts_page()


@require_role("admin")
def account_change(username: str, what: str):
    """Runs one change of bot/desk/staff_accounts.py (`what`: a key of DONE) for the signed-in
    admin; a refusal is shown on the page with its reason and changes nothing."""
    if what not in DONE:
        abort(404)
    role = request.form.get("role", "")
    changes = {
        "unlock": lambda db, by: accounts.unlock(db, username, by),
        "deactivate": lambda db, by: accounts.deactivate(db, username, by),
        "reactivate": lambda db, by: accounts.reactivate(db, username, by),
        "role": lambda db, by: accounts.set_role(db, username, role, by),
    }
    try:
        with database() as db:
            changes[what](db, me().username)
    except accounts.AccountError as error:
        flash(str(error), "error")
        return redirect(url_for("staff.account_list"), 303)
    flash(DONE[what].format(name=accounts.normalise_username(username), role=role), "success")
    # Changing one's own role or deactivating oneself ends this session too.
    return redirect(url_for("staff.account_list"), 303)


@require_role("admin")
def account_reset_password(username: str):
    """Shows the temporary password once, on this page only: never in a redirect or a flash
    message, which would put it in a cookie."""
    try:
        with database() as db:
            temporary = accounts.reset_password(db, username, me().username)
    except accounts.AccountError as error:
        flash(str(error), "error")
        return redirect(url_for("staff.account_list"), 303)
    return _accounts_page(temporary=(accounts.normalise_username(username), temporary))


def change_password():
    signed_in = me()
    if request.method == "GET":
        return render_template("staff/password.html", forced=signed_in.must_change_password)
    new = request.form.get("new_password", "")
    if new != request.form.get("new_password_again", ""):
        return _password_refused("The two new passwords differ.", signed_in.must_change_password)
    try:
        with database() as db:
            user = accounts.change_password(db, signed_in.id, request.form.get("password", ""), new)
            # Every other session of the account has ended; this browser carries on.
            staff_sessions.start(user)
    except accounts.AccountError as error:
        return _password_refused(str(error), signed_in.must_change_password)
    flash("Your password is changed. Any other browser signed in as you is signed out.", "success")
    return redirect(url_for("staff.handoff_list"), 303)


def _password_refused(message: str, forced: bool):
    return render_template("staff/password.html", forced=forced, error=message), 400
