"""What several actions need: the content (as its files are now), the clinic's contact details
for messages, the visitor's latest intent, and running blocking database work off the event
loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from rasa_sdk import Tracker

from bot.content.model import Content, current
from bot.settings import get_settings

T = TypeVar("T")


def content() -> Content:
    # Not read once per process: a published model brings its topics without a restart of the
    # action server, and its "did you mean" buttons must offer them (bot.content.model.current).
    return current()


def clinic_details() -> dict[str, str]:
    """The {clinic_phone} and {office_hours} of the messages that point to the clinic."""
    settings = get_settings()
    return {"clinic_phone": settings.clinic_phone, "office_hours": settings.office_hours}


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


async def in_thread(job: Callable[..., T], *args: Any) -> T:
    """Runs blocking work (the database) without holding up the action server's event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, job, *args)
