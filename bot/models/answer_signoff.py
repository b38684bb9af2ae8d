"""Which answers in a trained model a clinician has not signed off: the publish gate's second
question, after "is it worse?" (bot/models/registry.py). The answers are read from the model
itself (its domain, in the archive's metadata.json), not from content/, so the check is about
exactly what visitors would see."""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

from bot.content.build import FAQ_RESPONSE_PREFIX, split_faq_text
from bot.content.model import load_content
from bot.content.signoff import SignoffError, read_ledger, signoff_states
from bot.models.store import RegistryError


@dataclass(frozen=True)
class UnapprovedAnswer:
    topic_id: str
    label: str
    why: str

    def __str__(self) -> str:
        name = f"{self.topic_id} (“{self.label}”)" if self.label else self.topic_id
        return f"{name}: {self.why}"


def model_answers(model: Path) -> dict[str, str]:
    """Topic id -> the answer text (citation included) in the trained model's domain."""
    try:
        with tarfile.open(model, "r:gz") as archive:
            member = archive.extractfile("metadata.json")
            metadata = json.load(member) if member else {}
    except (tarfile.TarError, KeyError, OSError, EOFError, ValueError):
        raise RegistryError(f"{model.name}: cannot read the answers in this model") from None
    responses = (metadata.get("domain") or {}).get("responses") or {}
    return {
        name[len(FAQ_RESPONSE_PREFIX) :]: (variants[0].get("text") or "")
        for name, variants in responses.items()
        if name.startswith(FAQ_RESPONSE_PREFIX) and variants
    }


def unapproved_answers(model: Path, content_dir: Path) -> list[UnapprovedAnswer]:
    """The model's answers that are not their topic's last approved text (or whose topic awaits
    sign-off again because the article changed), in the model's order."""
    try:
        states = signoff_states(content_dir)
        ledger = read_ledger(content_dir)
    except SignoffError as error:
        raise RegistryError(f"the sign-off record cannot be read: {error}") from None
    labels = {topic.id: topic.label for topic in load_content(content_dir).topics}
    found = []
    for topic_id, text in model_answers(model).items():
        answer, section = split_faq_text(text)
        approval = ledger.get(topic_id, {}).get("approved")
        state = states.get(topic_id)
        if approval is None:
            why = "never approved by a clinician"
        elif not approval.covers(answer, section):
            why = "awaiting sign-off (this text is not the approved one)"
        elif state is not None and state.article_changed is not None:
            why = state.describe()
        else:
            continue
        found.append(UnapprovedAnswer(topic_id, labels.get(topic_id, ""), why))
    return found
