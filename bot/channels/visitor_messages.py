"""What the public channels (REST and socket.io) do with a visitor's message before and after
Rasa handles it.

- No intent injection: Rasa reads a message starting with "/" as an intent with entities
  (`/book_screening{"booking_slot": ...}`, `/restart`): RegexMessageHandler, on the text that
  UserMessage has stripped. A visitor must not choose intents or set slots, so the leading slashes
  go and the rest is plain text for the NLU. The bot's buttons send plain words too
  (bot/content/buttons.py).
- Control characters and lone surrogates go (PostgreSQL cannot even store a NUL); an empty or
  over-long message gets a clear reply and never reaches Rasa, so nothing of it is stored. The
  length is checked before anything else is done with the text, and no request body over
  MAX_BODY_BYTES is read at all (413), so a huge message costs next to nothing.
- Per-client limits (bot/protection/rate_limits.py): over its address's or its conversation's limit,
a
  message gets a "please slow down" reply instead of the NLU; a long message counts as several
  (message_cost). Never the crisis reply, though: a message the crisis patterns recognise
  still gets it. The conversation's first such message runs the whole turn as usual (the
  reply, and the urgent handoff the tracker store opens); later ones get the crisis text
  straight away, without the NLU, so a flood of them stays cheap and the conversation already
  has its handoff.
- Never silence: when Rasa's answer does not come within REPLY_TIMEOUT_SECONDS, or the turn ends
  without a single message (Rasa logs a failed custom action, e.g. the action server is down,
  and carries on without a word), the visitor is told to try again or call the clinic. The
  conversation simply continues with the next message.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, Sanic

from bot.content.model import current
from bot.nlu.crisis_patterns import is_crisis
from bot.protection.rate_limits import shared_limiter
from bot.settings import get_settings

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 2000
# The most a request to the Rasa server may carry, as nginx's client_max_body_size in production
# mode: a message of MAX_MESSAGE_CHARS, JSON-escaped, with room to spare.
MAX_BODY_BYTES = 64 * 1024
# Conversation ids: what the widget (a UUID), the chat page and the tests send.
SENDER_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
_LEADING_SLASHES = re.compile(r"^[\s/]+")
_KEPT_CONTROLS = {"\n", "\t"}


def channel_message(key: str) -> str:
    settings = get_settings()
    # current(): a published model's messages come without a restart of the Rasa server.
    return (
        current()
        .messages[key]
        .format(
            max_chars=MAX_MESSAGE_CHARS,
            clinic_phone=settings.clinic_phone,
            office_hours=settings.office_hours,
        )
    )


def plain_text(text: str) -> str:
    """The message as Rasa may see it: no control characters, no leading slash."""
    kept = "".join(
        char
        for char in text
        if char in _KEPT_CONTROLS or unicodedata.category(char) not in ("Cc", "Cs")
    )
    return _LEADING_SLASHES.sub("", kept).strip()


def refusal_for(text: str) -> str | None:
    """The reply instead of Rasa's for a message that must not reach it, or None."""
    if not text:
        return channel_message("empty_message")
    if len(text) > MAX_MESSAGE_CHARS:
        return channel_message("message_too_long")
    return None


# A message counts against its client's limits as one unit per started COST_CHARS characters:
# the NLU's work grows with the length (a message of MAX_MESSAGE_CHARS made-up words costs it
# about four short questions, measured), so long ones use up a limit sooner.
COST_CHARS = 250


def message_cost(text: str) -> int:
    if len(text) > MAX_MESSAGE_CHARS:
        return 1  # refused for its length, never read by the NLU
    return max(1, -(-len(text) // COST_CHARS))


def cap_request_bodies(blueprint: Blueprint) -> None:
    """Makes the Rasa server refuse (413) any request body over MAX_BODY_BYTES instead of
    Sanic's 100 MB, before it is read: the server reads the cap for each new connection."""

    @blueprint.listener("before_server_start")
    async def cap(app: Sanic, _loop: Any) -> None:
        app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES


def limited_reply(text: str, conversation: str) -> str | None:
    """For a message over its client's limit: None when it still goes to Rasa (the
    conversation's first crisis message), else the reply to send instead."""
    # The length first: cleaning and the crisis patterns then read at most MAX_MESSAGE_CHARS.
    cleaned = plain_text(text) if len(text) <= MAX_MESSAGE_CHARS else ""
    if cleaned and is_crisis(cleaned):
        if shared_limiter().first_crisis(conversation):
            return None
        return current().messages["crisis"]
    return channel_message("slow_down")


async def answer_visitor(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    message: UserMessage,
    messages_sent: Callable[[], int],
    address: str,
) -> bool:
    """Hands the message to Rasa (or refuses it) and makes sure the visitor gets a reply.
    False when the reply is the "try again" apology: Rasa did not answer."""
    text = message.text or ""
    if not shared_limiter().allow("message", address, message.sender_id, message_cost(text)):
        reply = limited_reply(text, message.sender_id)
        if reply is not None:
            await message.output_channel.send_text_message(message.sender_id, reply)
            return True
    # The length before cleaning, which reads every character.
    if len(text) > MAX_MESSAGE_CHARS:
        refusal = channel_message("message_too_long")
    else:
        message.text = plain_text(text)
        refusal = refusal_for(message.text)
    if refusal:
        await message.output_channel.send_text_message(message.sender_id, refusal)
        return True
    before = messages_sent()
    timeout = get_settings().reply_timeout_seconds
    try:
        # On timeout the turn is cancelled, which releases the conversation's lock.
        await asyncio.wait_for(on_new_message(message), timeout=timeout)
    except asyncio.TimeoutError:
        log.warning("No reply within %s s: the visitor is asked to try again", timeout)
    except Exception:  # noqa: BLE001 - the visitor must get an answer whatever went wrong
        # No message text in the log: it may hold personal data.
        log.exception("The message could not be handled: the visitor is asked to try again")
    if messages_sent() != before:
        return True
    log.warning("The turn ended without a reply (is the action server down?)")
    await message.output_channel.send_text_message(
        message.sender_id, channel_message("assistant_unavailable")
    )
    return False
