"""Clinician sign-off of the answers visitors see.

content/signoffs/answers.yml records, for each topic, the answer text and source section a clinician
last approved (who, on which day, against which article revision) and the clinician's latest
request for changes. It is written only here, by the console's sign-off page and `kapbot
content approve|request-changes`; every decision also goes to the audit log.

A topic's answer is approved when its text and section are those of its last approval and no
article revision has changed that section since; anything else (an edited answer, a new topic,
a changed section of the article) awaits sign-off. Changes to training examples don't touch it.

Publishing (bot/models/registry.py) refuses a model that would show visitors an answer that is
not the last approved text of its topic, so what visitors get from a published model is always
approved text.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.content.article import ArticleError, Revision, load_revisions
from bot.content.model import ContentError, as_date, load_content, load_yaml
from bot.files.atomic import write_atomically
from bot.files.file_lock import exclusive_lock

# In a folder of its own: content/*.yml are training inputs, and a sign-off needs no retraining.
LEDGER_FILE = "signoffs/answers.yml"
HEADER = """\
# Clinician sign-off of each topic's answer. Written by the staff console's sign-off page and
# `kapbot content approve | request-changes`; do not edit by hand (bot/content/signoff.py).
"""

APPROVED, AWAITING, CHANGES_REQUESTED = "approved", "awaiting sign-off", "changes requested"


class SignoffError(ValueError):
    """A decision that cannot be recorded; the message says why, in plain words."""


def normalised(text: str) -> str:
    return " ".join(str(text or "").split())


@dataclass(frozen=True)
class Decision:
    """One clinician's decision on one text of an answer."""

    answer: str
    source_section: str
    clinician: str
    on: dt.date
    article_revision: int | None = None  # approvals: the article revision it was checked against
    comment: str = ""  # change requests: what to change
    topic_id: str = ""

    def covers(self, answer: str, source_section: str) -> bool:
        return normalised(answer) == normalised(self.answer) and (
            source_section.strip() == self.source_section
        )


@dataclass(frozen=True)
class SignoffState:
    """Where one topic's current answer stands."""

    topic_id: str
    status: str  # APPROVED, AWAITING or CHANGES_REQUESTED
    last_approved: Decision | None
    change_request: Decision | None  # only one made on the current text
    article_changed: Revision | None  # a revision that changed the section since the approval

    @property
    def approved(self) -> bool:
        return self.status == APPROVED

    def describe(self) -> str:
        if self.approved:
            a = self.last_approved
            said = f"approved by {a.clinician} on {a.on.isoformat()}"
            if a.article_revision:
                said += f" against article revision {a.article_revision}"
            return said
        if self.article_changed is not None:
            return (
                f"awaiting sign-off: article changed since approval (revision "
                f"{self.article_changed.number})"
            )
        return self.status


def ledger_path(content_dir: Path) -> Path:
    return content_dir / LEDGER_FILE


def _decision(row: object, where: str, topic_id: str) -> Decision:
    if not isinstance(row, dict):
        raise SignoffError(f"{where}: expected a mapping")
    on = as_date(row.get("on"))
    if on is None or not row.get("clinician") or "answer" not in row:
        raise SignoffError(f"{where}: needs answer, source_section, clinician and on")
    revision = row.get("article_revision")
    return Decision(
        answer=normalised(row["answer"]),
        source_section=str(row.get("source_section") or "").strip(),
        clinician=str(row["clinician"]),
        on=on,
        article_revision=int(revision) if revision is not None else None,
        comment=str(row.get("comment") or ""),
        topic_id=topic_id,
    )


def read_ledger(content_dir: Path) -> dict[str, dict[str, Decision]]:
    """Topic id -> {"approved": Decision, "change_request": Decision} (either may be missing)."""
    path = ledger_path(content_dir)
    if not path.exists():
        return {}
    try:
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise SignoffError(f"{path.name} is not valid YAML ({error})") from None
    topics = data.get("topics") if isinstance(data, dict) else None
    if not isinstance(topics, dict):
        raise SignoffError(f"{path.name}: expected `topics:` with one entry per topic")
    return {
        str(topic_id): {
            kind: _decision(row, f"{path.name}, {topic_id}, {kind}", str(topic_id))
            for kind, row in (entry or {}).items()
            if kind in ("approved", "change_request")
        }
        for topic_id, entry in topics.items()
    }


def _row(decision: Decision) -> dict:
    row = {
        "answer": decision.answer,
        "source_section": decision.source_section,
        "clinician": decision.clinician,
        "on": decision.on.isoformat(),
    }
    if decision.article_revision is not None:
        row["article_revision"] = decision.article_revision
    if decision.comment:
        row["comment"] = decision.comment
    return row


def _write_ledger(content_dir: Path, ledger: dict[str, dict[str, Decision]]) -> None:
    topics = {
        topic_id: {kind: _row(decision) for kind, decision in sorted(entry.items())}
        for topic_id, entry in sorted(ledger.items())
        if entry
    }
    body = yaml.safe_dump({"topics": topics}, sort_keys=False, allow_unicode=True, width=100)
    ledger_path(content_dir).parent.mkdir(exist_ok=True)
    write_atomically(ledger_path(content_dir), HEADER + body)


def _changed_since(approval: Decision, revisions: list[Revision]) -> Revision | None:
    """The latest revision after the approval's that changed the approved section."""
    for revision in reversed(revisions):
        if approval.article_revision is not None and revision.number <= approval.article_revision:
            return None
        if approval.source_section in revision.changed_sections:
            return revision
    return None


def topic_state(
    topic_id: str,
    answer: str,
    source_section: str,
    entry: dict[str, Decision],
    revisions: list[Revision],
) -> SignoffState:
    approval, request = entry.get("approved"), entry.get("change_request")
    request = request if request and request.covers(answer, source_section) else None
    changed = None
    if approval is not None and approval.covers(answer, source_section):
        changed = _changed_since(approval, revisions)
        if changed is None:
            return SignoffState(topic_id, APPROVED, approval, None, None)
    status = CHANGES_REQUESTED if request else AWAITING
    return SignoffState(topic_id, status, approval, request, changed)


def signoff_states(content_dir: Path) -> dict[str, SignoffState]:
    """Every topic's sign-off state, by topic id, in the topics' order."""
    content = load_content(content_dir)
    ledger = read_ledger(content_dir)
    try:
        revisions = load_revisions(content_dir)
    except ArticleError as error:
        raise SignoffError(str(error)) from None
    return {
        topic.id: topic_state(
            topic.id, topic.answer, topic.source_section, ledger.get(topic.id, {}), revisions
        )
        for topic in content.topics
    }


def under_review_warning(content_dir: Path) -> list[str]:
    """Lines for the start-up message when topics have no approved answer: visitors who ask
    about them are told a clinician is reviewing it (bot/nlg/approved_answers.py)."""
    try:
        states = signoff_states(content_dir).values()
    except (ContentError, SignoffError) as error:
        return [f"  Answers               the sign-off record cannot be read ({error})"]
    waiting = [state.topic_id for state in states if state.last_approved is None]
    if not waiting:
        return []
    return [
        f"  Answers under review  {len(waiting)} of {len(states)} topics have no answer a "
        "clinician approved:",
        '    visitors get "a clinician is reviewing this answer" for them until one signs off '
        "(.venv/bin/kapbot signoff status)",
    ]


def answer_diff(before: str, after: str) -> list[tuple[str, str]]:
    """The answer's words as (kind, text) runs, kind one of "same", "removed", "added": for
    showing an edit against the last approved text. Word-level: answers are single paragraphs."""
    old, new = normalised(before).split(), normalised(after).split()
    runs: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for operation, i1, i2, j1, j2 in matcher.get_opcodes():
        if operation == "equal":
            runs.append(("same", " ".join(old[i1:i2])))
            continue
        if i2 > i1:
            runs.append(("removed", " ".join(old[i1:i2])))
        if j2 > j1:
            runs.append(("added", " ".join(new[j1:j2])))
    return runs


def _decide(content_dir: Path, seen: dict[str, str], record) -> list[Decision]:
    """Records a decision on each topic in `seen` (topic id -> the answer text the clinician
    read) under the ledger's lock, in one write. If any answer changed since it was read, or a
    topic is unknown, nothing is recorded."""
    # Beside the content editor's lock, in the project's var/ (never committed).
    with exclusive_lock(content_dir.parent / "var" / "signoffs.lock"):
        content = load_content(content_dir)
        ledger = read_ledger(content_dir)
        decisions = []
        for topic_id, seen_answer in seen.items():
            try:
                topic = content.topic(topic_id)
            except KeyError:
                raise SignoffError(f"there is no topic {topic_id!r}") from None
            if normalised(seen_answer) != normalised(topic.answer):
                raise SignoffError(
                    f"the answer of {topic_id!r} changed after you opened it; read the new text "
                    "and decide again"
                )
            entry = dict(ledger.get(topic_id, {}))
            decisions.append(record(topic, entry))
            ledger[topic_id] = entry
        _write_ledger(content_dir, ledger)
    return decisions


def _latest_revision(content_dir: Path) -> int | None:
    try:
        revisions = load_revisions(content_dir)
    except ArticleError as error:
        raise SignoffError(str(error)) from None
    return revisions[-1].number if revisions else None


def approve_answers(
    content_dir: Path, seen: dict[str, str], clinician: str, today: dt.date | None = None
) -> list[Decision]:
    """Records `clinician`'s approval of each topic's current answer and section (`seen`: topic
    id -> the text the clinician read), against the latest article revision; clears their
    change requests."""
    revision = _latest_revision(content_dir)

    def record(topic, entry):
        entry.pop("change_request", None)
        entry["approved"] = Decision(
            normalised(topic.answer),
            topic.source_section,
            clinician,
            today or dt.date.today(),
            revision,
            topic_id=topic.id,
        )
        return entry["approved"]

    return _decide(content_dir, seen, record)


def approve(
    content_dir: Path, topic_id: str, clinician: str, seen_answer: str, today: dt.date | None = None
) -> Decision:
    """approve_answers for one topic."""
    return approve_answers(content_dir, {topic_id: seen_answer}, clinician, today)[0]


def request_changes(
    content_dir: Path,
    topic_id: str,
    clinician: str,
    seen_answer: str,
    comment: str,
    today: dt.date | None = None,
) -> Decision:
    """Records that `clinician` does not approve the topic's current answer, and why. The last
    approved text stays the one visitors may see."""
    comment = " ".join(str(comment or "").split())
    if not comment:
        raise SignoffError("say what should change: the editor sees the comment")

    def record(topic, entry):
        entry["change_request"] = Decision(
            normalised(topic.answer),
            topic.source_section,
            clinician,
            today or dt.date.today(),
            comment=comment,
            topic_id=topic.id,
        )
        return entry["change_request"]

    return _decide(content_dir, {topic_id: seen_answer}, record)[0]
