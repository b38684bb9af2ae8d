"""Security headers, the content security policy the templates must live with, HTTPS-only
cookies, the trusted proxy and the request size limit (Flask's test client)."""

from __future__ import annotations

import re

import pytest

from bot.settings import PROJECT_ROOT, settings_from_env
from bot.web import create_app
from tests.conftest import free_port

TEMPLATES = PROJECT_ROOT / "bot" / "web"
# What a policy without 'unsafe-inline' blocks in a page.
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE
)


def app_with(**env):
    settings = settings_from_env({"RASA_PORT": str(free_port()), **env})
    return create_app(settings, {"TESTING": True})


@pytest.fixture
def client(tmp_path):
    return app_with(KAPBOT_VAR_DIR=str(tmp_path)).test_client()


@pytest.mark.parametrize(
    "path", ["/", "/chat", "/healthz", "/widget.js", "/static/chat.js", "/staff/login", "/nope"]
)
def test_every_response_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_the_widget_page_may_reach_the_rasa_server_over_http_and_websocket(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    rasa = client.application.config["RASA_URL"].removeprefix("http://")
    connect = next(part for part in policy.split("; ") if part.startswith("connect-src"))
    assert connect.split()[1:] == ["'self'", f"http://{rasa}", f"ws://{rasa}"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy


@pytest.mark.parametrize(
    "template", sorted(TEMPLATES.glob("**/templates/**/*.html")), ids=lambda p: p.name
)
def test_no_template_has_inline_script_style_or_event_handlers(template):
    # New templates are covered automatically: the policy would silently break them.
    assert INLINE.findall(template.read_text(encoding="utf-8")) == []


def test_cookies_are_https_only_when_the_public_url_is_https(tmp_path):
    assert not app_with(KAPBOT_VAR_DIR=str(tmp_path)).config.get("SESSION_COOKIE_SECURE")
    https = app_with(KAPBOT_VAR_DIR=str(tmp_path), PUBLIC_URL="https://chat.example.org")
    assert https.config["SESSION_COOKIE_SECURE"] is True
    page = https.test_client().get("/staff/login", base_url="https://chat.example.org")
    assert "Secure" in page.headers["Set-Cookie"]


def test_forwarded_headers_count_only_behind_a_trusted_proxy(tmp_path):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "chat.example.org"}
    direct = app_with(KAPBOT_VAR_DIR=str(tmp_path)).test_client()
    assert direct.get("/", headers=forwarded).get_data(as_text=True).count("https://") == 0
    proxied = app_with(KAPBOT_VAR_DIR=str(tmp_path), TRUST_PROXY="true").test_client()
    page = proxied.get("/", headers=forwarded).get_data(as_text=True)
    # The demo page embeds the widget from the address the visitor used.
    assert 'src="https://chat.example.org/widget.js"' in page


def test_an_oversized_api_request_gets_a_clear_413_json(client):
    response = client.post("/api/chat", json={"sender": "abcdef123456", "message": "x" * 20000})
    assert response.status_code == 413
    assert response.get_json() == {
        "error": "The request is too large: this app accepts at most 16 KB."
    }


def test_an_oversized_form_post_gets_a_clear_413_page(client):
    response = client.post("/staff/login", data={"username": "x" * 20000, "password": "y"})
    assert response.status_code == 413
    assert "this app accepts at most 16 KB" in response.get_data(as_text=True)


def test_hsts_only_on_responses_to_https_requests(tmp_path):
    direct = app_with(KAPBOT_VAR_DIR=str(tmp_path)).test_client()
    assert "Strict-Transport-Security" not in direct.get("/").headers
    for path in ("/", "/staff/login", "/nope"):
        secure = direct.get(path, base_url="https://chat.example.org").headers
        assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # Behind nginx the scheme is X-Forwarded-Proto's, believed only with TRUST_PROXY.
    forwarded = {"X-Forwarded-Proto": "https"}
    assert "Strict-Transport-Security" not in direct.get("/", headers=forwarded).headers
    proxied = app_with(KAPBOT_VAR_DIR=str(tmp_path), TRUST_PROXY="true").test_client()
    assert "Strict-Transport-Security" in proxied.get("/", headers=forwarded).headers
    assert "Strict-Transport-Security" not in proxied.get("/").headers
