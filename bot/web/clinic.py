"""The clinic's calendar as the running web app knows it."""

from __future__ import annotations

from flask import current_app

from bot.desk.scheduling import ClinicCalendar


def clinic_calendar() -> ClinicCalendar:
    """When the clinic takes screening calls, from the running app's settings."""
    return ClinicCalendar.from_settings(current_app.config["KAPBOT_SETTINGS"])
