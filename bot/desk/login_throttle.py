"""Sign-in throttling for the staff console: a growing wait after repeated failures, counted per
(account, client address), per account and per client address, instead of a lockout.

A lockout lets any stranger who knows a username keep its owner out. Here the strict limit is
per (account, address): a stranger's failures slow down only the stranger's address. The
looser per-account limit (guesses spread over many addresses) and per-address limit (one address
trying many names) do not apply to an address that has signed in to the account before, so a
stranger cannot use them to keep the owner out of the places they usually work from. Why these
numbers: docs/security.md ("Staff accounts and sessions").

Plain functions over a SQLAlchemy session, in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.db.models import LoginThrottle, utc_now


@dataclass(frozen=True)
class Limit:
    scope: str
    free_failures: int  # failures allowed before the first wait
    longest_wait: dt.timedelta


# The first wait is five seconds (a few typos cost little); each further failure doubles it,
# up to the longest wait.
FIRST_WAIT = dt.timedelta(seconds=5)
PAIR = Limit("account+address", free_failures=5, longest_wait=dt.timedelta(hours=1))
ACCOUNT = Limit("account", free_failures=10, longest_wait=dt.timedelta(minutes=1))
ADDRESS = Limit("address", free_failures=30, longest_wait=dt.timedelta(minutes=5))
# Counts with no failure for this long start again from zero (and their rows are deleted).
FORGET_AFTER = dt.timedelta(days=1)
# How long a successful sign-in makes its address "known" for the account.
KNOWN_FOR = dt.timedelta(days=30)


class Throttled(Exception):
    """Too many failed sign-ins: no password is checked until `retry_after` has passed."""

    def __init__(self, retry_after: dt.timedelta):
        self.seconds = max(1, math.ceil(retry_after.total_seconds()))
        self.message = f"Too many sign-in attempts. Try again in {_in_words(self.seconds)}."
        super().__init__(self.message)


def _in_words(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(("kapbot-sign-in", *parts)).encode()).hexdigest()


def account_hash(username: str) -> str:
    return _digest("account", username)


def _keys(username: str, address: str) -> dict[Limit, str]:
    return {
        PAIR: _digest(PAIR.scope, username, address),
        ACCOUNT: _digest(ACCOUNT.scope, username),
        ADDRESS: _digest(ADDRESS.scope, address),
    }


def wait_after(limit: Limit, failures: int) -> dt.timedelta:
    """How long a key is refused after its `failures`-th failure in a row."""
    if failures < limit.free_failures:
        return dt.timedelta(0)
    doublings = min(failures - limit.free_failures, 32)  # 2**32 s is far beyond any cap
    return min(FIRST_WAIT * 2**doublings, limit.longest_wait)


def _rows(session: Session, keys: dict[Limit, str]) -> dict[str, LoginThrottle]:
    query = sa.select(LoginThrottle).where(LoginThrottle.key.in_(list(keys.values())))
    return {row.key: row for row in session.execute(query).scalars()}


def check(session: Session, username: str, address: str, now: dt.datetime | None = None) -> None:
    """Raises Throttled while any limit that applies to (username, address) is waiting."""
    now = now or utc_now()
    keys = _keys(username, address)
    rows = _rows(session, keys)
    pair = rows.get(keys[PAIR])
    known = pair is not None and pair.known_until is not None and pair.known_until > now
    applying = [PAIR] if known else [PAIR, ACCOUNT, ADDRESS]
    waits = [
        rows[keys[limit]].blocked_until - now
        for limit in applying
        if keys[limit] in rows
        and rows[keys[limit]].blocked_until is not None
        and rows[keys[limit]].blocked_until > now
    ]
    if waits:
        raise Throttled(max(waits))


def record_failure(
    session: Session, username: str, address: str, now: dt.datetime | None = None
) -> None:
    """Counts one failed sign-in against every key of (username, address)."""
    now = now or utc_now()
    session.execute(sa.delete(LoginThrottle).where(_forgotten(now)))
    for limit, key in _keys(username, address).items():
        row = _counted_row(session, key, now)
        if row.account_hash is None and limit is not ADDRESS:
            row.account_hash = account_hash(username)
        wait = wait_after(limit, row.failures)
        row.blocked_until = now + wait if wait else None
    session.flush()


def _forgotten(now: dt.datetime):
    cutoff = now - FORGET_AFTER
    return sa.and_(
        LoginThrottle.updated_at < cutoff,
        sa.or_(LoginThrottle.known_until.is_(None), LoginThrottle.known_until < now),
    )


def _counted_row(session: Session, key: str, now: dt.datetime) -> LoginThrottle:
    """The key's row with one more failure, counted in the database (parallel guesses cannot
    share one count); a count idle for FORGET_AFTER starts again."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(LoginThrottle)
        .values(key=key, failures=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    fresh = LoginThrottle.updated_at < now - FORGET_AFTER
    session.execute(
        sa.update(LoginThrottle)
        .where(LoginThrottle.key == key)
        .values(failures=sa.case((fresh, 1), else_=LoginThrottle.failures + 1), updated_at=now)
        .execution_options(synchronize_session=False)
    )
    row = session.get(LoginThrottle, key)
    session.refresh(row)
    return row


def record_success(
    session: Session, username: str, address: str, now: dt.datetime | None = None
) -> None:
    """A right password: the pair's and the account's counts start again and the address
    becomes known for the account. The address's own count stays: one good account must not
    wipe the trail of names it tried."""
    now = now or utc_now()
    keys = _keys(username, address)
    session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key == keys[ACCOUNT]))
    row = session.get(LoginThrottle, keys[PAIR])
    if row is None:
        row = LoginThrottle(key=keys[PAIR], account_hash=account_hash(username))
        session.add(row)
    row.failures, row.blocked_until = 0, None
    row.known_until, row.updated_at = now + KNOWN_FOR, now
    session.flush()


def clear_account(session: Session, username: str) -> int:
    """Lifts every wait on the account (its pairs and its own count), keeping known addresses;
    returns how many waits were lifted. The per-address counts are not the account's to clear."""
    rows = session.execute(
        sa.select(LoginThrottle).where(LoginThrottle.account_hash == account_hash(username))
    ).scalars()
    lifted = 0
    for row in rows:
        if row.failures or row.blocked_until is not None:
            lifted += 1
        row.failures, row.blocked_until = 0, None
    session.flush()
    return lifted
