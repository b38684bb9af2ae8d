"""The one place configuration is read from the environment.

`.env` (see `.env.example`) fills in what the real environment leaves unset: it never overrides a
variable that is already set, so CI and production can configure through the environment alone.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

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


def _bounded_int(
    env: dict[str, str], name: str, default: int, low: int, high: int, example: str
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise SettingsError(
            f"{name} must be a whole number from {low} to {high}, such as {example}; got {raw!r}"
        )
    return value


def _list(env: dict[str, str], name: str, default: list[str]) -> list[str]:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    var_dir: Path = PROJECT_ROOT / "var"
    # The copy of the project whose content/ and bot/data/ the content editor changes
    # (bot/content/editing.py): this project, or a scratch copy in tests.
    content_root: Path = PROJECT_ROOT
    database_url: str = ""
    model_dir: Path = PROJECT_ROOT / "var" / "models"
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    # Production mode (`kapbot serve --prod`, or KAPBOT_PROD_MODE=true for every command):
    # rasa_instances Rasa servers on the ports after rasa_port, behind nginx on rasa_port,
    # sharing conversations in PostgreSQL and conversation locks in Redis at redis_url.
    prod_mode: bool = False
    rasa_instances: int = 2
    redis_url: str = ""
    actions_host: str = "127.0.0.1"
    actions_port: int = 5055
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    cors_origins: list[str] = field(default_factory=list)
    # Where visitors and staff reach the web app (links in the chat and in notifications);
    # empty means web_url, right for a single machine but not behind a proxy.
    public_url: str = ""
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
    # TLS from the first byte (SMTPS, usually port 465) rather than upgraded with STARTTLS.
    smtp_tls: bool = False
    # At most one notification per kind (urgent, other) in this many seconds; the handoffs made
    # meanwhile go out together in the next one (bot/desk/notify.py).
    notify_batch_seconds: int = 60
    # More new handoffs than this from one client address within the window are still stored,
    # but marked "possible flood" and listed apart (bot/desk/handoff_flood.py).
    handoff_flood_limit: int = 5
    handoff_flood_window_minutes: int = 60
    # Screening calls booked from one client address in 24 hours (bot/desk/bookings.py).
    booking_limit_per_address: int = 3
    notify_from: str = "kapbot@localhost"
    notify_emails: list[str] = field(default_factory=list)
    notify_webhook_url: str = ""
    # Screening-call bookings: when the clinic takes calls (bot/desk/scheduling.py).
    clinic_name: str = "the clinic"
    clinic_timezone: str = "America/New_York"
    clinic_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    clinic_open: dt.time = dt.time(9, 0)
    clinic_close: dt.time = dt.time(17, 0)
    slot_minutes: int = 30
    clinic_holidays: tuple[dt.date, ...] = ()
    # How many working days ahead a visitor may book, and how soon the earliest slot may be.
    booking_days_ahead: int = 10
    booking_lead_minutes: int = 60
    # Rasa's HTTP API, used to swap in a published model without a restart (bot/models/rasa_api.py):
    # every Rasa server that must load it, and the token they require. An empty token makes
    # `kapbot serve` generate one into var_dir/rasa-api-token.
    rasa_api_urls: list[str] = field(default_factory=list)
    rasa_api_token: str = ""
    # The longest a visitor waits for a reply; after that the public channels apologise with
    # the clinic's number (a slow or stuck action server must never mean silence).
    reply_timeout_seconds: int = 15
    # Behind a reverse proxy (nginx) that sets X-Forwarded-For/-Proto/-Host: the web app takes
    # the visitor's address and scheme from those headers. Never set it without such a proxy.
    trust_proxy: bool = False
    # Per-client limits on the public entry points (bot/protection/rate_limits.py): messages (or
    # feedback
    # votes) per client address and per conversation within a sliding window of this many
    # seconds. In Redis when redis_url is set, so they hold across Rasa instances.
    rate_limit_per_address: int = 60
    rate_limit_per_conversation: int = 20
    rate_limit_window_seconds: int = 60

    @property
    def rasa_url(self) -> str:
        return f"http://{self.rasa_host}:{self.rasa_port}"

    @property
    def rasa_instance_ports(self) -> list[int]:
        """The ports of production mode's Rasa instances: the ones right after rasa_port."""
        return instance_ports(self.rasa_port, self.rasa_instances)

    @property
    def actions_url(self) -> str:
        return f"http://{self.actions_host}:{self.actions_port}"

    @property
    def web_url(self) -> str:
        return f"http://{self.web_host}:{self.web_port}"

    @property
    def public_base_url(self) -> str:
        return (self.public_url or self.web_url).rstrip("/")

    def process_environment(self) -> dict[str, str]:
        """Variables that the Rasa processes need (endpoints.yml expands them)."""
        return {
            "DATABASE_URL": self.database_url,
            "ACTIONS_URL": self.actions_url,
            # The socket.io channel (bot/channels/socketio.py) admits the web app's origins
            # exactly as this process computed them, even when WEB_PORT came from .env.
            "CORS_ORIGINS": ",".join(self.cors_origins),
            "RASA_TELEMETRY_ENABLED": "false",
            # endpoints.yml's lock store (bot/stores/lock_store.py): Redis when set.
            "REDIS_URL": self.redis_url if self.prod_mode else "",
            # So the web app, too, knows the Rasa instances (rasa_api_urls) to publish to.
            "KAPBOT_PROD_MODE": "true" if self.prod_mode else "false",
            # bot/ops/rasa_server.py finds the API token here (or in RASA_API_TOKEN below): the
            # children read the same var/ as the process that started them.
            "KAPBOT_VAR_DIR": str(self.var_dir),
            # In the environment, which only the owner can read, never on a command line.
            **({"RASA_API_TOKEN": self.rasa_api_token} if self.rasa_api_token else {}),
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


def _smtp_tls(env: dict[str, str]) -> bool:
    tls = _bool(env, "SMTP_TLS", False)
    if tls and _bool(env, "SMTP_STARTTLS", False):
        raise SettingsError(
            "Set SMTP_TLS (TLS from the start, usually port 465) or SMTP_STARTTLS (upgrade, "
            "usually port 587), not both"
        )
    return tls


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# "mon" or "monday", in any case.
_DAY_NAMES = {**{day: day for day in WEEKDAYS}, **dict(zip(WEEKDAY_NAMES, WEEKDAYS, strict=True))}


def _timezone(env: dict[str, str]) -> str:
    raw = env.get("CLINIC_TIMEZONE", "").strip() or Settings.clinic_timezone
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"CLINIC_TIMEZONE must be a time zone name from the IANA database, such as "
            f"America/New_York or Europe/London; got {raw!r}"
        ) from None
    return raw


def _days(env: dict[str, str]) -> tuple[str, ...]:
    days = set()
    for name in _list(env, "CLINIC_DAYS", list(Settings.clinic_days)):
        if name.lower() not in _DAY_NAMES:
            raise SettingsError(
                f"CLINIC_DAYS must be comma-separated day names such as mon,tue,wed,thu,fri; "
                f"got {name!r}"
            )
        days.add(_DAY_NAMES[name.lower()])
    if not days:
        raise SettingsError(
            f"CLINIC_DAYS must name at least one day, such as mon,tue,wed,thu,fri; "
            f"got {env.get('CLINIC_DAYS')!r}"
        )
    return tuple(sorted(days, key=WEEKDAYS.index))


_HOURS = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def _hours(env: dict[str, str]) -> tuple[dt.time, dt.time]:
    raw = env.get("CLINIC_HOURS", "").strip()
    if not raw:
        return Settings.clinic_open, Settings.clinic_close
    problem = SettingsError(
        f"CLINIC_HOURS must be an opening and a closing time on the 24-hour clock, such as "
        f"09:00-17:00, the opening one first; got {raw!r}"
    )
    match = _HOURS.match(raw)
    if not match:
        raise problem
    try:
        hour_a, minute_a, hour_b, minute_b = (int(part) for part in match.groups())
        opening, closing = dt.time(hour_a, minute_a), dt.time(hour_b, minute_b)
    except ValueError:
        raise problem from None
    if opening >= closing:
        raise problem
    return opening, closing


def _slot_minutes(env: dict[str, str], opening: dt.time, closing: dt.time) -> int:
    minutes = _bounded_int(env, "SLOT_MINUTES", Settings.slot_minutes, 5, 240, "30")
    day = dt.date(2000, 1, 3)
    open_for = dt.datetime.combine(day, closing) - dt.datetime.combine(day, opening)
    if dt.timedelta(minutes=minutes) > open_for:
        raise SettingsError(
            f"SLOT_MINUTES ({minutes}) must fit at least once between the opening and closing "
            f"times of CLINIC_HOURS, such as 30 for 09:00-17:00"
        )
    return minutes


def _dates(env: dict[str, str], name: str) -> tuple[dt.date, ...]:
    dates = set()
    for item in _list(env, name, []):
        try:
            if len(item) != 10:
                raise ValueError(item)
            dates.add(dt.date.fromisoformat(item))
        except ValueError:
            raise SettingsError(
                f"{name} must be comma-separated dates written as YYYY-MM-DD, such as "
                f"2026-12-25,2027-01-01; got {item!r}"
            ) from None
    return tuple(sorted(dates))


def instance_ports(rasa_port: int, instances: int) -> list[int]:
    return [rasa_port + 1 + index for index in range(instances)]


def _rasa_api_urls(env: dict[str, str], default: list[str]) -> list[str]:
    urls = [url.rstrip("/") for url in _list(env, "RASA_API_URLS", default)]
    for url in urls:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise SettingsError(
                f"RASA_API_URLS must be comma-separated addresses of Rasa servers, such as "
                f"http://127.0.0.1:5005; got {url!r}"
            )
    return urls


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
    clinic_open, clinic_close = _hours(env)
    rasa_host = env.get("RASA_HOST", "127.0.0.1")
    rasa_port = _int(env, "RASA_PORT", 5005)
    prod_mode = _bool(env, "KAPBOT_PROD_MODE", False)
    rasa_instances = _bounded_int(env, "RASA_INSTANCES", Settings.rasa_instances, 1, 16, "2")
    # Publishing reaches every Rasa server directly: in production mode each instance (on
    # loopback, behind nginx), otherwise the one server.
    api_defaults = (
        [f"http://127.0.0.1:{port}" for port in instance_ports(rasa_port, rasa_instances)]
        if prod_mode
        else [f"http://{rasa_host}:{rasa_port}"]
    )
    public_url = env.get("PUBLIC_URL", "").strip()
    if public_url and urlsplit(public_url).scheme not in ("http", "https"):
        raise SettingsError(
            f"PUBLIC_URL must be the web app's address as visitors reach it, such as "
            f"https://chat.example-clinic.org, got {public_url!r}"
        )
    return Settings(
        environment=env.get("KAPBOT_ENV", "development"),
        public_url=public_url,
        var_dir=var_dir,
        content_root=PROJECT_ROOT / (env.get("KAPBOT_CONTENT_ROOT") or "."),
        database_url=database_url,
        model_dir=PROJECT_ROOT / env["MODEL_DIR"] if env.get("MODEL_DIR") else var_dir / "models",
        rasa_host=rasa_host,
        rasa_port=rasa_port,
        prod_mode=prod_mode,
        rasa_instances=rasa_instances,
        redis_url=env.get("REDIS_URL", "").strip(),
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
        smtp_tls=_smtp_tls(env),
        notify_batch_seconds=_bounded_int(
            env, "NOTIFY_BATCH_SECONDS", Settings.notify_batch_seconds, 1, 3600, "60"
        ),
        handoff_flood_limit=_bounded_int(
            env, "HANDOFF_FLOOD_LIMIT", Settings.handoff_flood_limit, 1, 100_000, "5"
        ),
        handoff_flood_window_minutes=_bounded_int(
            env,
            "HANDOFF_FLOOD_WINDOW_MINUTES",
            Settings.handoff_flood_window_minutes,
            1,
            10_080,
            "60",
        ),
        booking_limit_per_address=_bounded_int(
            env, "BOOKING_LIMIT_PER_ADDRESS", Settings.booking_limit_per_address, 1, 100_000, "3"
        ),
        notify_from=env.get("NOTIFY_FROM", "").strip() or Settings.notify_from,
        notify_emails=_list(env, "NOTIFY_EMAILS", []),
        notify_webhook_url=env.get("NOTIFY_WEBHOOK_URL", "").strip(),
        clinic_name=env.get("CLINIC_NAME", "").strip() or Settings.clinic_name,
        clinic_timezone=_timezone(env),
        clinic_days=_days(env),
        clinic_open=clinic_open,
        clinic_close=clinic_close,
        slot_minutes=_slot_minutes(env, clinic_open, clinic_close),
        clinic_holidays=_dates(env, "CLINIC_HOLIDAYS"),
        booking_days_ahead=_bounded_int(
            env, "BOOKING_DAYS_AHEAD", Settings.booking_days_ahead, 1, 60, "10"
        ),
        booking_lead_minutes=_bounded_int(
            env, "BOOKING_LEAD_MINUTES", Settings.booking_lead_minutes, 0, 7 * 24 * 60, "60"
        ),
        rasa_api_urls=_rasa_api_urls(env, api_defaults),
        rasa_api_token=env.get("RASA_API_TOKEN", "").strip(),
        trust_proxy=_bool(env, "TRUST_PROXY", False),
        rate_limit_per_address=_bounded_int(
            env, "RATE_LIMIT_PER_ADDRESS", Settings.rate_limit_per_address, 1, 10**7, "60"
        ),
        rate_limit_per_conversation=_bounded_int(
            env, "RATE_LIMIT_PER_CONVERSATION", Settings.rate_limit_per_conversation, 1, 10**7, "20"
        ),
        rate_limit_window_seconds=_bounded_int(
            env, "RATE_LIMIT_WINDOW_SECONDS", Settings.rate_limit_window_seconds, 1, 3600, "60"
        ),
        reply_timeout_seconds=_bounded_int(
            env, "REPLY_TIMEOUT_SECONDS", Settings.reply_timeout_seconds, 1, 300, "15"
        ),
    )


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process: `.env` first loaded without overriding the real environment."""
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    return settings_from_env()
