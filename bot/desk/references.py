"""The references visitors and staff quote: handoffs (KAP-XXXXXX) and bookings (B-XXXXXXXX).

Written once here so the alphabet, the prefixes and the lengths cannot drift apart between the
code that makes references, the code that reads them back from a visitor's words, and masking.
"""

from __future__ import annotations

import re
import secrets

# No 0/O, 1/I/L: a reference is read out over the phone.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
HANDOFF_PREFIX, HANDOFF_LENGTH = "KAP-", 6
BOOKING_PREFIX, BOOKING_LENGTH = "B-", 8
# A booking reference in a visitor's message: any case, the hyphen a space or left out.
_BOOKING_IN_TEXT = re.compile(
    rf"\bB[-\s]?([{REFERENCE_ALPHABET}]{{{BOOKING_LENGTH}}})\b", re.IGNORECASE
)


def _random_characters(count: int) -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(count))


def new_handoff_reference() -> str:
    return HANDOFF_PREFIX + _random_characters(HANDOFF_LENGTH)


def new_booking_reference() -> str:
    return BOOKING_PREFIX + _random_characters(BOOKING_LENGTH)


def normalise_reference(reference: str) -> str:
    """A reference as stored, whatever spaces or case it was typed with."""
    return "".join((reference or "").split()).upper()


def booking_reference_in(text: str) -> str | None:
    """The booking reference a visitor's message names ("cancel b 7kq2m9xa"), as stored."""
    match = _BOOKING_IN_TEXT.search(text or "")
    return f"{BOOKING_PREFIX}{match.group(1).upper()}" if match else None


def locked_by_reference(session, model, reference: str):
    """The row of `model` (Handoff or Booking) with this reference, or None; row-locked until
    commit where the database can (PostgreSQL), so two staff members acting at once cannot both
    change it."""
    import sqlalchemy as sa

    return session.execute(
        sa.select(model).where(model.reference == reference).with_for_update()
    ).scalar_one_or_none()
