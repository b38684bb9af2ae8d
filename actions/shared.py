"""What several actions need: the content (read once per process), the clinic's contact details
for messages, the visitor's latest intent, and running blocking database work off the event
loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from rasa_sdk import Tracker

from bot.content.model import Content, load_content
from bot.settings import get_settings

T = TypeVar("T")


@functools.lru_cache(maxsize=1)
def content() -> Content:
    # Content changes come with a retrain and a restart, so one read per process is enough.
    return load_content()


def clinic_details() -> dict[str, str]:
    """The {clinic_phone} and {office_hours} of the messages that point to the clinic."""
    settings = get_settings()
    return {"clinic_phone": settings.clinic_phone, "office_hours": settings.office_hours}


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


async def in_thread(job: Callable[..., T], *args: Any) -> T:
    """Runs blocking work (the database) without holding up the action server's event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, job, *args)
