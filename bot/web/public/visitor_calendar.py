"""A visitor's calendar file for their screening call: /calendar/<token>.ics, no sign-in.

The token is the secret (secrets.token_urlsafe(24), unguessable); the URL holds nothing about the
visitor. A cancelled booking's link answers 404, like an unknown one.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app

from bot.db.session import session_scope
from bot.desk.booking_calendar import booking_ics, get_by_calendar_token
from bot.web.clinic import clinic_calendar

blueprint = Blueprint("visitor_calendar", __name__)


@blueprint.get("/calendar/<token>.ics")
def calendar_file(token: str):
    with session_scope(current_app.config.get("DATABASE_URL") or None) as db:
        booking = get_by_calendar_token(db, token)
        if booking is None or booking.status == "cancelled":
            abort(404)
        body, reference = booking_ics(booking, clinic_calendar()), booking.reference
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="screening-call-{reference}.ics"',
            # Only for the visitor: not for caches, search engines or the next page's Referer.
            "Cache-Control": "no-store",
            "X-Robots-Tag": "noindex",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )
