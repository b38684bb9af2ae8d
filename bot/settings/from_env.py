"""Settings read from the environment, one reader per group of them: each returns its fields of
Settings, and refuses a value that is not usable with a message saying what it should be."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from bot.settings.clinic_calendar import read_clinic_calendar
from bot.settings.fields import Settings, instance_ports
from bot.settings.parsing import (
    SettingsError,
    parse_bool,
    parse_bounded_int,
    parse_int,
    parse_list,
)
from bot.settings.paths import PROJECT_ROOT


def _web(env: dict[str, str]) -> dict:
    web_port = parse_int(env, "WEB_PORT", 8080)
    public_url = env.get("PUBLIC_URL", "").strip()
    if public_url and urlsplit(public_url).scheme not in ("http", "https"):
        raise SettingsError(
            f"PUBLIC_URL must be the web app's address as visitors reach it, such as "
            f"https://chat.example-clinic.org, got {public_url!r}"
        )
    return {
        "web_host": env.get("WEB_HOST", "127.0.0.1"),
        "web_port": web_port,
        "cors_origins": parse_list(
            env, "CORS_ORIGINS", [f"http://127.0.0.1:{web_port}", f"http://localhost:{web_port}"]
        ),
        "public_url": public_url,
        "secret_key": env.get("SECRET_KEY", "").strip(),
        "trust_proxy": parse_bool(env, "TRUST_PROXY", False),
    }


def _storage(env: dict[str, str]) -> dict:
    # Relative paths are taken from the project root, wherever the command runs.
    var_dir = PROJECT_ROOT / (env.get("KAPBOT_VAR_DIR") or "var")
    database_url = env.get("DATABASE_URL", "").strip() or f"sqlite:///{var_dir / 'kapbot.db'}"
    if "://" not in database_url:
        raise SettingsError(
            f"DATABASE_URL must be a URL such as sqlite:///var/kapbot.db or "
            f"postgresql://user@127.0.0.1:5432/kapbot, got {database_url!r}"
        )
    return {
        "environment": env.get("KAPBOT_ENV", "development"),
        "var_dir": var_dir,
        "content_root": PROJECT_ROOT / (env.get("KAPBOT_CONTENT_ROOT") or "."),
        "database_url": database_url,
        "model_dir": PROJECT_ROOT / env["MODEL_DIR"]
        if env.get("MODEL_DIR")
        else var_dir / "models",
        "log_level": env.get("LOG_LEVEL", "INFO").upper(),
    }


def _rasa_api_urls(env: dict[str, str], default: list[str]) -> list[str]:
    urls = [url.rstrip("/") for url in parse_list(env, "RASA_API_URLS", default)]
    for url in urls:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise SettingsError(
                f"RASA_API_URLS must be comma-separated addresses of Rasa servers, such as "
                f"http://127.0.0.1:5005; got {url!r}"
            )
    return urls


def _rasa(env: dict[str, str]) -> dict:
    """The Rasa servers, their API, and the action server."""
    rasa_host = env.get("RASA_HOST", "127.0.0.1")
    rasa_port = parse_int(env, "RASA_PORT", 5005)
    prod_mode = parse_bool(env, "KAPBOT_PROD_MODE", False)
    rasa_instances = parse_bounded_int(env, "RASA_INSTANCES", Settings.rasa_instances, 1, 16, "2")
    # Publishing reaches every Rasa server directly: in production mode each instance (on
    # loopback, behind nginx), otherwise the one server.
    api_defaults = (
        [f"http://127.0.0.1:{port}" for port in instance_ports(rasa_port, rasa_instances)]
        if prod_mode
        else [f"http://{rasa_host}:{rasa_port}"]
    )
    return {
        "rasa_host": rasa_host,
        "rasa_port": rasa_port,
        "prod_mode": prod_mode,
        "rasa_instances": rasa_instances,
        "redis_url": env.get("REDIS_URL", "").strip(),
        "actions_host": env.get("ACTIONS_HOST", "127.0.0.1"),
        "actions_port": parse_int(env, "ACTIONS_PORT", 5055),
        "rasa_api_urls": _rasa_api_urls(env, api_defaults),
        "rasa_api_token": env.get("RASA_API_TOKEN", "").strip(),
        "reply_timeout_seconds": parse_bounded_int(
            env, "REPLY_TIMEOUT_SECONDS", Settings.reply_timeout_seconds, 1, 300, "15"
        ),
    }


def _smtp_tls(env: dict[str, str]) -> bool:
    tls = parse_bool(env, "SMTP_TLS", False)
    if tls and parse_bool(env, "SMTP_STARTTLS", False):
        raise SettingsError(
            "Set SMTP_TLS (TLS from the start, usually port 465) or SMTP_STARTTLS (upgrade, "
            "usually port 587), not both"
        )
    return tls


def _notifications(env: dict[str, str]) -> dict:
    """How staff are told of new handoffs: mail (SMTP) and a webhook."""
    return {
        "smtp_host": env.get("SMTP_HOST", "").strip(),
        "smtp_port": parse_int(env, "SMTP_PORT", 25),
        "smtp_user": env.get("SMTP_USER", "").strip(),
        "smtp_password": env.get("SMTP_PASSWORD", ""),
        "smtp_starttls": parse_bool(env, "SMTP_STARTTLS", False),
        "smtp_tls": _smtp_tls(env),
        "notify_batch_seconds": parse_bounded_int(
            env, "NOTIFY_BATCH_SECONDS", Settings.notify_batch_seconds, 1, 3600, "60"
        ),
        "notify_from": env.get("NOTIFY_FROM", "").strip() or Settings.notify_from,
        "notify_emails": parse_list(env, "NOTIFY_EMAILS", []),
        "notify_webhook_url": env.get("NOTIFY_WEBHOOK_URL", "").strip(),
    }


def _limits(env: dict[str, str]) -> dict:
    """What one client may do: handoffs before they are marked a flood, bookings, messages."""
    return {
        "handoff_flood_limit": parse_bounded_int(
            env, "HANDOFF_FLOOD_LIMIT", Settings.handoff_flood_limit, 1, 100_000, "5"
        ),
        "handoff_flood_window_minutes": parse_bounded_int(
            env,
            "HANDOFF_FLOOD_WINDOW_MINUTES",
            Settings.handoff_flood_window_minutes,
            1,
            10_080,
            "60",
        ),
        "booking_limit_per_address": parse_bounded_int(
            env, "BOOKING_LIMIT_PER_ADDRESS", Settings.booking_limit_per_address, 1, 100_000, "3"
        ),
        "rate_limit_per_address": parse_bounded_int(
            env, "RATE_LIMIT_PER_ADDRESS", Settings.rate_limit_per_address, 1, 10**7, "60"
        ),
        "rate_limit_per_conversation": parse_bounded_int(
            env, "RATE_LIMIT_PER_CONVERSATION", Settings.rate_limit_per_conversation, 1, 10**7, "20"
        ),
        "rate_limit_window_seconds": parse_bounded_int(
            env, "RATE_LIMIT_WINDOW_SECONDS", Settings.rate_limit_window_seconds, 1, 3600, "60"
        ),
    }


def _clinic(env: dict[str, str]) -> dict:
    """How the bot names the clinic and where it sends a visitor."""
    return {
        "clinic_name": env.get("CLINIC_NAME", "").strip() or Settings.clinic_name,
        "clinic_phone": env.get("CLINIC_PHONE", "").strip() or Settings.clinic_phone,
        "office_hours": env.get("OFFICE_HOURS", "").strip() or Settings.office_hours,
        "phone_region": (env.get("PHONE_REGION", "").strip() or Settings.phone_region).upper(),
    }


def settings_from_env(env: dict[str, str] | None = None) -> Settings:
    """Builds settings from a mapping (the process environment by default)."""
    env = dict(os.environ if env is None else env)
    return Settings(
        **_storage(env),
        **_web(env),
        **_rasa(env),
        **_clinic(env),
        **_notifications(env),
        **_limits(env),
        **read_clinic_calendar(env),
    )
