"""Visitors' thumbs up/down on FAQ answers (stored by the website widget): summed per topic for the
content editors' topic list, and the thumbs down per conversation for the review inbox."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.db.models import AnswerFeedback


@dataclass(frozen=True)
class FeedbackCount:
    up: int = 0
    down: int = 0


def feedback_by_topic(
    session: Session, since: dt.datetime | None = None
) -> dict[str, FeedbackCount]:
    """Votes per topic, all of them or those cast since `since`."""
    query = sa.select(AnswerFeedback.topic, AnswerFeedback.vote, sa.func.count()).group_by(
        AnswerFeedback.topic, AnswerFeedback.vote
    )
    if since is not None:
        query = query.where(AnswerFeedback.at >= since)
    rows = session.execute(query).all()
    votes: dict[str, dict[str, int]] = {}
    for topic, vote, count in rows:
        votes.setdefault(topic, {})[vote] = count
    return {topic: FeedbackCount(**counts) for topic, counts in votes.items()}


def down_votes(session: Session) -> dict[str, list[tuple[str, dt.datetime]]]:
    """Conversation id -> the answers marked not helpful in it, as (topic, time of the vote)."""
    votes: dict[str, list[tuple[str, dt.datetime]]] = {}
    query = sa.select(AnswerFeedback.conversation_id, AnswerFeedback.topic, AnswerFeedback.at)
    for conversation_id, topic, at in session.execute(query.where(AnswerFeedback.vote == "down")):
        votes.setdefault(conversation_id, []).append((topic, at))
    return votes
