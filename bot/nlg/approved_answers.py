"""What visitors get of a topic's answer: only a text a clinician approved.

The publish gate (bot/models/answer_signoff.py) keeps unapproved answers out of the models it
publishes, but the Rasa server can still hold one: the first model `make run` trains, a model an
admin published with an override, a rollback to an older model, or a text approved and later
replaced. This response generator has the last word, in the Rasa server, on every answer sent:
- the model's text, when it is the topic's approved text;
- the last approved text, when the model holds another one (an edit not yet approved, or an
  article revision that sent the approved text back for sign-off);
- "a clinician is reviewing this answer", with the offer to pass the question to the care team,
  when no text of the topic has been approved (the rules and actions/handoff.py take the
  visitor's yes or no to that offer); in the middle of a form, which asks its own question
  next, the same without the offer.

The sign-off record is read again whenever its file changes: an approval applies at once, with
no retrain and no restart. Configured in endpoints.yml (`nlg:`)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from rasa.core.nlg import TemplatedNaturalLanguageGenerator

from bot.content.build import (
    CITATION_SEPARATOR,
    FAQ_RESPONSE_PREFIX,
    render_responses,
    split_faq_text,
)
from bot.content.message_keys import MESSAGE_RESPONSES
from bot.content.model import ContentError, current
from bot.content.signoff import Decision, SignoffError, ledger_path, read_ledger
from bot.settings import get_settings

log = logging.getLogger(__name__)

UNDER_REVIEW_RESPONSE = MESSAGE_RESPONSES["answer_under_review"]
UNDER_REVIEW_IN_FORM_RESPONSE = MESSAGE_RESPONSES["answer_under_review_in_form"]


def shown_text(model_text: str, approval: Decision | None) -> str | None:
    """The answer a visitor gets for a model's text (answer and source line, as built by
    bot/content/build.py): the model's own when a clinician approved it, else the approved
    text under the section it was approved with; None when nothing was ever approved."""
    if approval is None:
        return None
    answer, section = split_faq_text(model_text)
    if approval.covers(answer, section):
        return model_text
    source = model_text.rpartition(CITATION_SEPARATOR)[2].rpartition(" — ")[0]
    return f"{approval.answer}{CITATION_SEPARATOR}{source} — {approval.source_section}"


class _ApprovalRecord:
    """The approvals of content/signoffs/answers.yml, read again when the file changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: tuple[Path, tuple | None] | None = None
        self._approvals: dict[str, Decision] = {}

    def approvals(self, content_dir: Path) -> dict[str, Decision]:
        path = ledger_path(content_dir)
        try:
            stat = path.stat()
            state = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except FileNotFoundError:
            state = None
        with self._lock:
            if self._seen != (path, state):
                self._approvals = self._read(content_dir)
                self._seen = (path, state)
            return self._approvals

    @staticmethod
    def _read(content_dir: Path) -> dict[str, Decision]:
        try:
            ledger = read_ledger(content_dir)
        except SignoffError as error:
            # Withhold every answer rather than guess which approvals still hold.
            log.error("The sign-off record cannot be read, no answer is given: %s", error)
            return {}
        return {topic: entry["approved"] for topic, entry in ledger.items() if "approved" in entry}


class ApprovedAnswerGenerator(TemplatedNaturalLanguageGenerator):
    """Rasa's response generator, with answers held to their approved text. Rasa gives a
    TemplatedNaturalLanguageGenerator the new model's responses when a model is swapped in."""

    def __init__(self, endpoint_config: Any = None, domain: Any = None) -> None:
        super().__init__(domain.responses if domain is not None else {})
        self.record = _ApprovalRecord()

    async def generate(
        self, utter_action: str, tracker: Any, output_channel: str, **kwargs: Any
    ) -> dict[str, Any] | None:
        message = await super().generate(utter_action, tracker, output_channel, **kwargs)
        if message is None or not utter_action.startswith(FAQ_RESPONSE_PREFIX):
            return message
        content_dir = get_settings().content_root / "content"
        approval = self.record.approvals(content_dir).get(utter_action[len(FAQ_RESPONSE_PREFIX) :])
        text = shown_text(message.get("text") or "", approval)
        if text is not None:
            return {**message, "text": text}
        withheld = (
            UNDER_REVIEW_IN_FORM_RESPONSE if tracker.active_loop_name else UNDER_REVIEW_RESPONSE
        )
        said = await super().generate(withheld, tracker, output_channel, **kwargs)
        if said is not None:
            return said
        try:  # a model trained before this response existed: the content's own
            return {**render_responses(current(content_dir))[withheld][0]}
        except ContentError as error:
            log.error("No answer, and no 'under review' message to give instead: %s", error)
            return None
