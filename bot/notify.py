"""Tells staff that a new handoff is waiting: an email and, if configured, a webhook (JSON POST).

A notification holds the reference, reason, urgency and time and a link to the staff console:
never the visitor's name, contact details, question or transcript (email and chat tools are not
the place for them). A failure is logged and reported in the result, never raised: the handoff
is already stored, and the console lists it whatever happens here.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import smtplib
import ssl
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from bot.settings import Settings, get_settings

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 10
WEBHOOK_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class HandoffSummary:
    """What a notification may say about a handoff, and nothing more."""

    reference: str
    reason: str
    urgency: str
    created_at: dt.datetime

    @classmethod
    def of(cls, handoff: Any) -> HandoffSummary:
        """From a stored `Handoff`, a `HandoffDraft` or a mapping with the same four keys."""
        if isinstance(handoff, Mapping):
            return cls(
                handoff["reference"],
                handoff["reason"],
                handoff["urgency"],
                handoff["created_at"],
            )
        return cls(handoff.reference, handoff.reason, handoff.urgency, handoff.created_at)

    @property
    def urgent(self) -> bool:
        return self.urgency == "urgent"

    def created_text(self) -> str:
        created = self.created_at
        if isinstance(created, dt.datetime):
            if created.tzinfo is not None:
                created = created.astimezone(dt.timezone.utc)
            return created.strftime("%Y-%m-%d %H:%M UTC")
        return str(created)


@dataclass(frozen=True)
class NotifyResult:
    """Per channel: True when sent, False when it failed, None when it is not configured."""

    email: bool | None = None
    webhook: bool | None = None

    @property
    def delivered(self) -> bool:
        """Whether at least one channel reached staff."""
        return bool(self.email or self.webhook)

    @property
    def failed(self) -> list[str]:
        return [name for name in ("email", "webhook") if getattr(self, name) is False]


def console_link(summary: HandoffSummary, settings: Settings) -> str:
    return f"{settings.public_base_url}/staff/handoffs/{summary.reference}"


def subject(summary: HandoffSummary) -> str:
    prefix = "[URGENT] " if summary.urgent else ""
    return f"{prefix}New handoff {summary.reference} ({summary.reason})"


def email_body(summary: HandoffSummary, settings: Settings) -> str:
    lines = [
        "A new handoff is waiting for the care team.",
        "",
        f"Reference: {summary.reference}",
        f"Reason:    {summary.reason}",
        f"Urgency:   {summary.urgency}",
        f"Created:   {summary.created_text()}",
        "",
        f"Open it in the staff console: {console_link(summary, settings)}",
        "",
        "This message holds no visitor details: sign in to the console to see them.",
    ]
    if summary.urgent:
        lines.insert(0, "URGENT: the visitor may be in crisis. Please respond now.\n")
    return "\n".join(lines) + "\n"


def webhook_payload(summary: HandoffSummary, settings: Settings) -> dict[str, Any]:
    return {
        "event": "handoff.created",
        "reference": summary.reference,
        "reason": summary.reason,
        "urgency": summary.urgency,
        "created_at": (
            summary.created_at.isoformat()
            if isinstance(summary.created_at, dt.datetime)
            else str(summary.created_at)
        ),
        "url": console_link(summary, settings),
        "text": subject(summary),
    }


def _send_email(summary: HandoffSummary, settings: Settings) -> None:
    message = EmailMessage()
    message["Subject"] = subject(summary)
    message["From"] = settings.notify_from
    message["To"] = ", ".join(settings.notify_emails)
    if summary.urgent:
        message["X-Priority"] = "1"
        message["Importance"] = "high"
    message.set_content(email_body(summary, settings))
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)


def _post_webhook(summary: HandoffSummary, settings: Settings) -> None:
    url = settings.notify_webhook_url
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("NOTIFY_WEBHOOK_URL must be an http:// or https:// URL")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=json.dumps(webhook_payload(summary, settings)).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "kapbot"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
        response.read()


def _why(error: BaseException) -> str:
    # The summary holds no personal data, so neither can the error; keep it short anyway.
    return f"{type(error).__name__}: {error}"[:300]


def notify_new_handoff(
    summary: HandoffSummary | Mapping[str, Any], settings: Settings | None = None
) -> NotifyResult:
    """Announces a new handoff on every configured channel; never raises."""
    try:
        settings = settings or get_settings()
        summary = summary if isinstance(summary, HandoffSummary) else HandoffSummary.of(summary)
    except Exception as error:  # a notification must not break a handoff
        log.error("New-handoff notification not sent: %s", _why(error))
        return NotifyResult(email=False, webhook=False)

    email: bool | None = None
    if settings.notify_emails:
        if not settings.smtp_host:
            log.error(
                "New handoff %s: NOTIFY_EMAILS is set but SMTP_HOST is not", summary.reference
            )
            email = False
        else:
            try:
                _send_email(summary, settings)
                email = True
            except Exception as error:
                log.error("New-handoff email for %s failed: %s", summary.reference, _why(error))
                email = False

    webhook: bool | None = None
    if settings.notify_webhook_url:
        try:
            _post_webhook(summary, settings)
            webhook = True
        except Exception as error:
            log.error("New-handoff webhook for %s failed: %s", summary.reference, _why(error))
            webhook = False

    if email is None and webhook is None:
        log.warning("New handoff %s: no notification channel is configured", summary.reference)
    return NotifyResult(email=email, webhook=webhook)
