"""Generates bot/data/responses.yml from content/ (deterministic: same content, same bytes)."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.content.buttons import button
from bot.content.message_keys import MESSAGE_RESPONSES
from bot.content.model import Content, load_content
from bot.settings import PROJECT_ROOT

RESPONSES_PATH = PROJECT_ROOT / "bot" / "data" / "responses.yml"
HEADER = """\
# GENERATED FILE - do not edit. Source: content/topics.yml and content/messages.yml.
# Regenerate with `kapbot build` (make model does it); the test suite fails if it is stale.
"""


class _LiteralDumper(yaml.SafeDumper):
    """Writes multi-line texts as readable `|` blocks."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _str_representer)


FAQ_RESPONSE_PREFIX = "utter_faq/"
CITATION_SEPARATOR = "\n\n"


def faq_response_name(topic_id: str) -> str:
    return FAQ_RESPONSE_PREFIX + topic_id


def faq_text(content: Content, topic) -> str:
    """A topic's answer as visitors get it: the answer, then the line naming its source."""
    return f"{topic.answer}{CITATION_SEPARATOR}{content.citation(topic)}"


def split_faq_text(text: str) -> tuple[str, str]:
    """(answer, source section) of a text made by faq_text."""
    answer, _, citation = text.rpartition(CITATION_SEPARATOR)
    return answer, citation.rpartition(" — ")[2].strip()


# Messages that end in a yes/no question get buttons (labels from messages.yml); a click sends
# the label, which the NLU reads as affirm/deny (bot/content/buttons.py).
YES_NO_MESSAGES = (
    "handoff_offer_eligibility",
    "handoff_offer_human",
    "handoff_offer_unanswered",
    "answer_under_review",
    "offer_booking",
    "ask_booking_consent",
)


def render_responses(content: Content) -> dict[str, list[dict]]:
    responses: dict[str, list[dict]] = {}
    for topic in content.topics:
        responses[faq_response_name(topic.id)] = [{"text": faq_text(content, topic)}]
    for key, response in MESSAGE_RESPONSES.items():
        responses[response] = [{"text": content.messages[key]}]
        if key in YES_NO_MESSAGES:
            responses[response][0]["buttons"] = [
                button(content.messages["yes_button"]),
                button(content.messages["no_button"]),
            ]
    return responses


def render_file(content: Content) -> str:
    body = yaml.dump(
        {"version": "3.1", "responses": render_responses(content)},
        Dumper=_LiteralDumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return HEADER + body


def build(content_dir: Path | None = None, out: Path = RESPONSES_PATH) -> bool:
    """Writes the responses file; returns True when it changed."""
    rendered = render_file(load_content(content_dir) if content_dir else load_content())
    if out.exists() and out.read_text(encoding="utf-8") == rendered:
        return False
    out.write_text(rendered, encoding="utf-8")
    return True


def is_stale(out: Path = RESPONSES_PATH, content_dir: Path | None = None) -> bool:
    content = load_content(content_dir) if content_dir else load_content()
    return not out.exists() or out.read_text(encoding="utf-8") != render_file(content)
