"""The settings: every value, its default and what it is for, and the addresses derived from
them. `from_env.py` fills them in from the environment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings.paths import PROJECT_ROOT


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


def instance_ports(rasa_port: int, instances: int) -> list[int]:
    return [rasa_port + 1 + index for index in range(instances)]
