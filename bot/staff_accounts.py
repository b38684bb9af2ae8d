"""Staff accounts for the staff console: creation, password checks and lockout.

Plain functions over a SQLAlchemy session; the web app and the CLI are thin layers over them.
Passwords are hashed with Argon2 (argon2-cffi) and never stored, logged or audited.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session

from bot.db.models import ROLES, StaffUser, utc_now

USERNAME_PATTERN = re.compile(r"^[a-z0-9._-]{3,64}$")
MIN_PASSWORD_LENGTH = 12
# Argon2 hashes whatever it is given; a cap keeps a huge "password" from costing memory and time.
MAX_PASSWORD_LENGTH = 1024
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)

# One message for every refused sign-in, so the page never tells whether a username exists.
LOGIN_REFUSED = (
    "Sign-in refused: the username or password is wrong, or the account is locked. "
    f"After {MAX_FAILED_LOGINS} failed attempts an account is locked for "
    f"{int(LOCKOUT.total_seconds() // 60)} minutes; wait and try again, or ask an administrator."
)

_hasher = PasswordHasher()


class AccountError(ValueError):
    """An account request that cannot be carried out; the message says why."""


class LoginError(Exception):
    """A refused sign-in. `message` is safe to show; `reason` is for the audit log only:
    "unknown_user", "inactive", "locked" (already locked), "wrong_password" or "locked_now"
    (this failure locked the account)."""

    def __init__(self, reason: str, username: str | None = None):
        super().__init__(LOGIN_REFUSED)
        self.message = LOGIN_REFUSED
        self.reason = reason
        # Set only when the username belongs to an account (an unknown one may be a mistyped
        # password, so it is never kept).
        self.username = username


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def validate_username(username: str) -> str:
    username = normalise_username(username)
    if not USERNAME_PATTERN.match(username):
        raise AccountError(
            "A username must be 3 to 64 characters: lowercase letters, digits, '.', '_' or '-'."
        )
    return username


def validate_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"A password must be at least {MIN_PASSWORD_LENGTH} characters long.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"A password can be at most {MAX_PASSWORD_LENGTH} characters long.")


def validate_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"The role must be one of {', '.join(ROLES)}, got {role!r}.")
    return role


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def get_user(session: Session, username: str) -> StaffUser | None:
    return session.execute(
        sa.select(StaffUser).where(StaffUser.username == normalise_username(username))
    ).scalar_one_or_none()


def create_user(session: Session, username: str, password: str, role: str = "staff") -> StaffUser:
    """Adds an account; raises AccountError for a bad username, password or role, or a
    username that is taken."""
    username = validate_username(username)
    validate_password(password)
    validate_role(role)
    if get_user(session, username) is not None:
        raise AccountError(f"The username {username!r} is already taken.")
    user = StaffUser(
        username=username,
        password_hash=hash_password(password),
        role=role,
        active=True,
        created_at=utc_now(),
        failed_logins=0,
    )
    session.add(user)
    try:
        session.flush()
    except sa.exc.IntegrityError:
        # Created by someone else between the check and the insert; the session must be rolled
        # back (session_scope does so when this propagates).
        raise AccountError(f"The username {username!r} is already taken.") from None
    return user


def is_locked(user: StaffUser, now: dt.datetime | None = None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or utc_now())


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("no account has this password")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(
    session: Session, username: str, password: str, now: dt.datetime | None = None
) -> StaffUser:
    """The account for `username` if `password` is right and the account is active and not
    locked; otherwise raises LoginError.

    A wrong password counts as a failed attempt; the fifth in a row locks the account for
    LOCKOUT, during which even the right password is refused. The counters are changed on
    `session` before LoginError is raised: commit the session even when this raises.
    """
    now = now or utc_now()
    password = password if isinstance(password, str) else ""
    user = get_user(session, username) if username else None
    if user is None:
        # Same work as a real check, so timing does not tell whether the username exists.
        _verify(_dummy_hash(), password[:MAX_PASSWORD_LENGTH])
        raise LoginError("unknown_user")
    if not user.active:
        _verify(_dummy_hash(), password[:MAX_PASSWORD_LENGTH])
        raise LoginError("inactive", user.username)
    if is_locked(user, now):
        # Same work here too, so timing does not tell that the account exists and is locked.
        _verify(_dummy_hash(), password[:MAX_PASSWORD_LENGTH])
        raise LoginError("locked", user.username)
    if user.locked_until is not None:
        # The lockout is over: a fresh start.
        user.locked_until, user.failed_logins = None, 0

    if len(password) > MAX_PASSWORD_LENGTH or not _verify(user.password_hash, password):
        # Counted in the database, not read-then-written: parallel guesses cannot share one
        # count. The UPDATE also holds the row until commit, so the lock below is not raced.
        session.execute(
            sa.update(StaffUser)
            .where(StaffUser.id == user.id)
            .values(failed_logins=StaffUser.failed_logins + 1)
            .execution_options(synchronize_session=False)
        )
        session.refresh(user, ["failed_logins"])
        reason = "wrong_password"
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            reason = "locked_now"
        session.flush()
        raise LoginError(reason, user.username)

    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    session.flush()
    return user


def unlock(session: Session, user: StaffUser) -> None:
    """Lifts a lockout before it runs out (for an administrator)."""
    user.failed_logins, user.locked_until = 0, None
    session.flush()
