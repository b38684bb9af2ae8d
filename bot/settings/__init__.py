"""The one place configuration is read from the environment.

`.env` (see `.env.example`) fills in what the real environment leaves unset: it never overrides a
variable that is already set, so CI and production can configure through the environment alone.

The settings and their defaults are in `fields.py`; `from_env.py` and `clinic_calendar.py` read
them from the environment, group by group, and say what is wrong with a value that is not usable.
"""

from __future__ import annotations

import functools

from dotenv import load_dotenv

from bot.settings.clinic_calendar import WEEKDAY_NAMES, WEEKDAYS
from bot.settings.fields import Settings
from bot.settings.from_env import settings_from_env
from bot.settings.parsing import SettingsError
from bot.settings.paths import PROJECT_ROOT, SPACY_MODEL_DIR, rasa_project_args, shown_path

__all__ = [
    "PROJECT_ROOT",
    "SPACY_MODEL_DIR",
    "WEEKDAYS",
    "WEEKDAY_NAMES",
    "Settings",
    "SettingsError",
    "get_settings",
    "rasa_project_args",
    "settings_from_env",
    "shown_path",
]


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process: `.env` first loaded without overriding the real environment."""
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    return settings_from_env()
