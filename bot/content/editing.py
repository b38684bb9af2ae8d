"""The content editor's engine: what the staff console's content pages and the CLI call to read
and change topics (content/topics.yml) and training examples (bot/data/nlu.yml).

Every change is checked before anything is written: it is applied to a scratch copy of the
project, responses.yml is regenerated there, and the content checks and `rasa data validate` run
on that copy. Only when both pass are the real files replaced, each atomically (a temporary file
renamed over it), under a lock shared by every process, so two editors saving at once cannot
corrupt the files or lose each other's change. Problems are reported in words an editor
understands, per form field where there is one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from bot.content.checks import (
    EDITOR_REFUSED,
    MIN_EXAMPLES_PER_TOPIC,
    example_problem,
    normalise_example,
)
from bot.content.model import (
    MAX_WORDS,
    REVIEW_WARNING_DAYS,
    TARGET_MAX_WORDS,
    ProjectFiles,
    article_sections_in,
    as_date,
    review_is_due,
    topic_problems,
)
from bot.content.outcomes import INTENT_OUTCOMES, OUTCOMES
from bot.content.roundtrip import NluFile, TopicsFile
from bot.content.saving import check_on_scratch_copy, write_changed

FAQ_PREFIX = "faq/"
FIELDS = ("id", "label", "answer", "source_section", "reviewed", "examples")
# What each outcome means, for the inbox's menu of labels.
OUTCOME_DESCRIPTIONS = {
    "crisis": "Crisis: suicide, self-harm, overdose or an emergency",
    "eligibility_handoff": "Personal clinical question (passed to the care team)",
    "human_request": "Asks for a person",
    "book_screening": "Wants to book a screening call",
    "cancel_booking": "Wants to cancel a booking",
    "out_of_scope": "Not covered by the article",
    "greet": "Greeting",
    "goodbye": "Goodbye",
    "thanks": "Thanks",
    "bot_challenge": "Asks whether this is a bot",
    "unanswered": "About KAP, but not covered by the article (offered to the care team)",
    "other_language": "Not in English",
}
LOCK_TIMEOUT_SECONDS = 300


class ContentEditError(ValueError):
    """A change was refused; nothing was written. `field_problems` maps a form field (id, label,
    answer, source_section, reviewed, examples) to what is wrong with it; `problems` holds the
    rest. Every message is plain words."""

    def __init__(
        self, field_problems: dict[str, list[str]] | None = None, problems: list[str] | None = None
    ) -> None:
        self.field_problems = {k: v for k, v in (field_problems or {}).items() if v}
        self.problems = list(problems or [])
        every = [m for messages in self.field_problems.values() for m in messages] + self.problems
        super().__init__(" ".join(every) or "The change was refused.")


@dataclass(frozen=True)
class TopicView:
    id: str
    label: str
    answer: str
    source_section: str
    reviewed: dt.date
    review_due: bool
    examples: list[str]
    example_count: int
    word_count: int
    # Changes whenever the topic does: pass it back to save_topic(base_version=…) to refuse a
    # save made from a form opened before someone else's change.
    version: str


@dataclass(frozen=True)
class SaveResult:
    changed: list[str] = field(default_factory=list)  # paths relative to the project root
    warnings: list[str] = field(default_factory=list)


def _version(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def clean_example(text: str) -> str:
    """An example as it is stored: trimmed, with single spaces."""
    return " ".join(str(text or "").split())


def _describe_intent(intent: str) -> str:
    if intent.startswith(FAQ_PREFIX):
        return f"the topic {intent[len(FAQ_PREFIX) :]}"
    return f"the intent {intent}"


def example_problems(examples: list[str], intent: str, others: dict[str, list[str]]) -> list[str]:
    """What is wrong with `examples` for `intent`, given every other intent's examples."""
    problems = []
    owner = {
        normalise_example(text): name
        for name, texts in others.items()
        if name != intent
        for text in texts
    }
    seen: set[str] = set()
    for text in examples:
        reason = example_problem(text, EDITOR_REFUSED)
        if reason:
            problems.append(reason)
            continue
        key = normalise_example(text)
        if key in seen:
            problems.append(f"“{text}” is listed twice.")
        elif key in owner:
            problems.append(f"“{text}” is already an example of {_describe_intent(owner[key])}.")
        seen.add(key)
    return problems


def _topic_example_problems(
    examples: list[str], intent: str, others: dict[str, list[str]]
) -> list[str]:
    problems = example_problems(examples, intent, others)
    if len(examples) < MIN_EXAMPLES_PER_TOPIC:
        problems.append(
            f"The topic has {len(examples)} examples; it needs at least {MIN_EXAMPLES_PER_TOPIC}."
        )
    return problems


class ContentProject:
    """One copy of the project's editable content (the real project unless `root` says
    otherwise). `rasa_validation=False` skips `rasa data validate` (the content checks still
    run): for tests about writing files, where the subprocess would only cost time."""

    def __init__(self, root: Path | None = None, *, rasa_validation: bool = True) -> None:
        from bot.settings import get_settings

        self.files = ProjectFiles(Path(root or get_settings().content_root))
        self.rasa_validation = rasa_validation
        lock_dir = self.files.root / "var"
        lock_dir.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(lock_dir / "content-edit.lock"), timeout=LOCK_TIMEOUT_SECONDS)

    # --- reading ---------------------------------------------------------------------------

    def list_topics(self, today: dt.date | None = None) -> list[TopicView]:
        topics = TopicsFile(self.files.topics)
        examples = NluFile(self.files.nlu).examples()
        return [self._view(entry, examples, today) for entry in topics.topics]

    def get_topic(self, topic_id: str) -> TopicView:
        for topic in self.list_topics():
            if topic.id == topic_id:
                return topic
        raise KeyError(topic_id)

    def source_sections(self) -> list[str]:
        """The article's headings, in the article's order, "Introduction" first."""
        text = self.files.article.read_text(encoding="utf-8")
        headings = article_sections_in(self.files.content_dir)
        ordered = ["Introduction"]
        for line in (line.strip() for line in text.splitlines()):
            if line in headings and line not in ordered:
                ordered.append(line)
        return ordered

    def intents(self) -> list[str]:
        """Every intent with examples in nlu.yml (faq/<topic> included)."""
        return list(NluFile(self.files.nlu).examples())

    def labels(self) -> list[tuple[str, str]]:
        """(label, description) for a menu: every topic, then every outcome."""
        topics = [(t.id, f"Topic: {t.label}") for t in self.list_topics()]
        return topics + [(name, OUTCOME_DESCRIPTIONS.get(name, name)) for name in OUTCOMES]

    def intent_for_label(self, label: str) -> str:
        """The intent whose examples a message with this label belongs to: `faq/<id>` for a
        topic, the intent behind an outcome (eligibility_handoff -> eligibility) otherwise."""
        label = str(label or "").strip()
        if TopicsFile(self.files.topics).find(label) is not None:
            return FAQ_PREFIX + label
        outcome_intents = {outcome: intent for intent, outcome in INTENT_OUTCOMES.items()}
        if label in OUTCOMES:
            return outcome_intents.get(label, label)
        raise KeyError(label)

    def _view(
        self, entry: dict, examples: dict[str, list[str]], today: dt.date | None
    ) -> TopicView:
        topic_id = str(entry.get("id"))
        answer = " ".join(str(entry.get("answer") or "").split())
        reviewed = as_date(entry.get("reviewed")) or dt.date.min
        texts = examples.get(FAQ_PREFIX + topic_id, [])
        label, section = str(entry.get("label") or ""), str(entry.get("source_section") or "")
        return TopicView(
            id=topic_id,
            label=label,
            answer=answer,
            source_section=section,
            reviewed=reviewed,
            review_due=review_is_due(reviewed, today),
            examples=texts,
            example_count=len(texts),
            word_count=len(answer.split()),
            version=_version(label, answer, section, reviewed, texts),
        )

    # --- changing --------------------------------------------------------------------------

    def save_topic(
        self,
        topic_id: str,
        *,
        label: str,
        answer: str,
        source_section: str,
        reviewed: dt.date | str,
        examples: list[str],
        new: bool = False,
        base_version: str | None = None,
    ) -> SaveResult:
        """Updates a topic (or adds it, `new=True`): its entry in topics.yml, its examples
        (`faq/<id>` in nlu.yml) and its answer in responses.yml. Raises ContentEditError, having
        written nothing, when the change is not valid; KeyError for an unknown topic."""
        topic_id = str(topic_id or "").strip()
        label, answer = " ".join(str(label or "").split()), " ".join(str(answer or "").split())
        source_section = str(source_section or "").strip()
        examples = [clean_example(text) for text in examples]
        with self._locked():
            topics, nlu = TopicsFile(self.files.topics), NluFile(self.files.nlu)
            entry = topics.find(topic_id)
            if not new and entry is None:
                raise KeyError(topic_id)
            problems = topic_problems(
                {
                    "id": topic_id,
                    "label": label,
                    "answer": answer,
                    "source_section": source_section,
                    "reviewed": reviewed,
                },
                article_sections_in(self.files.content_dir),
            )
            if new and entry is not None:
                taken = f"There is already a topic with the id {topic_id}."
                problems.setdefault("id", []).append(taken)
            if not new and base_version is not None:
                self._refuse_if_changed_since(base_version, entry, nlu)
            intent = FAQ_PREFIX + topic_id
            example_issues = _topic_example_problems(examples, intent, nlu.examples())
            if example_issues:
                problems.setdefault("examples", []).extend(example_issues)
            if problems:
                raise ContentEditError(problems)
            reviewed_date = as_date(reviewed)
            if entry is None:
                entry = topics.add(topic_id)
            topics.set_fields(entry, label, answer, source_section, reviewed_date)
            nlu.set_examples(intent, examples)
            changed = self._validate_and_write(topics.dump(), nlu.dump())
        return SaveResult(changed, self._warnings(answer, reviewed_date))

    def add_example(self, intent: str, text: str) -> SaveResult:
        """Appends one example to an intent's block in nlu.yml (`faq/<id>` or any other intent
        there, such as out_of_scope or eligibility)."""
        text = clean_example(text)
        with self._locked():
            nlu = NluFile(self.files.nlu)
            every = nlu.examples()
            if intent not in every:
                raise ContentEditError(
                    problems=[f"There is no intent called {intent} in the training data."]
                )
            issues = example_problems([text], intent, every)
            if not issues and normalise_example(text) in {
                normalise_example(t) for t in every[intent]
            }:
                issues.append(f"“{text}” is already an example of {_describe_intent(intent)}.")
            if issues:
                raise ContentEditError({"examples": issues})
            nlu.set_examples(intent, [*every[intent], text])
            topics_text = self.files.topics.read_text(encoding="utf-8")
            changed = self._validate_and_write(topics_text, nlu.dump())
        return SaveResult(changed, [])

    # --- validating and writing ------------------------------------------------------------

    def _refuse_if_changed_since(self, base_version: str, entry: dict, nlu: NluFile) -> None:
        """Refuses a save made from a form opened before someone else changed the topic."""
        if self._view(entry, nlu.examples(), None).version != base_version:
            raise ContentEditError(
                problems=[
                    "Someone else changed this topic after you opened it. Reload the "
                    "page to see their change, then make yours again."
                ]
            )

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self._lock.acquire()
        except Timeout:
            raise ContentEditError(
                problems=["Another change is still being saved; please try again in a minute."]
            ) from None
        try:
            yield
        finally:
            self._lock.release()

    def _warnings(self, answer: str, reviewed: dt.date) -> list[str]:
        warnings = []
        if review_is_due(reviewed):
            warnings.append(
                f"The review date {reviewed.isoformat()} is more than {REVIEW_WARNING_DAYS} days "
                "ago: check the answer against the article and update the date."
            )
        words = len(answer.split())
        if words > TARGET_MAX_WORDS:
            warnings.append(
                f"The answer has {words} words; answers read best at {TARGET_MAX_WORDS} or fewer "
                f"(the limit is {MAX_WORDS})."
            )
        return warnings

    def _validate_and_write(self, topics_text: str, nlu_text: str) -> list[str]:
        """Checks the project as it would be with these two files on a scratch copy, then
        writes whichever of topics.yml, nlu.yml and responses.yml changed. Returns their paths
        relative to the project root; raises ContentEditError (nothing written) on a problem."""
        problems, responses_text = check_on_scratch_copy(
            self.files, topics_text, nlu_text, rasa_validation=self.rasa_validation
        )
        if problems:
            raise ContentEditError(problems=problems)
        return write_changed(
            self.files,
            [
                (self.files.nlu, nlu_text),
                (self.files.topics, topics_text),
                (self.files.responses, responses_text),
            ],
        )


# --- The project the staff console edits (settings: KAPBOT_CONTENT_ROOT) ---------------------


def project() -> ContentProject:
    return ContentProject()


def list_topics() -> list[TopicView]:
    return project().list_topics()


def get_topic(topic_id: str) -> TopicView:
    return project().get_topic(topic_id)


def source_sections() -> list[str]:
    return project().source_sections()


def save_topic(topic_id: str, **fields) -> SaveResult:
    return project().save_topic(topic_id, **fields)


def add_example(intent: str, text: str) -> SaveResult:
    return project().add_example(intent, text)


def intent_for_label(label: str) -> str:
    return project().intent_for_label(label)


def labels() -> list[tuple[str, str]]:
    return project().labels()
