"""What the bot's buttons send, and what each one means.

A button sends its own label as plain text, exactly as if the visitor had typed it: the public
channels never let a message choose its intent (bot/channels/visitor_messages.py), so a button
cannot either. The NLU component ButtonLabelHandler (bot/nlu/components.py) recognises the labels
below and gives them their fixed meaning, so a click never depends on the classifier. Every
meaning is a plain intent without entities or slots, one the visitor could reach in their own
words ("yes please", "talk to a person"), so recognising labels opens no injection path.
"""

from __future__ import annotations

import re

from bot.content.model import Content

FAQ_INTENT = "faq"
# messages.yml button label -> the intent a click means.
LABEL_INTENTS = {
    "yes_button": "affirm",
    "no_button": "deny",
    "confirm_button": "affirm",
    "cancel_button": "stop",
    "talk_to_person_button": "human_request",
    # "None of these" answers "did you mean": Rasa's two-stage fallback reads out_of_scope as no.
    "none_of_these": "out_of_scope",
}
_NOT_WORD = re.compile(r"[^\w]+")


def button(label: str) -> dict[str, str]:
    """A button whose click sends its label."""
    return {"title": label, "payload": label}


def normalized(text: str) -> str:
    """Case, punctuation and spacing do not matter: "yes please" is the "Yes, please" button."""
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())


def label_meanings(content: Content) -> dict[str, str]:
    """Normalized label -> intent ("affirm", ...) or retrieval intent ("faq/cost")."""
    meanings = {normalized(topic.label): f"{FAQ_INTENT}/{topic.id}" for topic in content.topics}
    for key, intent in LABEL_INTENTS.items():
        meanings[normalized(content.messages[key])] = intent
    return meanings


def clicked_topic(text: str, content: Content) -> str | None:
    """The topic whose "did you mean" button this text is (clicked or typed), or None."""
    meaning = label_meanings(content).get(normalized(text), "")
    return meaning.split("/", 1)[1] if meaning.startswith(f"{FAQ_INTENT}/") else None


def label_clashes(content: Content) -> list[str]:
    """Labels that would mean two different things once normalized."""
    seen: dict[str, str] = {}
    problems = []
    labels = [(topic.label, f"{FAQ_INTENT}/{topic.id}") for topic in content.topics]
    labels += [(content.messages[key], intent) for key, intent in LABEL_INTENTS.items()]
    for label, meaning in labels:
        earlier = seen.setdefault(normalized(label), meaning)
        if earlier != meaning:
            problems.append(f"button label '{label}' would mean both {earlier} and {meaning}")
    return problems
