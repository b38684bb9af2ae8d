"""Tells staff that new handoffs are waiting: an email and, if configured, a webhook (JSON POST).

Batched (`NotificationBatcher`): at most one notification per kind (urgent, other) every
NOTIFY_BATCH_SECONDS; the first after a quiet spell goes at once, and the handoffs made meanwhile
are listed together in the next, so a scripted flood of crisis messages cannot flood staff's
inboxes. Handoffs marked "possible flood" (bot/desk/handoff_flood.py) are listed apart.

A notification holds the reference, reason, urgency and time and a link to the staff console:
never the visitor's name, contact details, question or transcript (email and chat tools are not
the place for them). A failure is logged and reported in the result, never raised: the handoff
is already stored, and the console lists it whatever happens here.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import logging
import math
import smtplib
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from bot.settings import Settings, get_settings

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 10
WEBHOOK_TIMEOUT_SECONDS = 5
# A batch names at most this many handoffs; the console lists the rest.
LISTED_LIMIT = 50


@dataclass(frozen=True)
class HandoffSummary:
    """What a notification may say about a handoff, and nothing more."""

    reference: str
    reason: str
    urgency: str
    created_at: dt.datetime
    possible_flood: bool = False

    @classmethod
    def of(cls, handoff: Any, possible_flood: bool | None = None) -> HandoffSummary:
        """From a stored `Handoff`, a `HandoffDraft` or a mapping with the same four keys."""
        if isinstance(handoff, Mapping):
            values = [handoff[key] for key in ("reference", "reason", "urgency", "created_at")]
            flood = handoff.get("possible_flood", False)
        else:
            values = [handoff.reference, handoff.reason, handoff.urgency, handoff.created_at]
            flood = getattr(handoff, "possible_flood", False)
        return cls(*values, bool(flood if possible_flood is None else possible_flood))

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


def batch_subject(batch: Sequence[HandoffSummary]) -> str:
    if len(batch) == 1:
        return subject(batch[0])
    prefix = "[URGENT] " if any(s.urgent for s in batch) else ""
    flood = sum(s.possible_flood for s in batch)
    marked = f", {flood} marked possible flood" if flood else ""
    return f"{prefix}{len(batch)} new handoffs{marked}"


def _listed(summaries: Sequence[HandoffSummary], settings: Settings) -> list[str]:
    lines = [
        f"- {s.reference} ({s.reason}, {s.urgency}, {s.created_text()}): "
        + console_link(s, settings)
        for s in summaries[:LISTED_LIMIT]
    ]
    if len(summaries) > LISTED_LIMIT:
        lines.append(f"- and {len(summaries) - LISTED_LIMIT} more: see the staff console")
    return lines


def batch_body(batch: Sequence[HandoffSummary], settings: Settings) -> str:
    if len(batch) == 1:
        return email_body(batch[0], settings)
    real = [s for s in batch if not s.possible_flood]
    flood = [s for s in batch if s.possible_flood]
    lines = [f"{len(batch)} new handoffs are waiting for the care team.", ""]
    if any(s.urgent for s in batch):
        lines.insert(0, "URGENT: visitors may be in crisis. Please respond now.\n")
    lines += _listed(real, settings)
    if flood:
        lines += [
            "",
            f"{len(flood)} came from an address that opened many handoffs at once and are marked "
            "possible flood (a script, most likely; still check them):",
            *_listed(flood, settings),
            f"All of them: {settings.public_base_url}/staff/handoffs?flood=yes",
        ]
    lines += ["", "This message holds no visitor details: sign in to the console to see them."]
    return "\n".join(lines) + "\n"


def batch_payload(batch: Sequence[HandoffSummary], settings: Settings) -> dict[str, Any]:
    if len(batch) == 1:
        return webhook_payload(batch[0], settings)
    return {
        "event": "handoffs.created",
        "handoffs": [
            {**webhook_payload(s, settings), "possible_flood": s.possible_flood}
            for s in batch[:LISTED_LIMIT]
        ],
        "count": len(batch),
        "text": batch_subject(batch),
    }


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


def _smtp_connection(settings: Settings) -> smtplib.SMTP:
    """Connected as configured: TLS from the start (SMTP_TLS), upgraded (SMTP_STARTTLS), or
    plain. Both TLS ways verify the server's certificate and name."""
    address = (settings.smtp_host, settings.smtp_port)
    if settings.smtp_tls:
        context = ssl.create_default_context()
        return smtplib.SMTP_SSL(*address, timeout=SMTP_TIMEOUT_SECONDS, context=context)
    smtp = smtplib.SMTP(*address, timeout=SMTP_TIMEOUT_SECONDS)
    if settings.smtp_starttls:
        try:
            smtp.starttls(context=ssl.create_default_context())
        except BaseException:
            smtp.close()
            raise
    return smtp


def _send_email(batch: Sequence[HandoffSummary], settings: Settings) -> None:
    message = EmailMessage()
    message["Subject"] = batch_subject(batch)
    message["From"] = settings.notify_from
    message["To"] = ", ".join(settings.notify_emails)
    if any(summary.urgent for summary in batch):
        message["X-Priority"] = "1"
        message["Importance"] = "high"
    message.set_content(batch_body(batch, settings))
    with _smtp_connection(settings) as smtp:
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)


def _post_webhook(batch: Sequence[HandoffSummary], settings: Settings) -> None:
    url = settings.notify_webhook_url
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("NOTIFY_WEBHOOK_URL must be an http:// or https:// URL")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=json.dumps(batch_payload(batch, settings)).encode("utf-8"),
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
    """Announces one new handoff on every configured channel; never raises."""
    return notify_handoffs([summary], settings)


def notify_handoffs(
    batch: Sequence[HandoffSummary | Mapping[str, Any]], settings: Settings | None = None
) -> NotifyResult:
    """Announces new handoffs in one message per configured channel; never raises."""
    try:
        settings = settings or get_settings()
        batch = [s if isinstance(s, HandoffSummary) else HandoffSummary.of(s) for s in batch]
    except Exception as error:  # a notification must not break a handoff
        log.error("New-handoff notification not sent: %s", _why(error))
        return NotifyResult(email=False, webhook=False)
    if not batch:
        return NotifyResult()
    references = ", ".join(s.reference for s in batch[:3]) + ("…" if len(batch) > 3 else "")

    email: bool | None = None
    if settings.notify_emails:
        if not settings.smtp_host:
            log.error("New handoff %s: NOTIFY_EMAILS is set but SMTP_HOST is not", references)
            email = False
        else:
            try:
                _send_email(batch, settings)
                email = True
            except Exception as error:
                log.error("New-handoff email for %s failed: %s", references, _why(error))
                email = False

    webhook: bool | None = None
    if settings.notify_webhook_url:
        try:
            _post_webhook(batch, settings)
            webhook = True
        except Exception as error:
            log.error("New-handoff webhook for %s failed: %s", references, _why(error))
            webhook = False

    if email is None and webhook is None:
        log.warning("New handoff %s: no notification channel is configured", references)
    return NotifyResult(email=email, webhook=webhook)


class NotificationBatcher:
    """At most one notification per kind (urgent, other) every `interval` seconds, per process.

    The first handoff after a quiet spell is announced at once (a crisis must not wait); those
    that follow within the interval are kept and sent together when it ends."""

    def __init__(
        self,
        interval: float,
        send: Callable[[list[HandoffSummary]], Any],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval, self._send, self._clock = interval, send, clock
        self._lock = threading.Lock()
        self._pending: dict[str, list[HandoffSummary]] = {"urgent": [], "other": []}
        self._last_sent: dict[str, float] = {}
        self._timers: dict[str, threading.Timer] = {}

    def add(self, summary: HandoffSummary) -> None:
        kind = "urgent" if summary.urgent else "other"
        with self._lock:
            self._pending[kind].append(summary)
            if kind in self._timers:
                return  # the next batch of this kind is already due
            wait = self._last_sent.get(kind, -math.inf) + self.interval - self._clock()
            if wait > 0:
                timer = threading.Timer(wait, self._send_due, (kind,))
                timer.daemon = True
                self._timers[kind] = timer
                timer.start()
                return
            batch = self._take(kind)
        self._deliver(batch)

    def _take(self, kind: str) -> list[HandoffSummary]:
        batch, self._pending[kind] = self._pending[kind], []
        self._last_sent[kind] = self._clock()
        self._timers.pop(kind, None)
        return batch

    def _send_due(self, kind: str) -> None:
        with self._lock:
            batch = self._take(kind)
        self._deliver(batch)

    def _deliver(self, batch: list[HandoffSummary]) -> None:
        if batch:
            try:
                self._send(batch)
            except Exception as error:  # noqa: BLE001 - a timer thread must not die silently
                log.error("Handoff notification failed: %s", _why(error))

    def flush(self) -> None:
        """Sends what is waiting now (shutdown, tests)."""
        with self._lock:
            for timer in self._timers.values():
                timer.cancel()
            batches = [self._take(kind) for kind in list(self._pending)]
        for batch in batches:
            self._deliver(batch)


_batcher: NotificationBatcher | None = None
_batcher_lock = threading.Lock()


def batcher() -> NotificationBatcher:
    """This process's batcher; what it still holds is sent when the process exits."""
    global _batcher
    with _batcher_lock:
        if _batcher is None:
            settings = get_settings()
            _batcher = NotificationBatcher(
                settings.notify_batch_seconds, lambda batch: notify_handoffs(batch, settings)
            )
            atexit.register(_batcher.flush)
        return _batcher
