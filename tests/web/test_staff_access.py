"""Access to the staff console, enumerated from Flask's url_map so that every route added later
is covered without editing this file: wrong roles are refused, every form post needs its CSRF
token, and no other part of the app takes form posts."""

from __future__ import annotations

import pytest
from flask import url_for
from werkzeug.routing import IntegerConverter

from bot.db.models import ROLES
from bot.db.session import session_scope
from bot.settings import settings_from_env
from bot.staff_accounts import create_user
from bot.web import create_app
from tests.conftest import free_port
from tests.web.test_staff_console import (
    ELIGIBILITY,
    PASSWORD,
    audit_rows,
    csrf_token,
    handoff,
    seed_handoffs,
    sign_in,
)

USERS = {"staff": "alice", "editor": "erin", "admin": "adam"}
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
