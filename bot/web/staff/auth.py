"""Signing in to the staff console and out of it. The session the sign-in starts is checked on
every request by bot/web/staff/access.py."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from bot.db.models import StaffUser
from bot.desk.staff_accounts import LoginError, Throttled, account, sign_in, sign_out
from bot.web.staff import sessions as staff_sessions
from bot.web.staff.access import current_user
from bot.web.staff.pages import database, me


def add_routes(staff: Blueprint) -> None:
    staff.add_url_rule("/login", view_func=login, methods=["GET", "POST"])
    staff.add_url_rule("/logout", view_func=logout, methods=["POST"])


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: never another site (an open redirect)."""
    default = url_for("staff.handoff_list")
    if not target or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/staff"):
        return default
    if parts.path.startswith(url_for("staff.login")):
        return default
    return target


def _login_page(status: int, error: str, next_target: str, username: str):
    page = render_template(
        "staff/login.html", next=next_target, error=error, username=username[:64]
    )
    return page, status


def login():
    next_target = request.values.get("next") or ""
    if request.method == "GET":
        if current_user() is not None:
            return redirect(_safe_next(next_target))
        return render_template("staff/login.html", next=next_target)

    username = request.form.get("username", "")
    with database() as db:
        # sign_in returns a refusal rather than raising it: the failure it counted and audited
        # must be committed.
        outcome = sign_in(db, username, request.form.get("password", ""), _client_address())
        if isinstance(outcome, StaffUser):
            staff_sessions.start(outcome)
    if isinstance(outcome, Throttled):
        page = _login_page(429, outcome.message, next_target, username)
        return (*page, {"Retry-After": str(outcome.seconds)})
    if isinstance(outcome, LoginError):
        return _login_page(401, outcome.message, next_target, username)
    return redirect(_safe_next(next_target))


def _client_address() -> str:
    # Behind the proxy (TRUST_PROXY) ProxyFix has already put the client's address here.
    return request.remote_addr or "unknown"


def logout():
    with database() as db:
        sign_out(db, account(db, me().username))
    session.clear()
    flash("You are signed out.", "success")
    return redirect(url_for("staff.login"))
