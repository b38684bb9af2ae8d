"""Security headers on every response of the web app.

The Content-Security-Policy allows scripts and styles from this app's own files only: no inline
`<script>`, `<style>`, `style="..."` or `onclick=` in templates (put them in bot/web/static/).
The pages may connect to this app and to the Rasa server the widget talks to (socket.io over
HTTP and WebSocket), and no other site may frame them. Over https, browsers are told to use
nothing else for a year (HSTS).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request

STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def _origins(url: str) -> list[str]:
    """The HTTP and WebSocket origins of a server's URL."""
    parts = urlsplit(url)
    if not parts.netloc:
        return []
    websocket = "wss" if parts.scheme == "https" else "ws"
    return [f"{parts.scheme}://{parts.netloc}", f"{websocket}://{parts.netloc}"]


def content_security_policy(rasa_url: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src " + " ".join(["'self'", *_origins(rasa_url)]),
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def init_app(app: Flask) -> None:
    policy = content_security_policy(app.config["RASA_URL"])

    @app.after_request
    def add_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        # Only on a request that came by https: as the browser reached the app, which behind a
        # proxy is its X-Forwarded-Proto only when TRUST_PROXY says so (bot/web/security.py).
        # Browsers ignore it over http, and a local http run must stay reachable.
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
        return response
