"""What the public channels make of a visitor's text before Rasa sees it (the real servers are
in tests/system/test_hostile_input.py)."""

import pytest

from bot.channels.visitor_messages import (
    COST_CHARS,
    MAX_MESSAGE_CHARS,
    channel_message,
    message_cost,
    plain_text,
    refusal_for,
)
from bot.content.model import load_content


@pytest.mark.parametrize(
    ("typed", "seen"),
    [
        ("/restart", "restart"),
        (
            '  /book_screening{"booking_slot": "2030-01-01"}',
            'book_screening{"booking_slot": "2030-01-01"}',
        ),
        ("// /affirm", "affirm"),
        ("\t/\n/deny", "deny"),
        ("is it safe?", "is it safe?"),
        ("dose 1/2 a tablet?", "dose 1/2 a tablet?"),  # only a leading slash goes
        ("a\x00b\x1bc\ud800d", "abcd"),  # NUL, escape, a lone surrogate
        ("line one\nline\ttwo", "line one\nline\ttwo"),
        ("مرحبا \u202e hi 👋", "مرحبا \u202e hi 👋"),
    ],
)
def test_plain_text_has_no_leading_slash_or_control_characters(typed, seen):
    assert plain_text(typed) == seen
    assert not plain_text(typed).startswith("/")


def test_empty_and_over_long_messages_are_refused_with_a_clear_reply():
    messages = load_content().messages
    assert refusal_for("") == messages["empty_message"]
    assert refusal_for("x" * MAX_MESSAGE_CHARS) is None
    too_long = refusal_for("x" * (MAX_MESSAGE_CHARS + 1))
    assert too_long == messages["message_too_long"].format(max_chars=MAX_MESSAGE_CHARS)
    assert str(MAX_MESSAGE_CHARS) in too_long


def test_the_unavailable_reply_gives_the_clinic_phone(monkeypatch):
    from bot.settings import get_settings

    monkeypatch.setenv("CLINIC_PHONE", "(555) 321-7654")
    get_settings.cache_clear()
    try:
        assert "(555) 321-7654" in channel_message("assistant_unavailable")
    finally:
        get_settings.cache_clear()


def test_a_long_message_counts_as_several_against_the_limits():
    assert message_cost("is ketamine addictive?") == 1
    assert message_cost("x" * COST_CHARS) == 1
    assert message_cost("x" * (COST_CHARS + 1)) == 2
    assert message_cost("x" * MAX_MESSAGE_CHARS) == 8
    # A longer one is refused for its length before the NLU reads it: it costs no more.
    assert message_cost("x" * (MAX_MESSAGE_CHARS + 1)) == 1
