"""The one place configuration is read from the environment.

`.env` (see `.env.example`) fills in what the real environment leaves unset: it never overrides a
variable that is already set, so CI and production can configure through the environment alone.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# config.yml names this path (relative to the project root, where Rasa always runs).
SPACY_MODEL_DIR = PROJECT_ROOT / "var" / "spacy" / "en_kap_lookup"


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message says which and how to fix it."""


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


def _list(env: dict[str, str], name: str, default: list[str]) -> list[str]:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    var_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""
    model_dir: Path = PROJECT_ROOT / "var" / "models"
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    actions_host: str = "127.0.0.1"
    actions_port: int = 5055
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    cors_origins: list[str] = field(default_factory=list)
    log_level: str = "INFO"
    # What the bot tells a visitor whose question goes to the care team.
    clinic_phone: str = "(555) 010-0000"
    office_hours: str = "Monday to Friday, 9 am to 5 pm"
    # Country whose phone-number format applies when a visitor types no +country code.
    phone_region: str = "US"
    # Signs the staff console's session cookies. Empty in development: one is generated and kept
    # in var/secret_key; production refuses to start without it.
    secret_key: str = ""
    # New-handoff notifications to staff (no visitor data in them, just the reference and a link).
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    notify_from: str = "kapbot@localhost"
    notify_emails: list[str] = field(default_factory=list)
    notify_webhook_url: str = ""

    @property
    def rasa_url(self) -> str:
        return f"http://{self.rasa_host}:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://{self.actions_host}:{self.actions_port}"

    @property
    def web_url(self) -> str:
        return f"http://{self.web_host}:{self.web_port}"

    def process_environment(self) -> dict[str, str]:
        """Variables that the Rasa processes need (endpoints.yml expands them)."""
        return {
            "DATABASE_URL": self.database_url,
            "ACTIONS_URL": self.actions_url,
            "RASA_TELEMETRY_ENABLED": "false",
        }


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def settings_from_env(env: dict[str, str] | None = None) -> Settings:
    """Builds settings from a mapping (the process environment by default)."""
    env = dict(os.environ if env is None else env)
    # Relative paths are taken from the project root, wherever the command runs.
    var_dir = PROJECT_ROOT / (env.get("KAPBOT_VAR_DIR") or "var")
    web_host = env.get("WEB_HOST", "127.0.0.1")
    web_port = _int(env, "WEB_PORT", 8080)
    database_url = env.get("DATABASE_URL", "").strip() or f"sqlite:///{var_dir / 'kapbot.db'}"
    if "://" not in database_url:
        raise SettingsError(
            f"DATABASE_URL must be a URL such as sqlite:///var/kapbot.db or "
            f"postgresql://user@127.0.0.1:5432/kapbot, got {database_url!r}"
        )
    return Settings(
        environment=env.get("KAPBOT_ENV", "development"),
        var_dir=var_dir,
        database_url=database_url,
        model_dir=PROJECT_ROOT / env["MODEL_DIR"] if env.get("MODEL_DIR") else var_dir / "models",
        rasa_host=env.get("RASA_HOST", "127.0.0.1"),
        rasa_port=_int(env, "RASA_PORT", 5005),
        actions_host=env.get("ACTIONS_HOST", "127.0.0.1"),
        actions_port=_int(env, "ACTIONS_PORT", 5055),
        web_host=web_host,
        web_port=web_port,
        cors_origins=_list(
            env, "CORS_ORIGINS", [f"http://127.0.0.1:{web_port}", f"http://localhost:{web_port}"]
        ),
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        clinic_phone=env.get("CLINIC_PHONE", "").strip() or Settings.clinic_phone,
        office_hours=env.get("OFFICE_HOURS", "").strip() or Settings.office_hours,
        phone_region=(env.get("PHONE_REGION", "").strip() or Settings.phone_region).upper(),
        secret_key=env.get("SECRET_KEY", "").strip(),
        smtp_host=env.get("SMTP_HOST", "").strip(),
        smtp_port=_int(env, "SMTP_PORT", 25),
        smtp_user=env.get("SMTP_USER", "").strip(),
        smtp_password=env.get("SMTP_PASSWORD", ""),
        smtp_starttls=_bool(env, "SMTP_STARTTLS", False),
        notify_from=env.get("NOTIFY_FROM", "").strip() or Settings.notify_from,
        notify_emails=_list(env, "NOTIFY_EMAILS", []),
        notify_webhook_url=env.get("NOTIFY_WEBHOOK_URL", "").strip(),
    )


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process: `.env` first loaded without overriding the real environment."""
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    return settings_from_env()
