"""Who may use the staff console: a signed-in account on every page but the sign-in page
(checked once, in `require_sign_in`, so a new route cannot forget it), the CSRF token of every
form post, the roles a page needs, and the headers and error pages of the console's answers."""

from __future__ import annotations

import functools

from flask import Response, abort, current_app, flash, g, redirect, request, url_for

from bot.desk import audit
from bot.web.security import csrf
from bot.web.staff import sessions as staff_sessions
from bot.web.staff.pages import database, error_page, me
from bot.web.staff.sessions import StaffIdentity

PUBLIC_ENDPOINTS = {"staff.login"}
# Open to an account that must choose a new password before anything else.
PASSWORD_CHANGE_ENDPOINTS = {"staff.change_password", "staff.logout"}


def current_user() -> StaffIdentity | None:
    """The signed-in account, checked against the database and the clock on every request
    (bot/web/staff/sessions.py); a session that has ended says why on the sign-in page."""
    with database() as db:
        identity, ended = staff_sessions.current(db)
    if ended is not None:
        flash(staff_sessions.ENDED_MESSAGES[ended], "error")
    return identity


def require_sign_in():
    """Sign-in first, then the CSRF token of every form post (the console is exempt from the
    app-wide check, which would run first and answer an anonymous post with 400, not 401)."""
    g.staff_user = None
    if request.endpoint not in PUBLIC_ENDPOINTS:
        g.staff_user = current_user()
        if g.staff_user is None:
            if request.method in ("GET", "HEAD"):
                target = request.full_path if request.query_string else request.path
                return redirect(url_for("staff.login", next=target))
            abort(401)
        if g.staff_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
            return redirect(url_for("staff.change_password"))
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()  # a no-op for GET, HEAD and OPTIONS
    return None


def require_role(*roles: str):
    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            signed_in = me()
            if signed_in.role not in roles:
                with database() as db:
                    audit.record(db, signed_in.username, "access_denied", target=request.path)
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles  # read by the access tests, which cover every route
        return wrapped

    return decorate


def no_caching_and_no_framing(response: Response) -> Response:
    # Pages hold visitors' personal data: keep them out of caches and other sites' frames.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    return response


def unauthorised(_error):
    return error_page(401, "Sign-in needed", "Sign in to use the staff console.")


def forbidden(_error):
    return error_page(403, "Not allowed", "Your role does not give access to this page.")


def not_found(_error):
    return error_page(404, "Not found", "There is no such page or handoff.")
