"""The one check that a datetime is aware: the care team's times are compared and stored in
UTC, and a naive one would be read on whichever clock the server happens to use."""

from __future__ import annotations

import datetime as dt


def require_aware(value: dt.datetime, what: str, error: type[Exception] = ValueError) -> None:
    """Raises `error` (the caller's own kind of ValueError) unless `value` is an aware
    datetime."""
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise error(f"{what} must be an aware datetime (UTC), got {value!r}")
