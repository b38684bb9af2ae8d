"""The plain chat page and its JSON endpoint, which relays to Rasa's REST channel."""

from __future__ import annotations

import logging
import re

import requests
from flask import Blueprint, current_app, jsonify, render_template, request

from bot.nlu.crisis_patterns import is_crisis
from bot.web.public.widget import over_limit, slow_down_text

blueprint = Blueprint("chat", __name__)
log = logging.getLogger(__name__)
SENDER_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
UNAVAILABLE = (
    "The assistant is not available right now. Please try again in a moment. "
    "If you need help now, call 911 or call or text 988."
)


def _error(message: str, status: int):
    return jsonify(error=message), status


@blueprint.get("/chat")
def chat_page():
    return render_template("chat.html")


@blueprint.post("/api/chat")
def relay_message():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error("Send a JSON object with 'sender' and 'message'.", 400)
    sender, message = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not SENDER_ID.match(sender):
        return _error("'sender' must be a conversation id of 8-64 letters, digits or dashes.", 400)
    if not isinstance(message, str) or not message.strip():
        return _error("Type a message first.", 400)
    limit = current_app.config["MAX_MESSAGE_CHARS"]
    if len(message) > limit:
        return _error(f"That message is too long: please keep it under {limit} characters.", 400)

    # Over the client's limit, only a crisis message is still relayed: the REST channel then
    # gives it the crisis reply, however fast the visitor writes.
    if over_limit("chat", sender) and not is_crisis(message):
        return jsonify(messages=[{"text": slow_down_text(), "buttons": []}], rate_limited=True)

    url = f"{current_app.config['RASA_URL']}/webhooks/rest/webhook"
    try:
        reply = requests.post(
            url,
            json={"sender": sender, "message": message},
            # The visitor's address for the REST channel (bot/protection/client_address.py believes
            # it
            # from this app on loopback): flood control counts per address, not per relay.
            headers={"X-Forwarded-For": request.remote_addr or ""},
            timeout=current_app.config["RASA_TIMEOUT_SECONDS"],
        )
        reply.raise_for_status()
        messages = reply.json()
    except (requests.RequestException, ValueError) as error:
        # No message text in the log: it may hold personal data.
        log.error("Rasa REST channel unavailable: %s", type(error).__name__)
        return _error(UNAVAILABLE, 503)
    return jsonify(
        messages=[
            {"text": m.get("text", ""), "buttons": m.get("buttons") or []}
            for m in messages
            if isinstance(m, dict)
        ]
    )
