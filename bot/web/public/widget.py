"""The website widget: the script a clinic's site embeds, a demo clinic page that embeds it the
way a real site would, and the widget's own endpoints (answer feedback, deleting a
conversation). Feedback votes, like chat messages (bot/web/public/chat.py), count against the
client's limits (bot/protection/rate_limits.py)."""

from __future__ import annotations

import logging
import re

from flask import Blueprint, current_app, jsonify, render_template, request, send_from_directory

from bot.content.model import Content, current
from bot.db.models import VOTES, AnswerFeedback
from bot.db.session import session_scope
from bot.desk.handoffs import delete_conversation
from bot.protection.rate_limits import RateLimiter

blueprint = Blueprint("widget", __name__)
log = logging.getLogger(__name__)
# The widget's session ids are random UUIDs; nothing else may name a conversation to delete.
CONVERSATION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@blueprint.get("/")
def demo_page():
    # The Rasa server's address as the visitor's browser reaches it; on a real site this is
    # the data-bot-url the clinic puts in its tag.
    return render_template("demo.html", bot_url=current_app.config["RASA_URL"])


@blueprint.get("/widget.js")
def widget_script():
    # At the site root, so the embedding tag stays short; its CSS and the socket.io client are
    # loaded by the script itself from /static/widget/.
    return send_from_directory(
        current_app.static_folder, "widget/widget.js", mimetype="text/javascript", max_age=300
    )


@blueprint.after_request
def allow_the_clinic_sites(response):
    """The widget calls the API below from the clinic's site, another origin than this app's:
    browsers need CORS headers, for the origins in CORS_ORIGINS only (preflight included)."""
    origin = request.headers.get("Origin")
    allowed = current_app.config["KAPBOT_SETTINGS"].cors_origins
    if request.path.startswith("/api/") and origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.vary.add("Origin")
    return response


def conversation_id_from(body) -> str | None:
    value = body.get("conversation_id") if isinstance(body, dict) else None
    return value if isinstance(value, str) and CONVERSATION_ID.fullmatch(value) else None


def _content() -> Content:
    # Not read once per app: a published model brings its answers without a restart, and the
    # widget's feedback on them must be accepted (bot.content.model.current).
    return current(current_app.config["KAPBOT_SETTINGS"].content_root / "content")


def over_limit(scope: str, conversation: str) -> bool:
    """Counts a request of `scope` from this client and conversation; True when over a limit.
    One limiter per app, in Redis when REDIS_URL is set (shared with the Rasa servers)."""
    limiter = current_app.extensions.get("kapbot_rate_limiter")
    if limiter is None:
        limiter = RateLimiter.from_settings(current_app.config["KAPBOT_SETTINGS"])
        current_app.extensions["kapbot_rate_limiter"] = limiter
    return not limiter.allow(scope, request.remote_addr or "unknown", conversation)


def slow_down_text() -> str:
    settings = current_app.config["KAPBOT_SETTINGS"]
    return (
        _content()
        .messages["slow_down"]
        .format(clinic_phone=settings.clinic_phone, office_hours=settings.office_hours)
    )


def _words(text: str) -> str:
    return " ".join(text.split())


def topic_of(answer_text: str, content: Content) -> str | None:
    """The FAQ topic whose answer the widget showed. Rasa's socket.io channel sends each
    paragraph as its own message, so the text is the whole answer or one paragraph of it."""
    shown = _words(answer_text)
    if len(shown) < 20:
        return None
    for topic in content.topics:
        if shown in _words(topic.answer):
            return topic.id
    return None


@blueprint.post("/api/feedback")
def feedback():
    body = request.get_json(silent=True)
    conversation_id = conversation_id_from(body)
    if conversation_id is None:
        return jsonify(error="Send a JSON object with the widget's 'conversation_id'."), 400
    if over_limit("feedback", conversation_id):
        # Not a 5xx: the widget shows the error text, and nothing is stored.
        return jsonify(error=slow_down_text()), 429
    vote, answer_text = body.get("vote"), body.get("answer_text")
    if vote not in VOTES:
        return jsonify(error="'vote' must be 'up' or 'down'."), 400
    if not isinstance(answer_text, str) or len(answer_text) > 4000:
        return jsonify(error="'answer_text' must be the text of the answer rated."), 400
    topic = topic_of(answer_text, _content())
    if topic is None:
        return jsonify(error="That is not one of the assistant's answers."), 422
    # The topic stands for the answer: the text itself is never stored.
    with session_scope(current_app.config["DATABASE_URL"]) as session:
        session.add(AnswerFeedback(conversation_id=conversation_id, topic=topic, vote=vote))
    return jsonify(stored=True, topic=topic), 201


@blueprint.post("/api/conversations/delete")
def delete():
    conversation_id = conversation_id_from(request.get_json(silent=True))
    if conversation_id is None:
        return jsonify(error="Send a JSON object with the widget's 'conversation_id'."), 400
    with session_scope(current_app.config["DATABASE_URL"]) as session:
        deleted = delete_conversation(session, conversation_id)
    # A count only: the id is the visitor's, and what was deleted is nobody's business now.
    log.info("A visitor deleted their conversation (%d events)", deleted)
    return jsonify(deleted=True)
