"""The gap report on 30 scripted conversations whose visitor messages carry the parse data the
trained model really gives them (sentence embeddings included): questions the article does not
cover, answers marked 👎, answers the visitor questioned at once, and well-answered questions.
The report must find the four themes, count each kind of gap, name the nearest topic or say
"new topic?", chart the weeks, and mask the personal details in them."""

from __future__ import annotations

import asyncio
import datetime as dt
import io

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain

from bot.conversations.answer_health import health_chart_png, week_of
from bot.conversations.gaps import (
    ASKED_AGAIN,
    NOT_ANSWERED,
    NOT_HELPFUL_KIND,
    gap_report,
    report_csv,
    report_dict,
)
from bot.db.migrate import upgrade
from bot.db.models import AnswerFeedback
from bot.db.session import session_scope
from tests.integration.db.conversations import START, Conversation

pytestmark = pytest.mark.slow

DRIVING = [
    "can I drive home after a session?",
    "is it safe to drive myself home after ketamine",
    "do I need someone to drive me home after the ketamine session",
    "am I allowed to drive after my appointment",
    "can I take my car to the appointment and drive home",
    "who drives me home after the treatment",
]
INSURANCE = [
    "does insurance cover this therapy",
    "will my health insurance pay for ketamine therapy",
    "is this covered by insurance?",
    "can I use my insurance for this",
    "do you take insurance? I'm Jane Roe, call me on 555-201-7788",
    "is ketamine therapy reimbursed by insurers",
]
COST = [
    "how much does KAP cost",
    "what's the price of a ketamine session",
    "how expensive is this treatment",
    "what will I pay for the sessions",
    "cost of KAP?",
    "how much is one session",
]
EFFECTS = [
    "how long do the effects of ketamine last",
    "how long does the ketamine feeling stay with me",
    "when do the effects wear off",
    "how many hours until the ketamine wears off",
    "how long will I feel strange after the dose",
    "how long until I'm back to normal after ketamine",
]
ANSWERED = [
    ("is ketamine addictive?", "dependence"),
    ("what happens during a KAP session", "treatment_process"),
    ("is KAP safe", "safety"),
    ("how much ketamine is used", "dosage"),
    ("will I be monitored during the session", "monitoring"),
    ("is ketamine bad for the bladder", "bladder"),
]
# Conversation n starts n * 10 hours after START: 30 of them span three weeks.
SPACING_MINUTES = 600
NOW = dt.datetime.fromtimestamp(START, dt.timezone.utc) + dt.timedelta(days=14)


@pytest.fixture
def database(tmp_path, environment):
    url = f"sqlite:///{tmp_path / 'kapbot.db'}"
    environment(DATABASE_URL=url, KAPBOT_VAR_DIR=str(tmp_path / "var"))
    upgrade(url)
    return url


def parse_all(assistant, texts: list[str]) -> dict[str, dict]:
    async def parse():
        return {text: await assistant.parse(text) for text in texts}

    return asyncio.run(parse())


def script(assistant) -> tuple[list[Conversation], list[tuple[str, dt.datetime]], dict]:
    """The 30 conversations, the 👎 votes (conversation, time), and what each group expects."""
    follow_up = "that's not what I asked"
    parsed = parse_all(
        assistant,
        DRIVING + INSURANCE + COST + EFFECTS + [q for q, _ in ANSWERED] + [follow_up],
    )
    conversations, votes = [], []
    minute = 0

    def start() -> Conversation:
        nonlocal minute
        conversation = Conversation(minute=minute)
        minute += SPACING_MINUTES
        conversations.append(conversation)
        return conversation

    for text in DRIVING:  # the article does not cover it: said so, handoff offered
        c = start()
        c.asks(text, parsed[text])
        c.bot("utter_handoff_offer_unanswered", "utter_handoff_offer_unanswered")
    for number, text in enumerate(INSURANCE):  # "did you mean", or "I can't answer that"
        c = start()
        if "Jane Roe" in text:  # the name and number she gives the handoff form later
            c.fills("contact_name", "Jane Roe")
            c.fills("contact_detail", "555-201-7788")
        c.asks(text, parsed[text])
        if number % 2:
            c.did_you_mean()
        else:
            c.bot("utter_out_of_scope", "utter_out_of_scope")
    for text in COST:  # answered, then 👎
        c = start()
        c.asks(text, parsed[text])
        c.bot("utter_faq", "utter_faq/cost")
        votes.append((c.sender, dt.datetime.fromtimestamp(c.clock + 5, dt.timezone.utc)))
    for text in EFFECTS:  # answered, then "that's not what I asked" at once
        c = start()
        c.asks(text, parsed[text])
        c.bot("utter_faq", "utter_faq/session_length")
        c.asks(follow_up, parsed[follow_up])
        c.bot("utter_faq", "utter_faq/session_length")
    for text, topic in ANSWERED:  # answered, nothing more
        c = start()
        c.asks(text, parsed[text])
        c.bot("utter_faq", f"utter_faq/{topic}")
    return conversations, votes


async def store_conversations(url: str, conversations) -> None:
    store = SQLTrackerStore(domain=Domain.empty(), host=url)
    for conversation in conversations:
        await conversation.save(store)


def test_thirty_conversations_give_the_expected_themes_counts_and_chart(assistant, database):
    conversations, votes = script(assistant)
    asyncio.run(store_conversations(database, conversations))
    with session_scope(database) as session:
        for sender, at in votes:
            session.add(AnswerFeedback(conversation_id=sender, topic="cost", vote="down", at=at))
    with session_scope(database) as session:
        report = gap_report(session, days=30, now=NOW)

    themes = {frozenset(m.text for m in theme.messages): theme for theme in report.themes}
    assert len(report.themes) == 4, [t.examples for t in report.themes]
    driving, cost, effects = (themes[frozenset(texts)] for texts in (DRIVING, COST, EFFECTS))
    (insurance,) = [t for t in report.themes if t not in (driving, cost, effects)]
    assert insurance.size == 6

    assert driving.kind_counts() == {NOT_ANSWERED: 6, NOT_HELPFUL_KIND: 0, ASKED_AGAIN: 0}
    assert insurance.kind_counts() == {NOT_ANSWERED: 6, NOT_HELPFUL_KIND: 0, ASKED_AGAIN: 0}
    assert cost.kind_counts() == {NOT_ANSWERED: 0, NOT_HELPFUL_KIND: 6, ASKED_AGAIN: 0}
    assert effects.kind_counts() == {NOT_ANSWERED: 0, NOT_HELPFUL_KIND: 0, ASKED_AGAIN: 6}
    assert report.kind_counts() == {NOT_ANSWERED: 12, NOT_HELPFUL_KIND: 6, ASKED_AGAIN: 6}
    assert report.questions == 30 + 6  # the follow-ups are questions too

    # No topic is near what the article leaves out; the 👎 answers' topic is.
    assert driving.new_topic and insurance.new_topic
    assert not cost.new_topic and cost.nearest_topic == "cost"
    assert cost.article_section and cost.topic_label
    assert len(cost.examples) == 3 and set(cost.examples) <= set(COST)

    # Personal details are masked, in the report and in its exports.
    texts = {m.text for m in insurance.messages}
    assert not any("Jane" in t or "7788" in t for t in texts), texts
    exported = report_csv(report) + str(report_dict(report))
    assert "Jane Roe" not in exported and "555-201-7788" not in exported

    # The weeks: answered, "did you mean", not answered and 👎 per week, as scripted.
    expected: dict[dt.date, list[int]] = {}
    for number in range(len(conversations)):
        week = week_of(START + number * SPACING_MINUTES * 60)
        counts = expected.setdefault(week, [0, 0, 0, 0])
        if number < 6:
            counts[2] += 1  # driving: not answered
        elif number < 12:
            counts[1 if (number - 6) % 2 else 2] += 1  # insurance: did you mean / out of scope
        elif number < 18:
            counts[0] += 1  # cost: answered…
            counts[3] += 1  # …and 👎
        elif number < 24:
            counts[0] += 2  # effects: answered, and the follow-up answered too
        else:
            counts[0] += 1
    shown = {w.week: list(w.values()) for w in report.weeks if any(w.values())}
    assert shown == expected
    first = week_of((NOW - dt.timedelta(days=30)).timestamp())
    weeks = [w.week for w in report.weeks]
    assert weeks == [first + dt.timedelta(days=7 * n) for n in range(len(weeks))]
    assert weeks[-1] == week_of(NOW.timestamp()) and len(shown) == 3

    picture = health_chart_png(report.weeks)
    assert picture.startswith(b"\x89PNG")
    from PIL import Image

    assert Image.open(io.BytesIO(picture)).size == (800, 360)
