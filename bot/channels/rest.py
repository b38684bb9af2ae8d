"""Rasa's REST channel for visitors (`/webhooks/rest/webhook`), refusing what a visitor must not
send (bot/channels/visitor_messages.py).

Rasa's own RestInput also takes `metadata` and `input_channel` from the request and stores them
in the conversation, streams on `?stream=true`, and answers a body that is not a JSON object, or
a message that is not text, with a 500 error. This one takes a JSON object with a text `message`
and a `sender` id, answers anything else with a 400 and a plain explanation, and always replies
with the bot's messages as a JSON list, like Rasa's. Where Rasa's answers a failed turn with an
empty list, this one sends the "try again" apology, marked `"custom": {"unavailable": true}`.
Each message counts against its client's limits (bot/protection/rate_limits.py), and the server
reads no
request body over visitor_messages.MAX_BODY_BYTES (413).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.visitor_messages import SENDER_ID, answer_visitor, cap_request_bodies
from bot.protection.client_address import client_address, metadata_for

BAD_BODY = "Send a JSON object with a text 'message' and a 'sender' id."
# On the "try again" apology sent instead of Rasa's answer (bot/channels/visitor_messages.py).
UNAVAILABLE = {"unavailable": True}
BAD_SENDER = "'sender' must be a conversation id of 1-128 letters, digits or . _ : @ -"


def read_body(request: Request) -> tuple[str, str] | str:
    """(sender, text) from the request, or what is wrong with it."""
    try:
        body = request.json
    except SanicException:
        return BAD_BODY
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return BAD_BODY
    sender = body.get("sender")
    if not isinstance(sender, str) or not SENDER_ID.match(sender):
        return BAD_SENDER
    return sender, body["message"]


class VisitorRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        # The webhook stays at /webhooks/rest/webhook and messages keep input_channel "rest".
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("visitor_rest_webhook", __name__)
        cap_request_bodies(webhook)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            # The web app's /readyz asks here whether a model is loaded (Rasa's /status needs
            # the API token).
            agent = getattr(request.app.ctx, "agent", None)
            return response.json({"status": "ok", "model_loaded": bool(agent and agent.is_ready())})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            found = read_body(request)
            if isinstance(found, str):
                return response.json({"error": found}, status=400)
            sender, text = found
            collector = CollectingOutputChannel()
            # The address only, set here (never the visitor's metadata): flood control needs it.
            address = client_address(request.ip, request.headers.get("x-forwarded-for"))
            message = UserMessage(
                text, collector, sender, input_channel=self.name(), metadata=metadata_for(address)
            )
            answered = await answer_visitor(
                on_new_message, message, lambda: len(collector.messages), address or "unknown"
            )
            if not answered:
                # Marked, so a program can tell the apology from an answer and send again.
                for reply in collector.messages:
                    reply["custom"] = UNAVAILABLE
            return response.json(collector.messages)

        return webhook
