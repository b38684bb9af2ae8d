"""The gap report's pages (/staff/content/gaps) and `kapbot gaps`, through Flask's test client
(CSRF on) and the command line, on SQLite and the real PostgreSQL, over conversations written to
Rasa's SQL tracker store. Their embeddings are made up here (two directions, two themes): how
real wording groups is tests/model/test_gap_report.py's subject."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys

import numpy as np
import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain

from bot.conversations.inbox import inbox_messages
from bot.conversations.inbox_entries import SENT_FROM_GAPS
from bot.db.session import session_scope
from bot.desk.staff_accounts import create_user
from bot.nlu.embedding_codec import DIMENSIONS, PARSE_DATA_KEY, encode_embedding
from bot.settings import PROJECT_ROOT, get_settings
from bot.web import create_app
from tests.integration.db.conversations import Conversation
from tests.integration.web.test_staff_console import (
    PASSWORD,
    audit_rows,
    flashes,
    post_form,
    sign_in,
    text_of,
)

DRIVING = ["can I drive home after", "may I drive myself home", "driving home afterwards?"]
PARKING = ["where do I park", "is there parking at the clinic"]


def direction(axis: int, wobble: float) -> np.ndarray:
    vector = np.zeros(DIMENSIONS, dtype=np.float32)
    vector[axis] = 1.0
    vector[axis + 1] = wobble
    return vector


def parse_data(axis: int, wobble: float) -> dict:
    return {
        "intent": {"name": "unanswered", "confidence": 0.9},
        "intent_ranking": [{"name": "unanswered", "confidence": 0.9}],
        "response_selector": {
            "faq": {"ranking": [{"intent_response_key": "faq/cost", "confidence": 0.05}]}
        },
        PARSE_DATA_KEY: encode_embedding(direction(axis, wobble)),
    }


@pytest.fixture
def site(project, database_url):
    store = SQLTrackerStore(domain=Domain.empty(), host=database_url)

    async def write():
        for number, text in enumerate(DRIVING + PARKING):
            conversation = Conversation(minute=number * 60)
            if number == 1:
                conversation.fills("contact_name", "Pat Example")
                text = f"{text}, I'm Pat Example"
            axis = 0 if number < len(DRIVING) else 10
            conversation.asks(text, parse_data(axis, 0.1 * number))
            conversation.bot("utter_handoff_offer_unanswered", "utter_handoff_offer_unanswered")
            await conversation.save(store)

    asyncio.run(write())
    with session_scope(database_url) as session:
        create_user(session, "erin", PASSWORD, "editor")
    client = create_app(get_settings(), {"TESTING": True}).test_client()
    sign_in(client, "erin")
    yield client
    engine = sa.create_engine(database_url)  # Rasa's table: PostgreSQL is shared by the run
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS events"))
    engine.dispose()


# Conversations start at tests/integration/db/conversations.py's START, in November 2026.
DAYS = 365


def test_the_report_groups_the_messages_masks_them_and_charts_the_weeks(site):
    page = text_of(site.get(f"/staff/content/gaps?days={DAYS}"))
    rows = re.findall(r'<tr class="theme" id="theme-(\w+)">(.*?)</tr>', page, re.S)
    assert [re.search(r'class="theme-size">(\d+)', row).group(1) for _, row in rows] == ["3", "2"]
    assert all("New topic?" in row for _, row in rows)
    assert "3 not answered" in rows[0][1] and "2 not answered" in rows[1][1]
    assert "Pat Example" not in page
    assert "5</strong> not answered" in page
    chart = site.get(f"/staff/content/gaps/health.png?days={DAYS}")
    assert chart.status_code == 200 and chart.data.startswith(b"\x89PNG")
    csv_text = text_of(site.get(f"/staff/content/gaps/export.csv?days={DAYS}"))
    assert csv_text.splitlines()[0].startswith("theme,theme_size,received_at_utc")
    assert len(csv_text.strip().splitlines()) == 1 + 5 and "Pat Example" not in csv_text


def test_a_bad_period_is_explained_and_the_default_shown(site):
    for bad in ("0", "abc", "9999"):
        page = site.get(f"/staff/content/gaps?days={bad}")
        assert page.status_code == 200
        assert any("whole number of days from 1 to 365" in f for f in flashes(page))
        assert 'name="days" type="number" min="1" max="365" value="30"' in text_of(page)
    # The conversations are older than a day: nothing to show, said plainly.
    assert "No gaps in this period." in text_of(site.get("/staff/content/gaps?days=1"))


def test_a_theme_goes_to_the_inbox_once_and_can_start_a_topic(site, database_url):
    page_path = f"/staff/content/gaps?days={DAYS}"
    page = text_of(site.get(page_path))
    key = re.search(r'<tr class="theme" id="theme-(\w+)">', page).group(1)
    action = f"/staff/content/gaps/themes/{key}/inbox?days={DAYS}"
    sent = post_form(site, action, page_path)
    assert "Sent 3 messages to the inbox." in flashes(site.get(sent.headers["Location"]))
    with session_scope(database_url) as session:
        listed = [i for i in inbox_messages(session) if SENT_FROM_GAPS in i.reason]
    texts = {i.text for i in listed}
    assert len(listed) == 3 and {DRIVING[0], DRIVING[2]} <= texts
    assert not any("Pat" in text for text in texts)
    again = post_form(site, action, page_path)
    assert "(3 were there already)" in " ".join(flashes(site.get(again.headers["Location"])))
    assert ("erin", "gap_theme_sent_to_inbox", key) in [r[:3] for r in audit_rows(database_url)]
    stale = post_form(site, f"/staff/content/gaps/themes/{'0' * 16}/inbox?days={DAYS}", page_path)
    assert "The report changed since you opened it" in " ".join(
        flashes(site.get(stale.headers["Location"]))
    )

    link = re.search(r'<a href="([^"]+)">Start a new topic from these', page).group(1)
    form = text_of(site.get(link.replace("&amp;", "&")))
    examples = re.search(r'<textarea[^>]*id="examples"[^>]*>(.*?)</textarea>', form, re.S).group(1)
    assert DRIVING[0] in examples and "Pat Example" not in examples


def test_kapbot_gaps_prints_the_same_report_as_json(site, database_url, tmp_path):
    chart = tmp_path / "health.png"
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "gaps", "--since", str(DAYS), "--json"]
        + ["--chart", str(chart)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [t["size"] for t in report["themes"]] == [3, 2]
    assert report["counts"] == {"not answered": 5, "not helpful": 0, "asked again": 0}
    assert all(t["new_topic"] for t in report["themes"])
    assert "Pat Example" not in result.stdout
    assert chart.read_bytes().startswith(b"\x89PNG")
    refused = subprocess.run(
        [sys.executable, "-m", "bot.cli", "gaps", "--since", "0"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and "--since" in refused.stderr
