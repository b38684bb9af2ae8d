"""The staff console's blueprint, put together: the sign-in check, headers and error pages of
bot/web/staff/access.py, the routes of each page's module, the template filters, and the content
editors', the clinicians' sign-off and the gap report's blueprints nested in it (which the
sign-in check then covers as well)."""

from __future__ import annotations

from flask import Blueprint

from bot.web.staff import (
    access,
    accounts,
    audit_log,
    auth,
    bookings,
    content,
    gaps,
    handoffs,
    signoff,
)
from bot.web.staff.pages import TEMPLATE_FILTERS


def nested_blueprints() -> tuple[Blueprint, ...]:
    """The blueprints registered inside the console's: its sign-in and CSRF checks cover them."""
    return (content.blueprint, signoff.blueprint, gaps.blueprint)


def create_blueprint() -> Blueprint:
    """The `staff` blueprint at /staff, for create_app to register. A new one each time: its
    routes are added here, not when a module is imported."""
    staff = Blueprint("staff", __name__, url_prefix="/staff")
    staff.before_request(access.require_sign_in)
    staff.after_request(access.no_caching_and_no_framing)
    staff.register_error_handler(401, access.unauthorised)
    staff.register_error_handler(403, access.forbidden)
    staff.register_error_handler(404, access.not_found)
    for name, template_filter in TEMPLATE_FILTERS.items():
        staff.add_app_template_filter(template_filter, name)
    for pages in (auth, handoffs, bookings, audit_log, accounts):
        pages.add_routes(staff)
    for nested in nested_blueprints():
        staff.register_blueprint(nested)
    return staff
