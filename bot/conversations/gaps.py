"""The gap report: what visitors asked over a period that the bot did not answer well, grouped
into themes, for the editors to decide what the content lacks (/staff/content/gaps, `kapbot
gaps`).

A visitor question is a gap when the bot
- could not answer it: "did you mean", a request to rephrase, low confidence, "I can't answer
  that" (out of scope), "the article does not cover this" (`unanswered`, with or without a
  handoff), or an editor's earlier request to look at it;
- answered it and the visitor marked the answer not helpful (👎);
- answered it and the visitor at once asked again in other words, said it was not what they
  asked, or asked for a person (bot/conversations/follow_ups.py).
The inbox's rules decide the last two and most of the first (bot/conversations/inbox_conversation
.py); texts are masked as in the inbox. Themes come from the sentence embeddings the NLU already
stored with each message (bot/conversations/gap_themes.py). Answer health, week by week, is in
bot/conversations/answer_health.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.orm import Session

from bot.content.model import current
from bot.content.outcomes import FALLBACK, OUTCOMES
from bot.conversations.answer_feedback import FeedbackCount, feedback_by_topic
from bot.conversations.answer_health import SERIES, WeekCounts, weekly_health
from bot.conversations.gap_themes import centre_of, group_indices
from bot.conversations.inbox import InboxSources
from bot.conversations.inbox_conversation import (
    answer_outcome,
    chose_a_suggestion,
    is_question,
    offered_did_you_mean,
    personal_details,
    topic_of,
    topic_ranking,
    turn_end,
)
from bot.conversations.inbox_entries import HANDED_OVER, NOT_HELPFUL, message_key
from bot.db.rasa_events import conversation_events, conversations, has_events
from bot.desk.masking import mask
from bot.models.evaluation import is_topic
from bot.nlu.embedding_codec import PARSE_DATA_KEY, decode_embedding

NOT_ANSWERED, NOT_HELPFUL_KIND, ASKED_AGAIN = "not answered", "not helpful", "asked again"
KINDS = (NOT_ANSWERED, NOT_HELPFUL_KIND, ASKED_AGAIN)
# What the bot said when it did not answer, in the report's words.
NOT_ANSWERED_OUTCOMES = {
    "out_of_scope": "answered out of scope",
    "unanswered": "not covered by the article",
}


@dataclass(frozen=True)
class GapMessage:
    key: str
    conversation_id: str
    timestamp: float
    text: str  # masked
    kinds: tuple[str, ...]
    reason: str
    nearest_topic: str | None  # the NLU's likeliest topic for it
    topic_confidence: float  # of that topic, 0 when none
    embedding: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def received_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.timestamp, dt.timezone.utc)


@dataclass(frozen=True)
class Question:
    """A visitor question of the period and what the bot did: "answered" (a topic), "did you
    mean", "not answered", or "other" (a handoff, a booking, small talk)."""

    timestamp: float
    outcome: str
    embedding: np.ndarray | None = field(default=None, compare=False, repr=False)


def _kinds(reason: str, outcome: str) -> tuple[str, ...]:
    """The gap kinds of a message the inbox lists for `reason`, the bot's answer having been
    `outcome` (_question_outcome). Low confidence alone is no gap when the bot answered."""
    kinds = []
    if outcome in ("did you mean", NOT_ANSWERED) or HANDED_OVER in reason:
        kinds.append(NOT_ANSWERED)
    if NOT_HELPFUL in reason.split("; "):
        kinds.append(NOT_HELPFUL_KIND)
    if any(p.startswith("answered ") and ", then " in p for p in reason.split("; ")):
        kinds.append(ASKED_AGAIN)
    return tuple(kind for kind in KINDS if kind in kinds)


def _nearest_topic(parse_data: dict) -> tuple[str | None, float]:
    ranking = topic_ranking(parse_data)
    if not ranking:
        return None, 0.0
    return topic_of(ranking[0]), float(ranking[0].get("confidence") or 0.0)


def _question_outcome(events: list[dict], index: int) -> str:
    turn = events[index + 1 : turn_end(events, index)]
    if offered_did_you_mean(turn):
        return "did you mean"
    outcome = answer_outcome(turn)
    if outcome == FALLBACK:
        return "did you mean"
    if outcome in NOT_ANSWERED_OUTCOMES:
        return NOT_ANSWERED
    if outcome and is_topic(outcome, OUTCOMES):
        return "answered"
    return "other"


def conversation_gaps(
    sender_id: str, events: list[dict], sources: InboxSources, since: float
) -> tuple[list[GapMessage], list[Question]]:
    """One conversation's gap messages and questions since `since` (a Unix time)."""
    by_key = {
        message_key(sender_id, float(event.get("timestamp") or 0)): index
        for index, event in enumerate(events)
        if event.get("event") == "user"
    }
    reasons = {item.key: (item.reason, item.text) for item in sources.items(sender_id, events)}
    details = personal_details(events)
    questions: list[Question] = []
    outcomes: dict[int, str] = {}
    for index, event in enumerate(events):
        timestamp = float(event.get("timestamp") or 0)
        if timestamp < since or not is_question(events, index):
            continue
        if chose_a_suggestion(events, index):
            continue
        outcome = outcomes[index] = _question_outcome(events, index)
        embedding = decode_embedding((event.get("parse_data") or {}).get(PARSE_DATA_KEY))
        questions.append(Question(timestamp, outcome, embedding))
        key = message_key(sender_id, timestamp)
        if key not in reasons and outcome == NOT_ANSWERED:
            said = answer_outcome(events[index + 1 : turn_end(events, index)])
            masked = mask(str(event.get("text") or ""), region=sources.region, **details)
            reasons[key] = (NOT_ANSWERED_OUTCOMES[said], masked)
    found = []
    for key, (reason, text) in reasons.items():
        index = by_key.get(key)
        if index is None or float(events[index].get("timestamp") or 0) < since:
            continue
        outcome = outcomes.get(index) or _question_outcome(events, index)
        kinds = _kinds(reason, outcome)
        if not kinds:
            continue
        parse_data = events[index].get("parse_data") or {}
        topic, confidence = _nearest_topic(parse_data)
        found.append(
            GapMessage(
                key=key,
                conversation_id=sender_id,
                timestamp=float(events[index].get("timestamp") or 0),
                text=text,
                kinds=kinds,
                reason=reason,
                nearest_topic=topic,
                topic_confidence=confidence,
                embedding=decode_embedding(parse_data.get(PARSE_DATA_KEY)),
            )
        )
    return found, questions


def collect(
    session: Session, since: float, sources: InboxSources
) -> tuple[list[GapMessage], list[Question]]:
    """Every gap message and every visitor question since `since`, oldest first; `sources`:
    what the inbox reads besides the tracker store, read once by the caller."""
    if not has_events(session):
        return [], []
    messages: list[GapMessage] = []
    questions: list[Question] = []
    for sender_id, _last in conversations(session, since=since):
        found, asked = conversation_gaps(
            sender_id, conversation_events(session, sender_id), sources, since
        )
        messages += found
        questions += asked
    messages.sort(key=lambda m: m.timestamp)
    questions.sort(key=lambda q: q.timestamp)
    return messages, questions


def down_vote_times(sources: InboxSources, since: float) -> list[float]:
    """When answers were marked not helpful since `since` (the votes the inbox read)."""
    return sorted(
        at.timestamp()
        for votes in sources.down_votes.values()
        for _topic, at in votes
        if at.timestamp() >= since
    )


def topic_labels() -> dict[str, tuple[str, str]]:
    """Topic id -> (label, source section), for naming a theme's nearest topic."""
    return {t.id: (t.label, t.source_section) for t in current().topics}


# --- The report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Theme:
    messages: tuple[GapMessage, ...]
    nearest_topic: str | None
    topic_label: str | None
    article_section: str | None
    # No topic is near: most of its messages were not close to any topic the bot has.
    new_topic: bool

    @property
    def size(self) -> int:
        return len(self.messages)

    @property
    def key(self) -> str:
        return hashlib.sha256("\n".join(sorted(m.key for m in self.messages)).encode()).hexdigest()[
            :16
        ]

    @property
    def examples(self) -> list[str]:
        """Up to three of its messages, different texts."""
        seen: dict[str, str] = {}
        for message in self.messages:
            seen.setdefault(" ".join(message.text.lower().split()), message.text)
        return list(seen.values())[:EXAMPLES_PER_THEME]

    def kind_counts(self) -> dict[str, int]:
        return {kind: sum(kind in m.kinds for m in self.messages) for kind in KINDS}


@dataclass(frozen=True)
class GapReport:
    since: dt.datetime
    until: dt.datetime
    questions: int  # visitor questions in the period
    themes: list[Theme]
    weeks: list[WeekCounts]
    topic_votes: dict[str, FeedbackCount]

    @property
    def messages(self) -> list[GapMessage]:
        return [m for theme in self.themes for m in theme.messages]

    def kind_counts(self) -> dict[str, int]:
        return {kind: sum(kind in m.kinds for m in self.messages) for kind in KINDS}


EXAMPLES_PER_THEME = 3


def _theme(messages: list[GapMessage], labels: dict, near: float) -> Theme:
    scores: dict[str, float] = {}
    for message in messages:
        if message.nearest_topic:
            scores[message.nearest_topic] = (
                scores.get(message.nearest_topic, 0.0) + message.topic_confidence
            )
    nearest = max(scores, key=scores.get) if scores else None
    closeness = (scores.get(nearest, 0.0) / len(messages)) if nearest else 0.0
    label, section = labels.get(nearest, (None, None)) if nearest else (None, None)
    return Theme(tuple(messages), nearest, label, section, new_topic=closeness < near)


def gap_report(session: Session, days: int, now: dt.datetime | None = None) -> GapReport:
    """The gap report of the last `days` days (up to `now`)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    since = now - dt.timedelta(days=days)
    sources = InboxSources(session)
    messages, questions = collect(session, since.timestamp(), sources)
    centre = centre_of([q.embedding for q in questions if q.embedding is not None])
    groups = group_indices([m.embedding for m in messages], [m.text for m in messages], centre)
    near = sources.thresholds.topic
    labels = topic_labels()
    themes = [_theme([messages[i] for i in group], labels, near) for group in groups]
    weeks = weekly_health(
        [(q.timestamp, q.outcome) for q in questions],
        down_vote_times(sources, since.timestamp()),
        since.timestamp(),
        now.timestamp(),
    )
    return GapReport(since, now, len(questions), themes, weeks, feedback_by_topic(session, since))


def report_dict(report: GapReport) -> dict:
    """The report as JSON-ready data (`kapbot gaps --json`)."""
    return {
        "since": report.since.isoformat(timespec="seconds"),
        "until": report.until.isoformat(timespec="seconds"),
        "questions": report.questions,
        "counts": report.kind_counts(),
        "themes": [
            {
                "size": theme.size,
                "kinds": theme.kind_counts(),
                "examples": theme.examples,
                "nearest_topic": theme.nearest_topic,
                "article_section": theme.article_section,
                "new_topic": theme.new_topic,
                "messages": [
                    {
                        "received_at": m.received_at.isoformat(timespec="seconds"),
                        "text": m.text,
                        "why": m.reason,
                    }
                    for m in theme.messages
                ],
            }
            for theme in report.themes
        ],
        "weeks": [
            {"week": week.week.isoformat(), **dict(zip(SERIES, week.values(), strict=True))}
            for week in report.weeks
        ],
        "topic_votes": {t: {"up": v.up, "down": v.down} for t, v in report.topic_votes.items()},
    }


def report_csv(report: GapReport) -> str:
    """One row per gap message, with its theme: for a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["theme", "theme_size", "received_at_utc", "kinds", "why", "text", "nearest_topic",
         "article_section", "new_topic"]
    )  # fmt: skip
    for number, theme in enumerate(report.themes, start=1):
        for m in theme.messages:
            writer.writerow(
                [
                    number,
                    theme.size,
                    m.received_at.isoformat(timespec="seconds"),
                    ", ".join(m.kinds),
                    m.reason,
                    m.text,
                    theme.nearest_topic or "",
                    theme.article_section or "",
                    "yes" if theme.new_topic else "no",
                ]
            )
    return buffer.getvalue()
