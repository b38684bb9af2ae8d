"""The project's tables. The schema is created and changed only by Alembic migrations
(bot/db/migrations); `Base.metadata` is what those migrations are checked against."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


class UTCDateTime(sa.types.TypeDecorator):
    """An aware UTC datetime on every backend (SQLite would hand back naive ones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one (UTC)")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


# Values kept as short strings (not database enums) so a new reason needs no type migration.
# `unanswered`: an on-topic question the article does not cover, passed on at the visitor's wish.
HANDOFF_REASONS = ("eligibility", "human_request", "crisis", "unanswered")
URGENCIES = ("urgent", "normal")
HANDOFF_STATUSES = ("open", "claimed", "resolved")
# `clinician`: signs off the answers visitors see (bot/content/signoff.py); edits nothing.
ROLES = ("staff", "editor", "admin", "clinician")
VOTES = ("up", "down")
SPEAKERS = ("user", "bot")
BOOKING_STATUSES = ("booked", "cancelled", "done")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Handoff(Base):
    """A visitor's question passed to the clinic's care team, with the conversation so far."""

    __tablename__ = "kap_handoffs"

    id = sa.Column(sa.Integer, primary_key=True)
    reference = sa.Column(sa.String(16), nullable=False, unique=True)
    created_at = sa.Column(UTCDateTime(), nullable=False, default=utc_now, index=True)
    reason = sa.Column(sa.String(32), nullable=False)
    urgency = sa.Column(sa.String(16), nullable=False, default="normal")
    status = sa.Column(sa.String(16), nullable=False, default="open")
    conversation_id = sa.Column(sa.String(128), nullable=False)
    question = sa.Column(sa.Text, nullable=True)
    contact_name = sa.Column(sa.String(120), nullable=True)
    contact_phone = sa.Column(sa.String(32), nullable=True)
    contact_email = sa.Column(sa.String(254), nullable=True)
    contact_consent = sa.Column(sa.Boolean, nullable=False, default=False)
    claimed_by = sa.Column(sa.String(64), nullable=True)
    claimed_at = sa.Column(UTCDateTime(), nullable=True)
    resolved_by = sa.Column(sa.String(64), nullable=True)
    resolved_at = sa.Column(UTCDateTime(), nullable=True)
    # Where the visitor's message came from (bot/protection/client_address.py), for flood control.
    client_address = sa.Column(sa.String(64), nullable=True, index=True)
    # Over the per-address cap (bot/desk/handoff_flood.py): stored and listed, but grouped apart.
    possible_flood = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    # The conversation id while this is its one unresolved crisis handoff, else NULL: the unique
    # constraint lets each conversation have only one, whichever process stores it.
    open_crisis_of = sa.Column(sa.String(128), nullable=True)

    turns = relationship(
        "TranscriptTurn",
        order_by="TranscriptTurn.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
        back_populates="handoff",
    )
    notes = relationship(
        "HandoffNote",
        order_by="HandoffNote.created_at",
        cascade="all, delete-orphan",
        passive_deletes=True,
        back_populates="handoff",
    )

    __table_args__ = (
        sa.CheckConstraint(f"reason IN {HANDOFF_REASONS}", name="ck_kap_handoffs_reason"),
        sa.CheckConstraint(f"urgency IN {URGENCIES}", name="ck_kap_handoffs_urgency"),
        sa.CheckConstraint(f"status IN {HANDOFF_STATUSES}", name="ck_kap_handoffs_status"),
        sa.Index("ix_kap_handoffs_status_urgency", "status", "urgency"),
        sa.UniqueConstraint("open_crisis_of", name="uq_kap_handoffs_open_crisis_of"),
    )


class TranscriptTurn(Base):
    """One message of the conversation up to the handoff."""

    __tablename__ = "kap_transcript_turns"

    id = sa.Column(sa.Integer, primary_key=True)
    handoff_id = sa.Column(
        sa.Integer, sa.ForeignKey("kap_handoffs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position = sa.Column(sa.Integer, nullable=False)
    speaker = sa.Column(sa.String(8), nullable=False)
    text = sa.Column(sa.Text, nullable=False, default="")
    time = sa.Column(UTCDateTime(), nullable=False)
    # For user turns: what the NLU made of the message.
    intent = sa.Column(sa.String(128), nullable=True)
    confidence = sa.Column(sa.Float, nullable=True)

    handoff = relationship("Handoff", back_populates="turns")

    __table_args__ = (
        sa.CheckConstraint(f"speaker IN {SPEAKERS}", name="ck_kap_transcript_turns_speaker"),
        sa.UniqueConstraint("handoff_id", "position", name="uq_kap_transcript_turns_position"),
    )


class HandoffNote(Base):
    """A staff member's note on a handoff."""

    __tablename__ = "kap_handoff_notes"

    id = sa.Column(sa.Integer, primary_key=True)
    handoff_id = sa.Column(
        sa.Integer, sa.ForeignKey("kap_handoffs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    author = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(UTCDateTime(), nullable=False, default=utc_now)
    text = sa.Column(sa.Text, nullable=False)

    handoff = relationship("Handoff", back_populates="notes")


class StaffUser(Base):
    """A clinic employee who may sign in to the staff console."""

    __tablename__ = "kap_staff_users"

    id = sa.Column(sa.Integer, primary_key=True)
    username = sa.Column(sa.String(64), nullable=False, unique=True)
    password_hash = sa.Column(sa.String(255), nullable=False)
    role = sa.Column(sa.String(16), nullable=False, default="staff")
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    created_at = sa.Column(UTCDateTime(), nullable=False, default=utc_now)
    last_login_at = sa.Column(UTCDateTime(), nullable=True)
    # Raised whenever every session of the account must end (sign-out, deactivation, a password
    # change or reset, a new role); a session holding an older value is refused.
    session_version = sa.Column(sa.Integer, nullable=False, default=0, server_default="0")
    # Set by a password reset: the next sign-in must choose a new password before anything else.
    must_change_password = sa.Column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )

    __table_args__ = (sa.CheckConstraint(f"role IN {ROLES}", name="ck_kap_staff_users_role"),)


class LoginThrottle(Base):
    """Failed sign-ins counted per key (bot/desk/login_throttle.py). Keys and account names are
    stored hashed: a name that matches no account may be a password typed in the wrong box."""

    __tablename__ = "kap_login_throttle"

    key = sa.Column(sa.String(64), primary_key=True)
    account_hash = sa.Column(sa.String(64), nullable=True, index=True)
    failures = sa.Column(sa.Integer, nullable=False, default=0)
    blocked_until = sa.Column(UTCDateTime(), nullable=True)
    # An address that signed in to the account: the looser per-account and per-address limits
    # do not apply to it until then.
    known_until = sa.Column(UTCDateTime(), nullable=True)
    updated_at = sa.Column(UTCDateTime(), nullable=False, default=utc_now, index=True)


class AuditEntry(Base):
    """Who did what, when, in the staff console or CLI. Never holds a visitor's personal data."""

    __tablename__ = "kap_audit_log"

    id = sa.Column(sa.Integer, primary_key=True)
    at = sa.Column(UTCDateTime(), nullable=False, default=utc_now, index=True)
    actor = sa.Column(sa.String(64), nullable=False)
    action = sa.Column(sa.String(64), nullable=False)
    target = sa.Column(sa.String(128), nullable=True)
    detail = sa.Column(sa.Text, nullable=True)


class Booking(Base):
    """A screening call a visitor booked, at one slot (see bot/desk/scheduling.py)."""

    __tablename__ = "kap_bookings"

    id = sa.Column(sa.Integer, primary_key=True)
    reference = sa.Column(sa.String(16), nullable=False, unique=True)
    created_at = sa.Column(UTCDateTime(), nullable=False, default=utc_now)
    slot_start = sa.Column(UTCDateTime(), nullable=False, index=True)
    status = sa.Column(sa.String(16), nullable=False, default="booked")
    name = sa.Column(sa.String(120), nullable=False)
    phone = sa.Column(sa.String(32), nullable=False)  # E.164
    email = sa.Column(sa.String(254), nullable=True)
    consent = sa.Column(sa.Boolean, nullable=False)
    conversation_id = sa.Column(sa.String(128), nullable=False)
    # The eligibility handoff made in the same conversation, if any. A reference, not a foreign
    # key: `kapbot purge` may delete the handoff before the booking, and a handoff kept in the
    # pending file during a database outage is stored later.
    handoff_reference = sa.Column(sa.String(16), nullable=True, index=True)
    # The secret in the visitor's calendar link (/calendar/<token>.ics).
    calendar_token = sa.Column(sa.String(64), nullable=False, unique=True)
    cancelled_at = sa.Column(UTCDateTime(), nullable=True)
    cancelled_by = sa.Column(sa.String(64), nullable=True)  # "visitor" or a staff username
    # Where the confirming message came from (bot/protection/client_address.py): the per-address
    # daily cap.
    client_address = sa.Column(sa.String(64), nullable=True, index=True)

    __table_args__ = (
        sa.CheckConstraint(f"status IN {BOOKING_STATUSES}", name="ck_kap_bookings_status"),
        # One active booking per slot, enforced by the database whoever writes: a cancelled
        # booking no longer holds its slot.
        sa.Index(
            "uq_kap_bookings_active_slot",
            "slot_start",
            unique=True,
            sqlite_where=sa.text("status = 'booked'"),
            postgresql_where=sa.text("status = 'booked'"),
        ),
    )


class AnswerFeedback(Base):
    """A visitor's thumbs up or down on one FAQ answer in the website widget, so editors see
    which answers visitors found unhelpful. No personal data: the topic, not the text asked."""

    __tablename__ = "kap_answer_feedback"

    id = sa.Column(sa.Integer, primary_key=True)
    at = sa.Column(UTCDateTime(), nullable=False, default=utc_now)
    conversation_id = sa.Column(sa.String(64), nullable=False, index=True)
    topic = sa.Column(sa.String(64), nullable=False, index=True)
    vote = sa.Column(sa.String(8), nullable=False)

    __table_args__ = (sa.CheckConstraint(f"vote IN {VOTES}", name="ck_kap_answer_feedback_vote"),)


INBOX_DECISIONS = ("assigned", "dismissed")


class InboxRequest(Base):
    """A visitor message an editor sent to the review inbox from the gap report
    (bot/conversations/gaps.py), for labelling: named by its conversation and its time in the
    tracker store, so this table holds no visitor text either."""

    __tablename__ = "kap_inbox_requests"

    id = sa.Column(sa.Integer, primary_key=True)
    key = sa.Column(sa.String(64), nullable=False, unique=True)
    conversation_id = sa.Column(sa.String(255), nullable=False, index=True)
    message_timestamp = sa.Column(sa.Float, nullable=False)
    requested_by = sa.Column(sa.String(64), nullable=False)
    requested_at = sa.Column(UTCDateTime(), nullable=False, default=utc_now)


class InboxDecision(Base):
    """What an editor decided about one visitor message in the review inbox
    (bot/conversations/inbox.py): it
    became a training example of `label`, or it was dismissed. The message itself stays in the
    tracker store; `key` names it, so this table holds no visitor text."""

    __tablename__ = "kap_inbox_decisions"

    id = sa.Column(sa.Integer, primary_key=True)
    key = sa.Column(sa.String(64), nullable=False, unique=True)
    decision = sa.Column(sa.String(16), nullable=False)
    label = sa.Column(sa.String(64), nullable=True)
    decided_by = sa.Column(sa.String(64), nullable=False)
    decided_at = sa.Column(UTCDateTime(), nullable=False, default=utc_now)

    __table_args__ = (
        sa.CheckConstraint(
            f"decision IN {INBOX_DECISIONS}", name="ck_kap_inbox_decisions_decision"
        ),
    )
