"""Which answers in a trained model a clinician has not signed off: the publish gate's second
question, after "is it worse?" (bot/models/registry.py). The answers are read from the model
itself (its domain, in the archive's metadata.json), not from content/, so the check is about
exactly what visitors would see."""

from __future__ import annotations

import functools
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

from bot.content.article import ArticleError, load_revisions
from bot.content.build import FAQ_RESPONSE_PREFIX, split_faq_text
from bot.content.model import load_content
from bot.content.signoff import SignoffError, read_ledger, topic_state
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
    stat = model.stat()
    return dict(_model_answers(model.resolve(), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _model_answers(model: Path, _mtime_ns: int, _size: int) -> tuple[tuple[str, str], ...]:
    # A trained model never changes: read its archive (tens of MB, gzipped) once per process,
    # not on every view of the training run's page. The key holds the file's mtime and size.
    try:
        with tarfile.open(model, "r:gz") as archive:
            member = archive.extractfile("metadata.json")
            metadata = json.load(member) if member else {}
    except (tarfile.TarError, KeyError, OSError, EOFError, ValueError):
        raise RegistryError(f"{model.name}: cannot read the answers in this model") from None
    responses = (metadata.get("domain") or {}).get("responses") or {}
    return tuple(
        (name[len(FAQ_RESPONSE_PREFIX) :], variants[0].get("text") or "")
        for name, variants in responses.items()
        if name.startswith(FAQ_RESPONSE_PREFIX) and variants
    )


def unapproved_answers(model: Path, content_dir: Path) -> list[UnapprovedAnswer]:
    """The model's answers that are not their topic's last approved text (or whose topic awaits
    sign-off again because the article changed), in the model's order."""
    try:
        ledger = read_ledger(content_dir)
        revisions = load_revisions(content_dir)
    except (SignoffError, ArticleError) as error:
        raise RegistryError(f"the sign-off record cannot be read: {error}") from None
    labels = {topic.id: topic.label for topic in load_content(content_dir).topics}
    found = []
    for topic_id, text in model_answers(model).items():
        answer, section = split_faq_text(text)
        # The state of the text the model holds, not of the editors' current draft.
        state = topic_state(topic_id, answer, section, ledger.get(topic_id, {}), revisions)
        if state.approved:
            continue
        if state.last_approved is None:
            why = "never approved by a clinician"
        elif state.article_changed is None:
            why = "awaiting sign-off (this text is not the approved one)"
        else:
            why = state.describe()
        found.append(UnapprovedAnswer(topic_id, labels.get(topic_id, ""), why))
    return found
