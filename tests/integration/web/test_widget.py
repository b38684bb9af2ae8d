"""The widget's files, demo page and endpoints, without Rasa or a browser."""

import gzip
import uuid

import pytest
import sqlalchemy as sa

from bot.settings import PROJECT_ROOT, settings_from_env
from bot.web import create_app
from tests.conftest import free_port

WIDGET = PROJECT_ROOT / "bot" / "web" / "static" / "widget"
SIZE_LIMIT = 40 * 1024


@pytest.fixture
def client(database_url):
    settings = settings_from_env({"RASA_PORT": str(free_port()), "DATABASE_URL": database_url})
    return create_app(settings).test_client()


def test_widget_script_and_css_are_under_40_kb_gzipped():
    # The vendored socket.io client does not count (the budget is for our own code).
    sources = (WIDGET / "widget.js").read_bytes() + (WIDGET / "widget.css").read_bytes()
    assert len(gzip.compress(sources, compresslevel=9)) < SIZE_LIMIT


def test_demo_page_embeds_the_widget_with_one_script_tag(client):
    page = client.get("/").get_data(as_text=True)
    assert 'src="http://localhost/widget.js"' in page
    assert 'data-bot-url="http://127.0.0.1:' in page
    assert page.count("<script") == 1


def test_widget_files_are_served(client):
    script = client.get("/widget.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert b"data-bot-url" in script.data
    for path in ("widget/widget.css", "widget/vendor/socket.io.min.js"):
        assert client.get(f"/static/{path}").status_code == 200, path


@pytest.mark.parametrize(
    "body", [None, {}, {"conversation_id": "abc"}, {"conversation_id": "x" * 36}, ["id"]]
)
def test_delete_refuses_anything_but_a_widget_session_id(client, body):
    response = client.post("/api/conversations/delete", json=body)
    assert response.status_code == 400


def test_delete_removes_only_that_conversations_events(client, database_url):
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        # The columns of Rasa's SQL tracker store that matter here.
        connection.execute(
            sa.text("CREATE TABLE events (sender_id VARCHAR(255), type_name VARCHAR(255), "
                    "timestamp FLOAT, data TEXT)")
        )  # fmt: skip
        for sender in (mine, mine, other):
            connection.execute(
                sa.text("INSERT INTO events (sender_id, type_name, timestamp, data) "
                        "VALUES (:s, 'user', 1.0, '{}')"),
                {"s": sender},
            )  # fmt: skip
    try:
        response = client.post("/api/conversations/delete", json={"conversation_id": mine})
        assert response.status_code == 200
        with engine.connect() as connection:
            left = connection.execute(sa.text("SELECT sender_id FROM events")).scalars().all()
        assert left == [other]
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE events"))
        engine.dispose()


def test_a_vote_is_stored_with_the_topic_not_the_text(client, database_url):
    from bot.content.model import load_content
    from bot.db.models import AnswerFeedback
    from bot.db.session import session_scope

    topic = load_content().topic("dependence")
    conversation_id = str(uuid.uuid4())
    response = client.post(
        "/api/feedback",
        json={"conversation_id": conversation_id, "answer_text": topic.answer, "vote": "down"},
    )
    assert response.status_code == 201
    assert response.get_json() == {"stored": True, "topic": "dependence"}
    with session_scope(database_url) as session:
        stored = session.query(AnswerFeedback).all()
        assert [(f.conversation_id, f.topic, f.vote) for f in stored] == [
            (conversation_id, "dependence", "down")
        ]
        assert stored[0].at is not None


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"conversation_id": "not-a-uuid"}, 400),
        ({"conversation_id": "0b8f8f7e-7c1e-4d5a-9d7e-3f2a1b0c9d8e\n"}, 400),
        ({"vote": "meh"}, 400),
        ({"vote": None}, 400),
        ({"answer_text": None}, 400),
        ({"answer_text": "x" * 5000}, 400),
        ({"answer_text": "My name is Riley and my phone number is 555-0100."}, 422),
        ({"answer_text": ""}, 422),
    ],
)
def test_bad_feedback_is_refused_and_nothing_stored(client, database_url, change, status):
    from bot.content.model import load_content
    from bot.db.models import AnswerFeedback
    from bot.db.session import session_scope

    body = {
        "conversation_id": str(uuid.uuid4()),
        "answer_text": load_content().topic("dependence").answer,
        "vote": "up",
        **change,
    }
    assert client.post("/api/feedback", json=body).status_code == status
    with session_scope(database_url) as session:
        assert session.query(AnswerFeedback).count() == 0


def test_the_api_answers_cross_origin_calls_from_configured_sites_only(database_url):
    settings = settings_from_env(
        {"DATABASE_URL": database_url, "CORS_ORIGINS": "https://clinic.example"}
    )
    client = create_app(settings).test_client()
    for path in ("/api/feedback", "/api/conversations/delete"):
        preflight = client.options(
            path,
            headers={
                "Origin": "https://clinic.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://clinic.example"
        assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
        other = client.options(path, headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in other.headers


def test_a_feedback_flood_is_asked_to_slow_down_and_stores_no_more(database_url):
    """Issue 14: /api/feedback took any number of votes. Now each conversation and each
    address has its own limit; over it a vote gets a clear 429 and nothing is stored."""
    from bot.content.model import load_content
    from bot.db.models import AnswerFeedback
    from bot.db.session import session_scope

    settings = settings_from_env(
        {
            "RASA_PORT": str(free_port()),
            "DATABASE_URL": database_url,
            "RATE_LIMIT_PER_CONVERSATION": "3",
            "RATE_LIMIT_PER_ADDRESS": "5",
        }
    )
    client = create_app(settings).test_client()
    answer = load_content().topic("dependence").answer

    def vote(conversation_id):
        body = {"conversation_id": conversation_id, "answer_text": answer, "vote": "up"}
        return client.post("/api/feedback", json=body)

    one = str(uuid.uuid4())
    answers = [vote(one) for _ in range(5)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429, 429]
    assert "slow down" in answers[-1].get_json()["error"]
    # New conversation ids from the same address stop at the address's limit.
    assert [vote(str(uuid.uuid4())).status_code for _ in range(3)] == [429, 429, 429]
    with session_scope(database_url) as session:
        assert session.query(AnswerFeedback).count() == 3
