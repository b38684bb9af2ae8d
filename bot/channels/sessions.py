"""Socket.io conversation ids that only the server hands out.

Rasa's channel lets a client name the conversation it joins, so anyone who knew a visitor's id
(staff see it, the site keeps it in localStorage) could join that room and read the replies.
Here the server picks the id and signs it: a client gets back its conversation only with the
token it was given alongside, and anything else (forged, foreign, malformed) starts a new, empty
conversation. The signing key derives from the web app's SECRET_KEY (or the var/secret_key it
generates), so every Rasa instance of a deployment accepts the same tokens.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import uuid
from typing import Any, NamedTuple

from bot.channels.visitor_messages import SENDER_ID
from bot.settings import get_settings

_PURPOSE = b"kapbot socket.io conversation id"


class IssuedSession(NamedTuple):
    session_id: str
    token: str


@functools.lru_cache(maxsize=1)
def _signing_key() -> bytes:
    from bot.web.security import secret_key_for

    secret = secret_key_for(get_settings()).encode("utf-8")
    # A key of its own: a token must never double as a console session signature.
    return hmac.new(secret, _PURPOSE, hashlib.sha256).digest()


def _token(session_id: str) -> str:
    return hmac.new(_signing_key(), session_id.encode("utf-8"), hashlib.sha256).hexdigest()


def new_session() -> IssuedSession:
    session_id = str(uuid.uuid4())
    return IssuedSession(session_id, _token(session_id))


def resume(request: Any) -> IssuedSession:
    """The conversation a `session_request` may continue: the one it names when it also carries
    that conversation's token, otherwise a new one."""
    if isinstance(request, dict):
        session_id, token = request.get("session_id"), request.get("session_token")
        if (
            isinstance(session_id, str)
            and SENDER_ID.match(session_id)
            and isinstance(token, str)
            and token.isascii()
            and hmac.compare_digest(_token(session_id), token)
        ):
            return IssuedSession(session_id, token)
    return new_session()
