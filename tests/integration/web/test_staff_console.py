"""The staff console at /staff through Flask's test client, with CSRF protection on, against
SQLite and the real PostgreSQL (the `database_url` fixture)."""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import re

import pytest

from bot.db.models import AuditEntry, Handoff, StaffUser
from bot.db.session import session_scope
from bot.desk.handoff_drafts import Contact, HandoffDraft, Turn, store_draft
from bot.desk.handoffs import get_handoff, handoff_to_dict, transcript_as_text
from bot.desk.login_throttle import PAIR
from bot.desk.staff_accounts import LOGIN_REFUSED, create_user
from bot.settings import SettingsError, settings_from_env
from bot.web import create_app
from tests.conftest import free_port

PASSWORD = "correct horse battery staple"
ELIGIBILITY, CRISIS, HUMAN = "KAP-EGBT23", "KAP-CRSS33", "KAP-HMNR44"
UTC = dt.timezone.utc
# A visitor's personal data in the seeded handoffs: it must show on the transcript page and
# never reach the audit log or the application log.
PERSONAL = ["Jordan Example", "555-0101", "jordan@example.org", "lithium", "Sam Sample"]
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def seed_handoffs(url: str) -> None:
    t = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    drafts = [
        HandoffDraft(
            reason="eligibility",
            conversation_id="conv-eligibility",
            question="Can I do KAP while on lithium?",
            transcript=[
                Turn("user", "Can I do KAP while on lithium?", t, "ask_eligibility", 0.91),
                Turn(
                    "bot",
                    "A member of the care team will look at this.",
                    t + dt.timedelta(seconds=1),
                ),
                Turn("user", "<script>alert(1)</script>", t + dt.timedelta(seconds=5), None, None),
            ],
            contact=Contact("Jordan Example", "555-0101", "jordan@example.org", True),
            reference=ELIGIBILITY,
            created_at=t,
        ),
        HandoffDraft(
            reason="crisis",
            conversation_id="conv-crisis",
            question=None,
            transcript=[Turn("user", "I feel unsafe tonight", t, "crisis", 0.97)],
            reference=CRISIS,
            created_at=dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
        ),
        HandoffDraft(
            reason="human_request",
            conversation_id="conv-human",
            question="Can I talk to a person?",
            transcript=[Turn("user", "Can I talk to a person?", t, "ask_human", 0.88)],
            contact=Contact("Sam Sample", None, "sam@example.org", False),
            reference=HUMAN,
            created_at=dt.datetime(2026, 3, 3, 12, 30, tzinfo=UTC),
        ),
    ]
    with session_scope(url) as session:
        for draft in drafts:
            store_draft(session, draft)


@pytest.fixture
def settings(database_url, tmp_path):
    return settings_from_env(
        {
            "KAPBOT_VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": database_url,
            # Nothing listens there: /api/chat meets a refused connection.
            "RASA_PORT": str(free_port()),
        }
    )


@pytest.fixture
def app(settings, database_url):
    with session_scope(database_url) as session:
        create_user(session, "alice", PASSWORD, "staff")
        create_user(session, "erin", PASSWORD, "editor")
        create_user(session, "adam", PASSWORD, "admin")
    seed_handoffs(database_url)
    return create_app(settings, {"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(client, path: str = "/staff/login") -> str:
    page = client.get(path)
    assert page.status_code == 200, path
    return TOKEN.search(page.get_data(as_text=True)).group(1)


def sign_in(client, username: str, password: str = PASSWORD, next_path: str | None = None):
    data = {"csrf_token": csrf_token(client), "username": username, "password": password}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/staff/login", data=data)


def post_form(client, path: str, page: str, **data):
    """Posts a form the way a browser does: with the token from the page the form is on."""
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def login_error(response) -> str:
    return re.search(r'id="login-error">(.*?)</p>', text_of(response), re.S).group(1)


def flashes(response) -> list[str]:
    return re.findall(r'<p class="flash [a-z]+" role="[a-z]+">(.*?)</p>', text_of(response), re.S)


def audit_rows(url: str) -> list[tuple]:
    with session_scope(url) as session:
        entries = session.query(AuditEntry).order_by(AuditEntry.id).all()
        return [(e.actor, e.action, e.target, e.detail) for e in entries]


def handoff(url: str, reference: str) -> Handoff:
    with session_scope(url) as session:
        return get_handoff(session, reference)


def detail_path(reference: str) -> str:
    return f"/staff/handoffs/{reference}"


# --- Nothing without signing in ---------------------------------------------------------------


def staff_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/staff") and rule.endpoint != "staff.login"
    ]


def test_every_staff_route_refuses_anonymous_requests(app, client, database_url):
    rules = staff_rules(app)
    endpoints = {rule.endpoint for rule in rules}
    assert endpoints >= {
        "staff.handoff_list",
        "staff.handoff_detail",
        "staff.claim",
        "staff.resolve",
        "staff.note",
        "staff.export_text",
        "staff.export_json",
        "staff.audit_log",
        "staff.logout",
    }
    # An anonymous visitor can get a valid CSRF token from the sign-in page: no help either.
    token = csrf_token(client)
    checked = 0
    for rule in rules:
        arguments = {
            "reference": ELIGIBILITY,
            "topic_id": "cost",
            "key": "x",
            "run_id": "x",
            "username": "alice",
            "theme_key": "x",
            "what": "unlock",
        }
        assert set(rule.arguments) <= set(arguments) | {"side"}, f"new argument in {rule.rule}"
        path = rule.rule.replace("-<side>", "-live")
        for name, value in arguments.items():
            path = path.replace(f"<{name}>", value)
        for method in sorted(rule.methods - {"OPTIONS"}):
            if method in ("GET", "HEAD"):
                response = client.open(path, method=method)
                assert response.status_code == 302, (method, path)
                assert response.location.startswith("/staff/login?next=/staff"), path
            else:
                # Without a token too: the sign-in check answers before any CSRF check would.
                bare = client.open(path, method=method, data={"text": "x"})
                assert bare.status_code == 401, (method, path, "no token")
                response = client.open(path, method=method, data={"csrf_token": token, "text": "x"})
                assert response.status_code == 401, (method, path)
                assert "Sign in to use the staff console" in text_of(response)
            body = text_of(response)
            assert not any(value in body for value in PERSONAL), path
            checked += 1
    assert checked >= 11
    unchanged = handoff(database_url, ELIGIBILITY)
    assert unchanged.status == "open" and unchanged.notes == []
    assert all(action != "handoff_viewed" for _, action, _, _ in audit_rows(database_url))


def test_sign_in_then_back_where_you_were(client):
    response = client.get(f"{detail_path(CRISIS)}?tab=x")
    assert response.location == f"/staff/login?next={detail_path(CRISIS)}?tab%3Dx"
    response = sign_in(client, "alice", next_path=f"{detail_path(CRISIS)}?tab=x")
    assert response.status_code == 302
    assert response.location == f"{detail_path(CRISIS)}?tab=x"


@pytest.mark.parametrize(
    "target", ["https://evil.example/staff", "//evil.example/staff", "/api/chat", "/\\evil"]
)
def test_sign_in_never_redirects_off_the_console(client, target):
    response = sign_in(client, "alice", next_path=target)
    assert response.status_code == 302 and response.location == "/staff/handoffs"


def test_sign_in_sets_an_httponly_samesite_session_cookie(client):
    response = sign_in(client, "alice")
    assert response.status_code == 302 and response.location == "/staff/handoffs"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development serves plain http
    page = client.get("/staff/")
    assert page.status_code == 200
    assert "Signed in as alice (staff)" in re.sub(r"<[^>]+>", "", text_of(page))
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"


def test_production_cookie_is_secure_too(database_url, tmp_path):
    settings = settings_from_env(
        {
            "KAPBOT_ENV": "production",
            "SECRET_KEY": "s" * 64,
            "KAPBOT_VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": database_url,
        }
    )
    with session_scope(database_url) as session:
        create_user(session, "alice", PASSWORD, "staff")
    client = create_app(settings).test_client()
    https = {"base_url": "https://kap.example", "headers": {"Referer": "https://kap.example/"}}
    page = client.get("/staff/login", **https)
    token = TOKEN.search(page.get_data(as_text=True)).group(1)
    response = client.post(
        "/staff/login",
        data={"csrf_token": token, "username": "alice", "password": PASSWORD},
        **https,
    )
    assert response.status_code == 302
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert not (tmp_path / "var" / "secret_key").exists()


def test_wrong_password_and_unknown_user_get_the_same_refusal(client, database_url):
    wrong = sign_in(client, "alice", "not the password at all")
    assert wrong.status_code == 401
    assert login_error(wrong) == LOGIN_REFUSED
    assert client.get("/staff/").status_code == 302
    unknown = sign_in(client, "nobody-here", "typed-password-by-mistake")
    assert unknown.status_code == 401
    assert login_error(unknown) == login_error(wrong)

    rows = audit_rows(database_url)
    assert ("alice", "login_failed", "alice", "wrong_password") in rows
    assert ("anonymous", "login_failed", None, "unknown_user") in rows
    recorded = repr(rows)
    for secret in ("not the password at all", "typed-password-by-mistake", "nobody-here"):
        assert secret not in recorded


def test_repeated_failures_make_the_address_wait_with_a_clear_429(client, app, database_url):
    for number in range(PAIR.free_failures):
        assert sign_in(client, "alice", f"wrong password {number}").status_code == 401
    refused = sign_in(client, "alice", PASSWORD)
    assert refused.status_code == 429
    assert re.fullmatch(
        r"Too many sign-in attempts\. Try again in [1-5] seconds?\.", login_error(refused)
    )
    assert 1 <= int(refused.headers["Retry-After"]) <= 5
    assert client.get("/staff/").status_code == 302

    actions = [action for actor, action, _, _ in audit_rows(database_url) if actor == "alice"]
    assert actions == ["login_failed"] * PAIR.free_failures + ["login_throttled"]
    # Another account is not affected.
    other = app.test_client()
    assert sign_in(other, "adam").status_code == 302


def test_an_account_switched_off_loses_its_session(client, database_url):
    sign_in(client, "alice")
    assert client.get("/staff/").status_code == 200
    with session_scope(database_url) as session:
        session.query(StaffUser).filter_by(username="alice").one().active = False
    assert client.get("/staff/").status_code == 302


def test_sign_out(client, database_url):
    sign_in(client, "alice")
    assert client.get("/staff/logout").status_code == 405
    response = post_form(client, "/staff/logout", "/staff/")
    assert response.status_code == 302 and response.location == "/staff/login"
    assert "You are signed out." in flashes(client.get("/staff/login"))
    assert client.get("/staff/").status_code == 302
    assert ("alice", "logout", "alice", None) in audit_rows(database_url)


# --- CSRF -------------------------------------------------------------------------------------


def test_posts_without_a_valid_csrf_token_are_rejected(client, database_url):
    fresh = client.application.test_client()
    no_token = fresh.post("/staff/login", data={"username": "alice", "password": PASSWORD})
    assert no_token.status_code == 400
    assert "security token is missing or out of date" in text_of(no_token)
    assert fresh.get("/staff/").status_code == 302

    sign_in(client, "alice")
    claim = f"{detail_path(ELIGIBILITY)}/claim"
    assert client.post(claim).status_code == 400
    assert client.post(claim, data={"csrf_token": "forged"}).status_code == 400
    assert client.post("/staff/logout").status_code == 400
    assert client.get("/staff/").status_code == 200  # still signed in
    assert handoff(database_url, ELIGIBILITY).status == "open"
    assert post_form(client, claim, detail_path(ELIGIBILITY)).status_code == 302
    assert handoff(database_url, ELIGIBILITY).status == "claimed"


def test_the_chat_api_needs_no_csrf_token(client):
    response = client.post("/api/chat", json={"sender": "abcdef123456", "message": "hello"})
    assert response.status_code == 503  # Rasa is not running: reached the relay, not CSRF
    assert "not available right now" in response.get_json()["error"]


# --- Roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["alice", "erin"])
def test_only_admins_read_the_audit_log(app, database_url, username):
    client = app.test_client()
    sign_in(client, username)
    assert client.get("/staff/audit").status_code == 403
    assert 'href="/staff/audit"' not in client.get("/staff/").get_data(as_text=True)
    assert (username, "access_denied", "/staff/audit", None) in audit_rows(database_url)

    admin = app.test_client()
    sign_in(admin, "adam")
    assert 'href="/staff/audit"' in admin.get("/staff/").get_data(as_text=True)
    page = admin.get("/staff/audit")
    assert page.status_code == 200
    body = text_of(page)
    assert '<th scope="col">Who</th>' in body
    assert f"<td>{username}</td>" in body and "access denied" in body
    assert "audit viewed" in body
    assert ("adam", "audit_viewed", None, None) in audit_rows(database_url)


# --- Handoff list and filters -----------------------------------------------------------------


def order_in(page: str) -> list[str]:
    return re.findall(r'<a href="/staff/handoffs/(KAP-[A-Z0-9]+)">', page)


def test_list_shows_urgent_first_then_newest(client, database_url):
    sign_in(client, "alice")
    page = client.get("/staff/")
    assert page.status_code == 200
    assert order_in(page.get_data(as_text=True)) == [CRISIS, HUMAN, ELIGIBILITY]
    assert "Urgent" in text_of(page)
    # The list holds no contact details.
    assert not any(value in text_of(page) for value in PERSONAL)
    assert ("alice", "handoffs_listed", None, "no filters") in audit_rows(database_url)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=open", [CRISIS, HUMAN, ELIGIBILITY]),
        ("status=resolved", []),
        ("reason=crisis", [CRISIS]),
        ("reason=human_request&status=open", [HUMAN]),
        ("from=2026-03-02", [HUMAN, ELIGIBILITY]),
        ("to=2026-03-02", [CRISIS, ELIGIBILITY]),
        ("from=2026-03-02&to=2026-03-02", [ELIGIBILITY]),
        ("from=2026-03-04", []),
        ("status=&reason=&from=&to=", [CRISIS, HUMAN, ELIGIBILITY]),
    ],
)
def test_filters(client, query, expected):
    sign_in(client, "alice")
    page = client.get(f"/staff/handoffs?{query}")
    assert page.status_code == 200
    assert order_in(page.get_data(as_text=True)) == expected
    if not expected:
        assert "No handoffs match." in text_of(page)


def test_filters_keep_their_values_in_the_form(client, database_url):
    sign_in(client, "alice")
    page = client.get("/staff/handoffs?status=claimed&reason=crisis&from=2026-03-01")
    body = page.get_data(as_text=True)
    assert '<option value="claimed" selected>' in body
    assert '<option value="crisis" selected>' in body
    assert 'name="from" type="date" value="2026-03-01"' in body
    rows = audit_rows(database_url)
    assert (
        "alice",
        "handoffs_listed",
        None,
        "status=claimed reason=crisis date_from=2026-03-01",
    ) in rows


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=lost", "Status must be one of: open, claimed, resolved."),
        (
            "reason=boredom",
            "Reason must be one of: eligibility, human_request, crisis, unanswered.",
        ),
        ("from=2026-02-30", "'From' must be a date written as YYYY-MM-DD"),
        ("to=03/01/2026", "'To' must be a date written as YYYY-MM-DD"),
        ("from=20260301", "'From' must be a date written as YYYY-MM-DD"),
        ("from=2026-03-05&to=2026-03-01", "'From' must be on or before 'To'."),
    ],
)
def test_bad_filters_get_a_clear_message(client, query, message):
    sign_in(client, "alice")
    page = client.get(f"/staff/handoffs?{query}")
    assert page.status_code == 400
    assert message in text_of(page)
    assert order_in(page.get_data(as_text=True)) == []


# --- One handoff ------------------------------------------------------------------------------


def transcript_cells(page: str) -> list[tuple[str, list[str]]]:
    """(speaker class, [cell texts]) for each row of the transcript table."""
    rows = re.findall(r'<tr class="turn (\w+)">(.*?)</tr>', page, re.S)
    return [
        (
            speaker,
            [
                html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
                for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
            ],
        )
        for speaker, row in rows
    ]


def test_transcript_page_shows_contact_consent_turns_and_nlu(client, database_url):
    sign_in(client, "alice")
    page = client.get(detail_path(ELIGIBILITY))
    assert page.status_code == 200
    body = text_of(page)
    for value in ("Jordan Example", "555-0101", "jordan@example.org"):
        assert value in body
    assert re.search(r'id="consent">\s*yes', body)
    cells = transcript_cells(page.get_data(as_text=True))
    assert cells[0] == (
        "user",
        [
            "2026-03-02 10:00:00 UTC",
            "Visitor",
            "Can I do KAP while on lithium?",
            "ask_eligibility",
            "0.91",
        ],
    )
    assert cells[1][0] == "bot"
    assert cells[1][1][1:] == ["Bot", "A member of the care team will look at this.", "", ""]
    assert cells[2][1][2:] == ["<script>alert(1)</script>", "—", ""]
    # The visitor's text is escaped, never markup.
    assert "<script>alert(1)</script>" not in page.get_data(as_text=True)
    assert ("alice", "handoff_viewed", ELIGIBILITY, None) in audit_rows(database_url)

    other = text_of(client.get(detail_path(HUMAN)))
    assert re.search(r'id="consent">\s*<strong>no: do not contact</strong>', other)
    assert "The visitor left no contact details." in text_of(client.get(detail_path(CRISIS)))


def test_unknown_reference_is_404(client):
    sign_in(client, "alice")
    assert client.get(detail_path("KAP-NONE99")).status_code == 404
    assert client.get(f"{detail_path('KAP-NONE99')}/export.json").status_code == 404
    assert post_form(client, f"{detail_path('KAP-NONE99')}/claim", "/staff/").status_code == 404


def test_claim_then_resolve_with_refusals_for_invalid_steps(client, database_url):
    sign_in(client, "alice")
    page = detail_path(ELIGIBILITY)

    response = post_form(client, f"{page}/claim", page)
    assert response.status_code == 302 and response.location == page
    shown = client.get(page)
    assert f"You claimed {ELIGIBILITY}." in flashes(shown)
    assert re.search(r'id="handoff-status">claimed<', shown.get_data(as_text=True))
    stored = handoff(database_url, ELIGIBILITY)
    assert (stored.status, stored.claimed_by) == ("claimed", "alice")

    post_form(client, f"{page}/claim", page)
    assert f"{ELIGIBILITY} is claimed: only an open one can be claimed" in flashes(client.get(page))
    assert handoff(database_url, ELIGIBILITY).claimed_by == "alice"

    post_form(client, f"{page}/resolve", page)
    shown = client.get(page)
    assert f"{ELIGIBILITY} is resolved." in flashes(shown)
    assert "Mark resolved</button>" not in shown.get_data(as_text=True)
    stored = handoff(database_url, ELIGIBILITY)
    assert (stored.status, stored.resolved_by) == ("resolved", "alice")
    assert stored.resolved_at is not None

    post_form(client, f"{page}/resolve", page)
    assert f"{ELIGIBILITY} is already resolved" in flashes(client.get(page))

    actions = [(a, t) for actor, a, t, _ in audit_rows(database_url) if a.startswith("handoff_")]
    changes = [a for a, t in actions if t == ELIGIBILITY and a != "handoff_viewed"]
    assert changes == [
        "handoff_claimed",
        "handoff_claimed_refused",
        "handoff_resolved",
        "handoff_resolved_refused",
    ]


def test_notes(client, database_url):
    sign_in(client, "erin")
    page = detail_path(CRISIS)
    note = "Called back at 9:40, Jordan Example is safe with family."
    assert post_form(client, f"{page}/notes", page, text=note).status_code == 302
    shown = client.get(page)
    assert "Your note is saved." in flashes(shown)
    assert note in text_of(shown)
    stored = handoff(database_url, CRISIS)
    assert [(n.author, n.text) for n in stored.notes] == [("erin", note)]

    post_form(client, f"{page}/notes", page, text="   ")
    assert "A note needs some text." in flashes(client.get(page))
    post_form(client, f"{page}/notes", page, text="x" * 4001)
    assert "A note can be at most 4000 characters." in flashes(client.get(page))
    assert len(handoff(database_url, CRISIS).notes) == 1

    rows = audit_rows(database_url)
    assert ("erin", "handoff_note_added", CRISIS, None) in rows
    assert ("erin", "handoff_note_added_refused", CRISIS, "A note needs some text.") in rows
    assert note not in repr(rows)


def test_exports_as_text_and_json_attachments(client, database_url):
    sign_in(client, "alice")
    post_form(client, f"{detail_path(HUMAN)}/notes", detail_path(HUMAN), text="Emailed Sam.")
    with session_scope(database_url) as session:
        expected = get_handoff(session, HUMAN)
        expected_text, expected_json = transcript_as_text(expected), handoff_to_dict(expected)

    text = client.get(f"{detail_path(HUMAN)}/export.txt")
    assert text.status_code == 200
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert text.headers["Content-Disposition"] == f'attachment; filename="{HUMAN}.txt"'
    assert text.get_data(as_text=True) == expected_text
    assert "Note by alice" in expected_text and "Sam Sample" in expected_text

    data = client.get(f"{detail_path(HUMAN)}/export.json")
    assert data.status_code == 200 and data.mimetype == "application/json"
    assert data.headers["Content-Disposition"] == f'attachment; filename="{HUMAN}.json"'
    assert json.loads(data.get_data(as_text=True)) == expected_json
    assert expected_json["transcript"][0]["intent"] == "ask_human"

    rows = audit_rows(database_url)
    assert ("alice", "handoff_exported", HUMAN, "text") in rows
    assert ("alice", "handoff_exported", HUMAN, "json") in rows


# --- The audit log and application logs keep no personal data ---------------------------------


def test_a_whole_session_is_audited_without_personal_data_or_passwords(
    client, database_url, caplog
):
    caplog.set_level(logging.DEBUG)
    sign_in(client, "alice", "wrong password, sorry")
    sign_in(client, "alice")
    page = detail_path(ELIGIBILITY)
    client.get("/staff/handoffs?reason=eligibility")
    client.get(page)
    post_form(client, f"{page}/claim", page)
    post_form(client, f"{page}/notes", page, text="Spoke with Jordan Example about lithium.")
    client.get(f"{page}/export.txt")
    post_form(client, f"{page}/resolve", page)
    post_form(client, "/staff/logout", "/staff/")

    rows = audit_rows(database_url)
    assert [(actor, action, target) for actor, action, target, _ in rows] == [
        ("alice", "login_failed", "alice"),
        ("alice", "login_succeeded", "alice"),
        ("alice", "handoffs_listed", None),
        ("alice", "handoff_viewed", ELIGIBILITY),
        ("alice", "handoff_viewed", ELIGIBILITY),  # the page the claim form is on
        ("alice", "handoff_claimed", ELIGIBILITY),
        ("alice", "handoff_viewed", ELIGIBILITY),
        ("alice", "handoff_note_added", ELIGIBILITY),
        ("alice", "handoff_exported", ELIGIBILITY),
        ("alice", "handoff_viewed", ELIGIBILITY),
        ("alice", "handoff_resolved", ELIGIBILITY),
        ("alice", "handoffs_listed", None),
        ("alice", "logout", "alice"),
    ]
    with session_scope(database_url) as session:
        times = [e.at for e in session.query(AuditEntry).order_by(AuditEntry.id)]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)
    recorded = repr(rows) + caplog.text
    for value in [*PERSONAL, PASSWORD, "wrong password, sorry"]:
        assert value not in recorded


# --- Secret key -------------------------------------------------------------------------------


def test_development_secret_key_is_generated_once_kept_private_and_survives_restarts(
    settings, tmp_path, database_url
):
    with session_scope(database_url) as session:
        create_user(session, "alice", PASSWORD, "staff")
    first = create_app(settings)
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert first.secret_key == key_file.read_text().strip() and len(first.secret_key) >= 64

    client = first.test_client()
    sign_in(client, "alice")
    cookie = client.get_cookie("session").value

    restarted = create_app(settings)
    assert restarted.secret_key == first.secret_key
    again = restarted.test_client()
    again.set_cookie("session", cookie)
    assert again.get("/staff/").status_code == 200

    other = create_app(settings_from_env({**_env(tmp_path / "elsewhere", database_url)}))
    stranger = other.test_client()
    stranger.set_cookie("session", cookie)
    assert stranger.get("/staff/").status_code == 302


def _env(var_dir, database_url) -> dict:
    return {"KAPBOT_VAR_DIR": str(var_dir), "DATABASE_URL": database_url}


def test_production_without_secret_key_refuses_to_start(tmp_path, database_url):
    env = {**_env(tmp_path / "var", database_url), "KAPBOT_ENV": "production"}
    with pytest.raises(SettingsError, match="SECRET_KEY must be set in production"):
        create_app(settings_from_env(env))
    assert not (tmp_path / "var" / "secret_key").exists()
    assert create_app(settings_from_env({**env, "SECRET_KEY": "k" * 64})).secret_key == "k" * 64
