"""Staff accounts for the staff console: creation, password checks (throttled by
bot/desk/login_throttle.py) and every change an administrator can make.

Plain functions over a SQLAlchemy session; the web app and the CLI are thin layers over them, so
each change of state is written here once, with its audit entry, in the caller's transaction.
Passwords are hashed with Argon2 (argon2-cffi) and never stored, logged or audited.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session

from bot.db.models import ROLES, StaffUser, utc_now
from bot.desk import audit, login_throttle
from bot.desk.login_throttle import Throttled

USERNAME_PATTERN = re.compile(r"^[a-z0-9._-]{3,64}$")
MIN_PASSWORD_LENGTH = 12
# Argon2 hashes whatever it is given; a cap keeps a huge "password" from costing memory and time.
MAX_PASSWORD_LENGTH = 1024

# One message for every refused sign-in, so the page never tells whether a username exists.
LOGIN_REFUSED = (
    "Sign-in refused: the username or password is wrong, or the account is not active. "
    "After several failed attempts you will have to wait a little before trying again; "
    "an administrator can lift the wait."
)

_hasher = PasswordHasher()


class AccountError(ValueError):
    """An account request that cannot be carried out; the message says why."""


class LoginError(Exception):
    """A refused sign-in. `message` is safe to show; `reason` is for the audit log only:
    "unknown_user", "inactive" or "wrong_password"."""

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
        session_version=0,
        must_change_password=False,
    )
    session.add(user)
    try:
        session.flush()
    except sa.exc.IntegrityError:
        # Created by someone else between the check and the insert; the session must be rolled
        # back (session_scope does so when this propagates).
        raise AccountError(f"The username {username!r} is already taken.") from None
    return user


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("no account has this password")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(
    session: Session,
    username: str,
    password: str,
    address: str = "unknown",
    now: dt.datetime | None = None,
) -> StaffUser:
    """The account for `username` if `password` is right and the account is active.

    Raises Throttled, before any password is checked, while (username, client `address`) has
    failed too often (bot/desk/login_throttle.py); raises LoginError for a wrong password, an
    unknown username or an inactive account, after counting the failure. The counts are
    changed on `session`: commit it even when this raises.
    """
    now = now or utc_now()
    password = password if isinstance(password, str) else ""
    name = normalise_username(username)[:MAX_PASSWORD_LENGTH]
    login_throttle.check(session, name, address, now)
    user = get_user(session, name) if name else None
    if user is None or not user.active:
        # Same work as a real check, so timing does not tell whether the username exists.
        _verify(_dummy_hash(), password[:MAX_PASSWORD_LENGTH])
        login_throttle.record_failure(session, name, address, now)
        raise LoginError("unknown_user" if user is None else "inactive", user and user.username)
    if len(password) > MAX_PASSWORD_LENGTH or not _verify(user.password_hash, password):
        login_throttle.record_failure(session, name, address, now)
        raise LoginError("wrong_password", user.username)

    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    login_throttle.record_success(session, name, address, now)
    user.last_login_at = now
    session.flush()
    return user


# --- What a user or an administrator changes --------------------------------------------------
# Each function below changes one thing, writes its audit entry (actor `by`) and, where the
# change must end the user's sessions, raises the session version checked on every request.


def account(session: Session, username: str) -> StaffUser:
    """The account named `username`, locked for the change; AccountError if there is none."""
    user = session.execute(
        sa.select(StaffUser)
        .where(StaffUser.username == normalise_username(username))
        .with_for_update()
    ).scalar_one_or_none()
    if user is None:
        raise AccountError(f"There is no account named {normalise_username(username)!r}.")
    return user


def list_users(session: Session) -> list[StaffUser]:
    return list(session.execute(sa.select(StaffUser).order_by(StaffUser.username)).scalars())


def end_sessions(session: Session, user: StaffUser) -> None:
    """Every session of `user`, on every browser, stops working at its next request."""
    session.execute(
        sa.update(StaffUser)
        .where(StaffUser.id == user.id)
        .values(session_version=StaffUser.session_version + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(user, ["session_version"])


def sign_out(session: Session, user: StaffUser) -> None:
    """Sign-out: ends every session of the user, not just this browser's."""
    end_sessions(session, user)
    audit.record(session, user.username, "logout", target=user.username)


def _keep_an_admin(session: Session, user: StaffUser) -> None:
    """Refuses a change that would leave no active administrator to undo it."""
    others = session.execute(
        sa.select(sa.func.count())
        .select_from(StaffUser)
        .where(StaffUser.role == "admin", StaffUser.active, StaffUser.id != user.id)
    ).scalar_one()
    if user.role == "admin" and user.active and others == 0:
        raise AccountError(
            f"{user.username!r} is the only active administrator: make another first."
        )


def unlock(session: Session, username: str, by: str) -> int:
    """Lifts every sign-in wait on the account; returns how many were lifted."""
    user = account(session, username)
    lifted = login_throttle.clear_account(session, user.username)
    audit.record(session, by, "staff_user_unlocked", target=user.username, detail=f"waits={lifted}")
    return lifted


def deactivate(session: Session, username: str, by: str) -> StaffUser:
    user = account(session, username)
    if not user.active:
        raise AccountError(f"The account {user.username!r} is already deactivated.")
    _keep_an_admin(session, user)
    user.active = False
    end_sessions(session, user)
    audit.record(session, by, "staff_user_deactivated", target=user.username)
    return user


def reactivate(session: Session, username: str, by: str) -> StaffUser:
    user = account(session, username)
    if user.active:
        raise AccountError(f"The account {user.username!r} is already active.")
    user.active = True
    audit.record(session, by, "staff_user_reactivated", target=user.username)
    return user


def set_role(session: Session, username: str, role: str, by: str) -> StaffUser:
    role = validate_role(role)
    user = account(session, username)
    if user.role == role:
        raise AccountError(f"The account {user.username!r} already has the role {role}.")
    if role != "admin":
        _keep_an_admin(session, user)
    before, user.role = user.role, role
    end_sessions(session, user)
    audit.record(
        session, by, "staff_role_changed", target=user.username, detail=f"{before} -> {role}"
    )
    return user


def reset_password(session: Session, username: str, by: str) -> str:
    """Gives the account a new random password, returned to show once to the administrator;
    the user must choose their own at their next sign-in."""
    user = account(session, username)
    temporary = secrets.token_urlsafe(12)  # 16 characters
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    end_sessions(session, user)
    login_throttle.clear_account(session, user.username)
    audit.record(session, by, "staff_password_reset", target=user.username)
    return temporary


def change_password(session: Session, user_id: int, current: str, new: str) -> StaffUser:
    """The user's own change: needs the current password. Ends every session of the user (the
    caller starts a new one for the browser that made the change)."""
    user = session.get(StaffUser, user_id, with_for_update=True)
    if user is None or not user.active:
        raise AccountError("This account can no longer sign in.")
    current = current if isinstance(current, str) else ""
    if not _verify(user.password_hash, current[:MAX_PASSWORD_LENGTH]):
        raise AccountError("The current password is wrong.")
    validate_password(new)
    if new == current:
        raise AccountError("The new password must differ from the current one.")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    end_sessions(session, user)
    audit.record(session, user.username, "password_changed", target=user.username)
    return user


def sign_in(
    session: Session, username: str, password: str, address: str
) -> StaffUser | LoginError | Throttled:
    """authenticate() with its audit entry: the account, or the refusal (returned, not raised,
    so the caller commits the failure it counted). An unknown username is never recorded: it
    may be a password typed in the wrong box."""
    try:
        user = authenticate(session, username, password, address)
    except Throttled as throttled:
        known = get_user(session, username) if username else None
        name = known.username if known else None
        audit.record(session, name or "anonymous", "login_throttled", target=name)
        return throttled
    except LoginError as refused:
        audit.record(
            session,
            refused.username or "anonymous",
            "login_failed",
            target=refused.username,
            detail=refused.reason,
        )
        return refused
    audit.record(session, user.username, "login_succeeded", target=user.username)
    return user
