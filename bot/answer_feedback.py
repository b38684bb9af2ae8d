"""Visitors' thumbs up/down on FAQ answers (stored by the website widget), summed per topic for the
content editors' topic list."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.db.models import AnswerFeedback


@dataclass(frozen=True)
class FeedbackCount:
    up: int = 0
    down: int = 0


def feedback_by_topic(session: Session) -> dict[str, FeedbackCount]:
    rows = session.execute(
        sa.select(AnswerFeedback.topic, AnswerFeedback.vote, sa.func.count()).group_by(
            AnswerFeedback.topic, AnswerFeedback.vote
        )
    ).all()
    votes: dict[str, dict[str, int]] = {}
    for topic, vote, count in rows:
        votes.setdefault(topic, {})[vote] = count
    return {topic: FeedbackCount(**counts) for topic, counts in votes.items()}
