"""The audit log: who did what, when, in the staff console or the CLI.

Callers pass only what identifies the action (a handoff reference, a staff username, a filter):
never a password, and never a visitor's personal data (names, phone numbers, message or note text).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.db.models import AuditEntry, utc_now

_ACTOR_LIMIT = 64
_ACTION_LIMIT = 64
_TARGET_LIMIT = 128
_DETAIL_LIMIT = 1000


def _clip(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = str(value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def record(
    session: Session,
    actor: str,
    action: str,
    target: str | None = None,
    detail: str | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Adds an entry to `session`; it is stored when the session commits, so an entry for a
    change is kept exactly when the change is."""
    entry = AuditEntry(
        at=at or utc_now(),
        actor=_clip(actor or "unknown", _ACTOR_LIMIT),
        action=_clip(action, _ACTION_LIMIT),
        target=_clip(target, _TARGET_LIMIT),
        detail=_clip(detail, _DETAIL_LIMIT),
    )
    session.add(entry)
    session.flush()
    return entry


def recent_entries(session: Session, limit: int = 200) -> list[AuditEntry]:
    """The newest `limit` entries, newest first."""
    query = sa.select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    return list(session.execute(query).scalars())


# Failed sign-ins for names that match no account: anyone can make thousands, so the audit view
# hides them unless asked, and they can never push real entries out of reach.
UNKNOWN_NAME_SIGN_INS = sa.and_(
    AuditEntry.actor == "anonymous",
    AuditEntry.action.in_(("login_failed", "login_throttled")),
)


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    include_unknown_names: bool = False


@dataclass
class AuditPage:
    entries: list[AuditEntry]
    number: int
    has_older: bool
    hidden_unknown_names: int  # entries matching the filter but hidden as unknown-name sign-ins


def page_of_entries(
    session: Session, wanted: AuditFilter, number: int = 1, size: int = 100
) -> AuditPage:
    """Page `number` (from 1, newest first) of the entries matching `wanted`."""
    conditions = []
    if wanted.actor:
        conditions.append(AuditEntry.actor == wanted.actor)
    if wanted.action:
        conditions.append(AuditEntry.action == wanted.action)
    hidden = 0
    if not wanted.include_unknown_names:
        hidden = session.execute(
            sa.select(sa.func.count())
            .select_from(AuditEntry)
            .where(*conditions, UNKNOWN_NAME_SIGN_INS)
        ).scalar_one()
        conditions.append(sa.not_(UNKNOWN_NAME_SIGN_INS))
    query = (
        sa.select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset((number - 1) * size)
        .limit(size + 1)  # one more tells whether there is an older page
    )
    rows = list(session.execute(query).scalars())
    return AuditPage(rows[:size], number, len(rows) > size, hidden)


def actions_in_use(session: Session) -> list[str]:
    """Every action the log holds, for the view's filter."""
    query = sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)
    return list(session.execute(query).scalars())
