"""Rasa's socket.io channel, accepting connections only from the configured website origins.

Rasa 3.6 creates its socket.io server with `cors_allowed_origins=[]`, which in python-engineio
means "no origin check at all": any web page could open a conversation in a visitor's browser.
This channel keeps everything else of Rasa's (events, session persistence, the /socket.io path)
and gives the server the origins in CORS_ORIGINS, so Engine.IO refuses a polling request or a
websocket handshake from any other origin and answers allowed ones with the CORS headers the
widget needs. Messages are handled as bot/channels/visitor_messages.py says (no intents from
the visitor, no silence), in the conversation the server gave the connection
(bot/channels/sessions.py), whatever id a message names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

from bot.channels import sessions
from bot.channels.visitor_messages import MAX_BODY_BYTES, answer_visitor, cap_request_bodies
from bot.protection.client_address import client_address, metadata_for
from bot.settings import get_settings


class CountingSocketIOOutput(SocketIOOutput):
    """Rasa's socket.io output, counting what it sends (a turn must never end in silence)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent = 0

    async def _send_message(self, socket_id: str, response: Any) -> None:
        self.sent += 1
        await super()._send_message(socket_id, response)


class OriginCheckedSocketIOInput(SocketIOInput):
    @classmethod
    def name(cls) -> str:
        # Rasa names the webhook (and each message's input_channel) after this.
        return "socketio"

    def allowed_origins(self) -> list[str]:
        return list(get_settings().cors_origins)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)
        # The Engine.IO server reads this on every request; set before Rasa starts serving.
        self.sio.eio.cors_allowed_origins = self.allowed_origins()
        # Rasa leaves Engine.IO's 1 MB per message; no message needs more than this.
        self.sio.eio.max_http_buffer_size = MAX_BODY_BYTES
        cap_request_bodies(webhook)

        # These replace Rasa's handlers, which take metadata from the visitor and fail on data
        # that is not an object with text.
        @self.sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            # A request without data (emit("session_request")) gets a new conversation too.
            # The server names the conversation (bot/channels/sessions.py): a client continues
            # one only with the token it was given for it.
            session = sessions.resume(data)
            bound = await self.sio.get_session(sid, namespace=self.namespace)
            previous = bound.get("session_id")
            if previous and previous != session.session_id:
                self.sio.leave_room(sid, previous, namespace=self.namespace)
            bound["session_id"] = session.session_id
            await self.sio.save_session(sid, bound, namespace=self.namespace)
            if self.session_persistence:
                self.sio.enter_room(sid, session.session_id, namespace=self.namespace)
            confirm = {"session_id": session.session_id, "session_token": session.token}
            await self.sio.emit("session_confirm", confirm, room=sid, namespace=self.namespace)

        @self.sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message"), str):
                return
            # The conversation this connection was given; a message naming another one (Rasa's
            # clients send the id with each message) is ignored, as one without a session.
            bound = await self.sio.get_session(sid, namespace=self.namespace)
            session_id = bound.get("session_id") if self.session_persistence else sid
            if not session_id or data.get("session_id", session_id) != session_id:
                return
            output = CountingSocketIOOutput(self.sio, self.bot_message_evt)
            address = self._address(sid)
            # The address in the metadata (set here, never by the visitor): flood control.
            message = UserMessage(
                data["message"],
                output,
                session_id,
                input_channel=self.name(),
                metadata=metadata_for(None if address == "unknown" else address),
            )
            await answer_visitor(on_new_message, message, lambda: output.sent, address)

        return webhook

    def _address(self, sid: str) -> str:
        """The client's address, from the request that opened the connection."""
        environ = self.sio.get_environ(sid, namespace=self.namespace) or {}
        request = environ.get("sanic.request")
        peer = request.ip if request is not None else None
        return client_address(peer, environ.get("HTTP_X_FORWARDED_FOR")) or "unknown"
