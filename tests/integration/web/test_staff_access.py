"""Access to the staff console, enumerated from Flask's url_map so that every route added later
is covered without editing this file: wrong roles are refused, every form post needs its CSRF
token, and no other part of the app takes form posts."""

from __future__ import annotations

import html
import re
import time

import pytest
from flask import url_for
from werkzeug.routing import IntegerConverter

from bot.db.models import ROLES
from bot.db.session import session_scope
from bot.desk.login_throttle import PAIR
from bot.desk.staff_accounts import create_user, get_user
from bot.settings import settings_from_env
from bot.web import create_app
from bot.web.staff import sessions as staff_sessions
from tests.conftest import free_port
from tests.integration.web.test_staff_console import (
    ELIGIBILITY,
    PASSWORD,
    audit_rows,
    csrf_token,
    handoff,
    seed_handoffs,
    sign_in,
)

USERS = {"staff": "alice", "editor": "erin", "admin": "adam", "clinician": "cleo"}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# JSON endpoints for the visitor's browser, with no session to abuse (exempt from CSRF).
VISITOR_APIS = {"/api/chat", "/api/feedback", "/api/conversations/delete"}


@pytest.fixture
def app(database_url, tmp_path):
    with session_scope(database_url) as session:
        for role, username in USERS.items():
            create_user(session, username, PASSWORD, role)
    seed_handoffs(database_url)
    settings = settings_from_env(
        {
            "KAPBOT_VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": database_url,
            "RASA_PORT": str(free_port()),
        }
    )
    return create_app(settings, {"TESTING": True})


def path_of(app, rule) -> str:
    values = {
        name: 1 if isinstance(rule._converters[name], IntegerConverter) else ELIGIBILITY
        for name in rule.arguments
    }
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def staff_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/staff")]


def test_every_role_restricted_route_refuses_the_other_roles(app, database_url):
    assert set(USERS) == set(ROLES)
    checked = 0
    for rule in staff_rules(app):
        required = getattr(app.view_functions[rule.endpoint], "required_roles", None)
        if not required:
            continue
        for role in set(ROLES) - set(required):
            client = app.test_client()
            sign_in(client, USERS[role])
            token = csrf_token(client, "/staff/")
            for method in sorted(rule.methods - {"OPTIONS", "HEAD"}):
                data = {"csrf_token": token} if method in WRITES else None
                response = client.open(path_of(app, rule), method=method, data=data)
                assert response.status_code == 403, (role, method, rule.rule)
                checked += 1
    assert checked >= 2  # the audit log at least, for staff and editor
    refused = {target for _, action, target, _ in audit_rows(database_url)}
    assert "/staff/audit" in refused


def test_every_staff_form_post_without_a_valid_token_is_rejected(app, database_url):
    client = app.test_client()
    sign_in(client, "adam")
    checked = 0
    for rule in staff_rules(app):
        for method in sorted(rule.methods & WRITES):
            path = path_of(app, rule)
            for data in ({}, {"csrf_token": "forged"}):
                response = client.open(path, method=method, data={**data, "text": "x"})
                assert response.status_code == 400, (method, rule.rule, data)
                assert "security token is missing or out of date" in response.get_data(as_text=True)
                checked += 1
    assert checked >= 2 * 7  # sign-in, sign-out, claim, resolve, notes, booking cancel and done
    assert client.get("/staff/").status_code == 200  # still signed in, nothing done
    assert handoff(database_url, ELIGIBILITY).status == "open"


def test_only_the_visitor_json_apis_take_posts_without_a_token(app):
    elsewhere = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.methods & WRITES and not rule.rule.startswith("/staff")
    }
    assert elsewhere == VISITOR_APIS
    anonymous = app.test_client()
    form = anonymous.post("/api/feedback", data={"vote": "up"})
    assert form.status_code == 400  # JSON only: a cross-site form gets nowhere


# --- Sessions the server can end (issue 14) ---------------------------------------------------


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def with_cookie(app, cookie: str):
    """A new browser that holds only a copy of `cookie`, as a thief would."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def test_after_sign_out_a_copied_cookie_is_sent_to_sign_in(app):
    client = app.test_client()
    sign_in(client, "alice")
    stolen = session_cookie(client)
    assert with_cookie(app, stolen).get("/staff/handoffs").status_code == 200

    token = csrf_token(client, "/staff/")
    assert client.post("/staff/logout", data={"csrf_token": token}).status_code == 302
    replayed = with_cookie(app, stolen).get("/staff/handoffs")
    assert replayed.status_code == 302
    assert replayed.location.startswith("/staff/login")


def test_sign_out_ends_the_sessions_on_other_browsers_too(app):
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, "alice")
    sign_in(phone, "alice")
    laptop.post("/staff/logout", data={"csrf_token": csrf_token(laptop, "/staff/")})
    assert phone.get("/staff/").status_code == 302


def admin_changes(app, path: str, **form):
    admin = app.test_client()
    sign_in(admin, "adam")
    token = csrf_token(admin, "/staff/accounts")
    return admin.post(path, data={"csrf_token": token, **form})


@pytest.mark.parametrize(
    ("path", "form", "action"),
    [
        ("/staff/accounts/alice/deactivate", {}, "staff_user_deactivated"),
        ("/staff/accounts/alice/role", {"role": "editor"}, "staff_role_changed"),
        ("/staff/accounts/alice/reset-password", {}, "staff_password_reset"),
    ],
)
def test_an_admins_change_ends_the_users_sessions_at_once(app, database_url, path, form, action):
    client = app.test_client()
    sign_in(client, "alice")
    assert client.get("/staff/handoffs").status_code == 200
    stolen = session_cookie(client)

    assert admin_changes(app, path, **form).status_code in (200, 303)
    for browser in (client, with_cookie(app, stolen)):
        response = browser.get("/staff/handoffs")
        assert response.status_code == 302 and response.location.startswith("/staff/login")
    assert ("adam", action, "alice") in [row[:3] for row in audit_rows(database_url)]


def test_a_reset_password_must_be_replaced_at_the_next_sign_in(app, database_url):
    page = admin_changes(app, "/staff/accounts/alice/reset-password").get_data(as_text=True)
    temporary = re.search(r"<code>([^<]+)</code>", page).group(1)
    assert sign_in(app.test_client(), "alice").status_code == 401  # the old password is gone

    client = app.test_client()
    assert sign_in(client, "alice", temporary).status_code == 302
    forced = client.get("/staff/handoffs")
    assert forced.status_code == 302 and forced.location == "/staff/password"
    assert "choose your own before you continue" in client.get("/staff/password").get_data(
        as_text=True
    )
    token = csrf_token(client, "/staff/password")
    new = "a brand new passphrase of mine"
    changed = client.post(
        "/staff/password",
        data={
            "csrf_token": token,
            "password": temporary,
            "new_password": new,
            "new_password_again": new,
        },
    )
    assert changed.status_code == 303
    assert client.get("/staff/handoffs").status_code == 200
    assert sign_in(app.test_client(), "alice", new).status_code == 302
    assert "password_changed" in [row[1] for row in audit_rows(database_url)]


def test_changing_your_password_ends_your_other_sessions(app):
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, "alice")
    sign_in(phone, "alice")
    new = "another long passphrase"
    token = csrf_token(laptop, "/staff/password")
    wrong = laptop.post(
        "/staff/password",
        data={
            "csrf_token": token,
            "password": "not it",
            "new_password": new,
            "new_password_again": new,
        },
    )
    assert wrong.status_code == 400 and "current password is wrong" in wrong.get_data(as_text=True)
    laptop.post(
        "/staff/password",
        data={
            "csrf_token": token,
            "password": PASSWORD,
            "new_password": new,
            "new_password_again": new,
        },
    )
    assert laptop.get("/staff/").status_code == 200
    assert phone.get("/staff/").status_code == 302


def test_the_last_admin_cannot_be_demoted_or_deactivated(app, database_url):
    admin = app.test_client()
    sign_in(admin, "adam")
    for path, form in (("role", {"role": "staff"}), ("deactivate", {})):
        token = csrf_token(admin, "/staff/accounts")
        refused = admin.post(
            f"/staff/accounts/adam/{path}",
            data={"csrf_token": token, **form},
            follow_redirects=True,
        )
        assert "the only active administrator" in html.unescape(refused.get_data(as_text=True))
    with session_scope(database_url) as session:
        assert (get_user(session, "adam").role, get_user(session, "adam").active) == ("admin", True)


def test_an_admin_lifts_the_sign_in_wait_from_the_console(app):
    client = app.test_client()
    for number in range(PAIR.free_failures):
        sign_in(client, "alice", f"wrong {number}")
    assert sign_in(client, "alice").status_code == 429
    assert admin_changes(app, "/staff/accounts/alice/unlock").status_code == 303
    assert sign_in(client, "alice").status_code == 302


# --- Idle and absolute timeouts ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "age", "message"),
    [
        (staff_sessions.SEEN_KEY, staff_sessions.IDLE_TIMEOUT, "30 minutes without activity"),
        (staff_sessions.ISSUED_KEY, staff_sessions.ABSOLUTE_TIMEOUT, "at most 12 hours"),
    ],
)
def test_a_session_ends_after_the_idle_or_absolute_timeout(app, key, age, message):
    client = app.test_client()
    sign_in(client, "alice")
    with client.session_transaction() as cookie:
        cookie[key] = time.time() - age.total_seconds() + 60  # a minute to spare
    assert client.get("/staff/").status_code == 200
    with client.session_transaction() as cookie:
        cookie[key] = time.time() - age.total_seconds() - 1
    response = client.get("/staff/")
    assert response.status_code == 302 and response.location.startswith("/staff/login")
    assert message in client.get("/staff/login").get_data(as_text=True)


def test_activity_keeps_a_session_alive_until_the_absolute_timeout(app):
    client = app.test_client()
    sign_in(client, "alice")
    twenty_minutes_ago = time.time() - 20 * 60
    with client.session_transaction() as cookie:
        cookie[staff_sessions.SEEN_KEY] = twenty_minutes_ago
    assert client.get("/staff/").status_code == 200
    with client.session_transaction() as cookie:
        assert cookie[staff_sessions.SEEN_KEY] > twenty_minutes_ago + 60


# --- The audit log cannot be flooded ----------------------------------------------------------


def test_300_failed_sign_ins_for_unknown_names_leave_real_entries_in_reach(app, database_url):
    alice = app.test_client()
    sign_in(alice, "alice")
    alice.get(f"/staff/handoffs/{ELIGIBILITY}")  # the real entry an attacker would bury
    for number in range(300):
        # From many addresses, as a botnet would (one address would soon have to wait).
        stranger = app.test_client()
        stranger.environ_base["REMOTE_ADDR"] = f"10.0.{number // 250}.{number % 250}"
        assert sign_in(stranger, f"nobody-{number}", "guess").status_code == 401

    admin = app.test_client()
    sign_in(admin, "adam")
    page = html.unescape(admin.get("/staff/audit").get_data(as_text=True))
    assert f"handoff viewed</td>\n      <td>{ELIGIBILITY}" in page
    assert "300 failed sign-in(s) for unknown user names are hidden" in page

    everything = html.unescape(admin.get("/staff/audit?unknown=1").get_data(as_text=True))
    assert "unknown_user" in everything and "Older entries" in everything
    last = html.unescape(admin.get("/staff/audit?unknown=1&page=4").get_data(as_text=True))
    assert f"{ELIGIBILITY}" in last and "Older entries" not in last
    only_alice = html.unescape(
        admin.get("/staff/audit?actor=alice&unknown=1").get_data(as_text=True)
    )
    assert "unknown_user" not in only_alice and ELIGIBILITY in only_alice
