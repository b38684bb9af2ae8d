"""Staff accounts in the console: administrators unlock, deactivate, reactivate, change the role
of and reset the password of accounts at /staff/accounts; every signed-in user changes their own
password at /staff/password (and must, after a reset, before anything else).

The routes live on the staff console's blueprint, so its sign-in and CSRF checks cover them. The
pages are thin: each change is one function of bot/desk/staff_accounts.py, which `kapbot staff` uses
too and which writes the audit entry and ends the user's sessions where it must.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from bot.db.models import ROLES
from bot.desk import audit
from bot.desk import staff_accounts as accounts
from bot.web import staff_sessions
from bot.web.staff import _db, _me, blueprint, require_role

DONE = {
    "unlock": "Every sign-in wait on {name} is lifted.",
    "deactivate": "{name} is deactivated and signed out everywhere.",
    "reactivate": "{name} can sign in again.",
    "role": "{name} now has the role {role}, and was signed out everywhere.",
}


def _accounts_page(status: int = 200, temporary: tuple[str, str] | None = None):
    with _db() as db:
        users = accounts.list_users(db)
    page = render_template(
        "staff/accounts.html", users=users, roles=ROLES, temporary=temporary, me=_me()
    )
    return page, status


@blueprint.get("/accounts")
@require_role("admin")
def account_list():
    with _db() as db:
        audit.record(db, _me().username, "staff_accounts_viewed")
    return _accounts_page()


def _change(username: str, what: str):
    """Runs one change of bot/desk/staff_accounts.py for the signed-in admin; a refusal is shown on
    the page with its reason and changes nothing."""
    role = request.form.get("role", "")
    changes = {
        "unlock": lambda db, by: accounts.unlock(db, username, by),
        "deactivate": lambda db, by: accounts.deactivate(db, username, by),
        "reactivate": lambda db, by: accounts.reactivate(db, username, by),
        "role": lambda db, by: accounts.set_role(db, username, role, by),
    }
    try:
        with _db() as db:
            changes[what](db, _me().username)
    except accounts.AccountError as error:
        flash(str(error), "error")
        return redirect(url_for("staff.account_list"), 303)
    flash(DONE[what].format(name=accounts.normalise_username(username), role=role), "success")
    # Changing one's own role or deactivating oneself ends this session too.
    return redirect(url_for("staff.account_list"), 303)


@blueprint.post("/accounts/<username>/unlock")
@require_role("admin")
def account_unlock(username: str):
    return _change(username, "unlock")


@blueprint.post("/accounts/<username>/deactivate")
@require_role("admin")
def account_deactivate(username: str):
    return _change(username, "deactivate")


@blueprint.post("/accounts/<username>/reactivate")
@require_role("admin")
def account_reactivate(username: str):
    return _change(username, "reactivate")


@blueprint.post("/accounts/<username>/role")
@require_role("admin")
def account_set_role(username: str):
    return _change(username, "role")


@blueprint.post("/accounts/<username>/reset-password")
@require_role("admin")
def account_reset_password(username: str):
    """Shows the temporary password once, on this page only: never in a redirect or a flash
    message, which would put it in a cookie."""
    try:
        with _db() as db:
            temporary = accounts.reset_password(db, username, _me().username)
    except accounts.AccountError as error:
        flash(str(error), "error")
        return redirect(url_for("staff.account_list"), 303)
    return _accounts_page(temporary=(accounts.normalise_username(username), temporary))


@blueprint.route("/password", methods=["GET", "POST"])
def change_password():
    me = _me()
    if request.method == "GET":
        return render_template("staff/password.html", forced=me.must_change_password)
    new = request.form.get("new_password", "")
    if new != request.form.get("new_password_again", ""):
        return _password_refused("The two new passwords differ.", me.must_change_password)
    try:
        with _db() as db:
            user = accounts.change_password(db, me.id, request.form.get("password", ""), new)
            # Every other session of the account has ended; this browser carries on.
            staff_sessions.start(user)
    except accounts.AccountError as error:
        return _password_refused(str(error), me.must_change_password)
    flash("Your password is changed. Any other browser signed in as you is signed out.", "success")
    return redirect(url_for("staff.handoff_list"), 303)


def _password_refused(message: str, forced: bool):
    return render_template("staff/password.html", forced=forced, error=message), 400
