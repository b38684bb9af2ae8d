"""Staff console sessions that the server can end.

The session cookie is signed by Flask, so it cannot be forged, but on its own it could not be
revoked either. It therefore carries the account's session version (bot/desk/staff_accounts.py
raises
it on sign-out, deactivation, a password change or reset and a role change), when it was issued
and when it was last used; every request checks all three against the database and the clock.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from flask import session

from bot.db.models import StaffUser

IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)

USER_KEY = "staff_user_id"
VERSION_KEY = "staff_session_version"
ISSUED_KEY = "staff_issued_at"
SEEN_KEY = "staff_last_seen"

ENDED_MESSAGES = {
    "idle": "You were signed out after 30 minutes without activity. Please sign in again.",
    "expired": "Sessions last at most 12 hours. Please sign in again.",
    "revoked": "Your session has ended (signed out, or the account was changed). "
    "Please sign in again.",
}


@dataclass(frozen=True)
class StaffIdentity:
    id: int
    username: str
    role: str
    must_change_password: bool = False


def start(user: StaffUser, now: float | None = None) -> None:
    """A fresh session for `user`, so a session planted before sign-in is worth nothing."""
    now = time.time() if now is None else now
    session.clear()
    session.permanent = True
    session[USER_KEY] = user.id
    session[VERSION_KEY] = user.session_version
    session[ISSUED_KEY] = now
    session[SEEN_KEY] = now


def _ended(user: StaffUser | None, now: float) -> str | None:
    """Why the session in the cookie no longer counts, or None if it still does."""
    if user is None or not user.active or session.get(VERSION_KEY) != user.session_version:
        return "revoked"
    issued, seen = session.get(ISSUED_KEY), session.get(SEEN_KEY)
    if not isinstance(issued, (int, float)) or not isinstance(seen, (int, float)):
        return "revoked"  # a cookie from before these checks
    if now - issued > ABSOLUTE_TIMEOUT.total_seconds():
        return "expired"
    if now - seen > IDLE_TIMEOUT.total_seconds():
        return "idle"
    return None


def current(db_session, now: float | None = None) -> tuple[StaffIdentity | None, str | None]:
    """The signed-in account and None, or None and why the cookie's session ended (None when
    there was no session at all). A live session is marked as used now."""
    user_id = session.get(USER_KEY)
    if not isinstance(user_id, int):
        return None, None
    now = time.time() if now is None else now
    user = db_session.get(StaffUser, user_id)
    reason = _ended(user, now)
    if reason is not None:
        session.clear()
        return None, reason
    session[SEEN_KEY] = now
    identity = StaffIdentity(user.id, user.username, user.role, user.must_change_password)
    return identity, None
