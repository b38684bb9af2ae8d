"""Rasa's socket.io channel, accepting connections only from the configured website origins.

Rasa 3.6 creates its socket.io server with `cors_allowed_origins=[]`, which in python-engineio
means "no origin check at all": any web page could open a conversation in a visitor's browser.
This channel keeps everything else of Rasa's (events, session persistence, the /socket.io path)
and gives the server the origins in CORS_ORIGINS, so Engine.IO refuses a polling request or a
websocket handshake from any other origin and answers allowed ones with the CORS headers the
widget needs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint

from bot.settings import get_settings


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
        return webhook
