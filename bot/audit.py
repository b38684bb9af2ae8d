"""The audit log: who did what, when, in the staff console or the CLI.

Callers pass only what identifies the action (a handoff reference, a staff username, a filter):
never a password, and never a visitor's personal data (names, phone numbers, message or note text).
"""

from __future__ import annotations

import datetime as dt

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
