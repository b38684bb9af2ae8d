"""New-handoff notifications, sent to a real local SMTP server and a real local HTTP server."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import logging
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from bot.desk.handoff_drafts import Contact, HandoffDraft, Turn
from bot.desk.notify import (
    HandoffSummary,
    NotificationBatcher,
    NotifyResult,
    notify_handoffs,
    notify_new_handoff,
)
from bot.settings import settings_from_env
from tests.conftest import free_port

UTC = dt.timezone.utc
NAME, PHONE, EMAIL = "Ramona Quill", "+1 555 013 7788", "ramona.quill@example.org"
QUESTION = "I have been thinking about ending my life"
BOT_SAID = "I'm really glad you told me"
PERSONAL = (NAME, "Ramona", PHONE, "013 7788", EMAIL, QUESTION, "ending my life", BOT_SAID)


def crisis_draft(reason: str = "crisis") -> HandoffDraft:
    when = dt.datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    return HandoffDraft(
        reason=reason,
        conversation_id="conv-7",
        question=QUESTION,
        transcript=[Turn("user", QUESTION, when, "crisis", 0.99), Turn("bot", BOT_SAID, when)],
        contact=Contact(NAME, PHONE, EMAIL, consent=True),
        created_at=when,
    )


class Collector:
    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self):
        return [
            email.message_from_bytes(e.content, policy=email.policy.default) for e in self.envelopes
        ]


def start_smtp(**kwargs):
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller, handler


@pytest.fixture
def smtp_server():
    controller, handler = start_smtp()
    try:
        yield controller.port, handler
    finally:
        controller.stop()


@pytest.fixture
def webhook_server():
    received: list[dict] = []
    status = {"code": 204}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(status["code"])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/kap", received, status
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def settings(**env: str):
    return settings_from_env(
        {
            "WEB_HOST": "console.clinic.test",
            "WEB_PORT": "8443",
            "NOTIFY_FROM": "kapbot@clinic.test",
            **env,
        }
    )


def assert_no_personal_data(text: str) -> None:
    for personal in PERSONAL:
        assert personal.lower() not in text.lower()


def test_an_urgent_handoff_is_announced_by_email_and_webhook_without_personal_data(
    smtp_server, webhook_server, caplog
):
    port, smtp = smtp_server
    webhook_url, received, _ = webhook_server
    draft = crisis_draft()
    caplog.set_level(logging.DEBUG)

    result = notify_new_handoff(
        HandoffSummary.of(draft),
        settings(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(port),
            NOTIFY_EMAILS="oncall@clinic.test, lead@clinic.test",
            NOTIFY_WEBHOOK_URL=webhook_url,
        ),
    )

    assert result == NotifyResult(email=True, webhook=True)
    assert result.delivered and result.failed == []
    link = f"http://console.clinic.test:8443/staff/handoffs/{draft.reference}"

    (envelope,) = smtp.envelopes
    assert envelope.mail_from == "kapbot@clinic.test"
    assert envelope.rcpt_tos == ["oncall@clinic.test", "lead@clinic.test"]
    (message,) = smtp.messages()
    assert message["Subject"] == f"[URGENT] New handoff {draft.reference} (crisis)"
    body = message.get_content()
    assert link in body
    assert "2026-03-02 14:30 UTC" in body
    assert_no_personal_data(envelope.content.decode("utf-8", "replace"))

    (hook,) = received
    assert hook["path"] == "/hooks/kap"
    assert hook["headers"]["Content-Type"] == "application/json"
    payload = json.loads(hook["body"])
    assert payload["reference"] == draft.reference
    assert (payload["reason"], payload["urgency"]) == ("crisis", "urgent")
    assert payload["url"] == link
    assert payload["created_at"] == "2026-03-02T14:30:00+00:00"
    assert_no_personal_data(hook["body"].decode())
    assert_no_personal_data(caplog.text)


def test_a_normal_handoff_has_a_plain_subject_and_a_mapping_summary_is_reduced(smtp_server):
    port, smtp = smtp_server
    draft = crisis_draft("eligibility")
    # A whole exported handoff: only the four summary fields are used.
    exported = {
        "reference": draft.reference,
        "reason": "eligibility",
        "urgency": "normal",
        "created_at": draft.created_at,
        "contact": {"name": NAME, "phone": PHONE, "email": EMAIL},
        "question": QUESTION,
    }
    result = notify_new_handoff(
        exported, settings(SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), NOTIFY_EMAILS="a@b.test")
    )
    assert result == NotifyResult(email=True, webhook=None)
    (message,) = smtp.messages()
    assert message["Subject"] == f"New handoff {draft.reference} (eligibility)"
    assert f"/staff/handoffs/{draft.reference}" in message.get_content()
    assert_no_personal_data(smtp.envelopes[0].content.decode())


def test_unreachable_servers_are_reported_and_logged_never_raised(webhook_server, caplog):
    webhook_url, received, status = webhook_server
    status["code"] = 500
    caplog.set_level(logging.INFO, logger="bot.desk.notify")
    draft = crisis_draft()

    result = notify_new_handoff(
        HandoffSummary.of(draft),
        settings(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(free_port()),  # nothing listens there
            NOTIFY_EMAILS="oncall@clinic.test",
            NOTIFY_WEBHOOK_URL=webhook_url,
        ),
    )

    assert result == NotifyResult(email=False, webhook=False)
    assert not result.delivered and result.failed == ["email", "webhook"]
    assert len(received) == 1  # the webhook was tried
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2
    assert all(draft.reference in message for message in errors)
    assert_no_personal_data(caplog.text)

    nowhere = notify_new_handoff(
        HandoffSummary.of(draft),
        settings(NOTIFY_WEBHOOK_URL=f"http://127.0.0.1:{free_port()}/hook"),
    )
    assert nowhere == NotifyResult(email=None, webhook=False)
    not_http = notify_new_handoff(
        HandoffSummary.of(draft), settings(NOTIFY_WEBHOOK_URL="file:///etc/passwd")
    )
    assert not_http.webhook is False
    missing_host = notify_new_handoff(HandoffSummary.of(draft), settings(NOTIFY_EMAILS="a@b.test"))
    assert missing_host == NotifyResult(email=False, webhook=None)
    broken = notify_new_handoff({"reference": "KAP-X"}, settings())  # not a summary
    assert broken.failed == ["email", "webhook"]


def test_nothing_configured_sends_nothing():
    result = notify_new_handoff(HandoffSummary.of(crisis_draft()), settings())
    assert result == NotifyResult(email=None, webhook=None)
    assert not result.delivered and result.failed == []


@pytest.fixture
def tls_certificate(tmp_path, monkeypatch):
    """A self-signed certificate for 127.0.0.1 that the client is made to trust."""
    pytest.importorskip("cryptography")
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    # ssl.create_default_context() (used for STARTTLS) reads the trust store from SSL_CERT_FILE.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    return server_context


def test_starttls_and_login_when_configured(tls_certificate):
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password, session.ssl is not None))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    controller, handler = start_smtp(
        server_kwargs={"tls_context": tls_certificate, "require_starttls": True},
        authenticator=authenticator,
        auth_required=True,
    )
    try:
        common = {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(controller.port),
            "SMTP_STARTTLS": "true",
            "SMTP_USER": "kapbot",
            "NOTIFY_EMAILS": "oncall@clinic.test",
        }
        draft = crisis_draft()
        ok = notify_new_handoff(
            HandoffSummary.of(draft), settings(**common, SMTP_PASSWORD="s3cret")
        )
        wrong = notify_new_handoff(HandoffSummary.of(draft), settings(**common, SMTP_PASSWORD="no"))
        no_tls = notify_new_handoff(
            HandoffSummary.of(draft),
            settings(**{**common, "SMTP_STARTTLS": "false"}, SMTP_PASSWORD="s3cret"),
        )
    finally:
        controller.stop()

    assert ok.email is True and wrong.email is False and no_tls.email is False
    assert logins[:2] == [(b"kapbot", b"s3cret", True), (b"kapbot", b"no", True)]
    assert len(handler.envelopes) == 1


def test_implicit_tls_when_configured(tls_certificate, monkeypatch):
    # TLS from the first byte (SMTPS), as on port 465: a plain or STARTTLS client gets nowhere.
    # It waits for a greeting that never comes: on loopback, a second is long enough to know.
    monkeypatch.setattr("bot.desk.notify.SMTP_TIMEOUT_SECONDS", 1)
    controller, handler = start_smtp(ssl_context=tls_certificate)
    try:
        common = {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(controller.port),
            "NOTIFY_EMAILS": "oncall@clinic.test",
        }
        draft = crisis_draft()
        tls = notify_new_handoff(HandoffSummary.of(draft), settings(**common, SMTP_TLS="true"))
        plain = notify_new_handoff(HandoffSummary.of(draft), settings(**common))
    finally:
        controller.stop()
    assert tls.email is True and plain.email is False
    (message,) = handler.messages()
    assert message["Subject"] == f"[URGENT] New handoff {draft.reference} (crisis)"


def test_starttls_and_implicit_tls_together_are_refused():
    from bot.settings import SettingsError

    with pytest.raises(SettingsError, match="not both"):
        settings(SMTP_TLS="true", SMTP_STARTTLS="true")


def summary(n: int, urgency: str = "urgent", flood: bool = False) -> HandoffSummary:
    when = dt.datetime(2026, 3, 2, 14, n, tzinfo=UTC)
    reason = "crisis" if urgency == "urgent" else "unanswered"
    return HandoffSummary(f"KAP-{n:06d}", reason, urgency, when, possible_flood=flood)


def test_a_burst_of_handoffs_gives_one_notification_per_kind_listing_the_references(
    smtp_server,
):
    port, smtp = smtp_server
    config = settings(SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), NOTIFY_EMAILS="a@clinic.test")
    batcher = NotificationBatcher(60, lambda batch: notify_handoffs(batch, config))

    batcher.add(summary(0))  # the first of a quiet spell goes at once
    assert [m["Subject"] for m in smtp.messages()] == ["[URGENT] New handoff KAP-000000 (crisis)"]
    for n in range(1, 8):
        batcher.add(summary(n, flood=n > 2))  # within the minute: kept for the next one
    batcher.add(summary(30, urgency="normal"))  # another kind has its own minute
    assert len(smtp.envelopes) == 2
    batcher.flush()  # what the timer does when the minute is over

    subjects = [m["Subject"] for m in smtp.messages()]
    assert subjects == [
        "[URGENT] New handoff KAP-000000 (crisis)",
        "New handoff KAP-000030 (unanswered)",
        "[URGENT] 7 new handoffs, 5 marked possible flood",
    ]
    body = smtp.messages()[2].get_content()
    for n in range(1, 8):
        assert f"/staff/handoffs/KAP-{n:06d}" in body
    real, flood = body.split("marked possible flood", 1)
    assert "KAP-000002" in real and "KAP-000003" not in real and "KAP-000007" in flood
    batcher.flush()
    assert len(smtp.envelopes) == 3  # nothing left to send


def test_a_batch_lists_at_most_fifty_references_and_counts_the_rest(smtp_server, webhook_server):
    port, smtp = smtp_server
    webhook_url, received, _ = webhook_server
    config = settings(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(port),
        NOTIFY_EMAILS="a@clinic.test",
        NOTIFY_WEBHOOK_URL=webhook_url,
    )
    result = notify_handoffs([summary(n % 60, flood=True) for n in range(120)], config)
    assert result == NotifyResult(email=True, webhook=True)
    body = smtp.messages()[0].get_content()
    assert body.count("/staff/handoffs/KAP-") == 50
    assert "and 70 more" in body and "/staff/handoffs?flood=yes" in body
    payload = json.loads(received[0]["body"])
    assert payload["event"] == "handoffs.created" and payload["count"] == 120
    assert len(payload["handoffs"]) == 50 and payload["handoffs"][0]["possible_flood"] is True
