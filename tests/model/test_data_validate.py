"""An editor's change checked by Rasa's own `rasa data validate`, and what it finds in plain
words."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from bot.content.checks import check_project
from bot.content.editing import ContentEditError, ContentProject
from tests.unit.content.test_editing import NEW_EXAMPLES, PARKING_LIKE_ANSWER, snapshot


@pytest.mark.slow
def test_a_new_topic_passes_rasa_data_validate_and_needs_no_rule(project_copy):
    project = ContentProject(project_copy)  # with `rasa data validate`
    result = project.save_topic(
        "home_sessions",
        label="Can I do KAP at home?",
        answer=PARKING_LIKE_ANSWER,
        source_section="Understanding the Safety Profile",
        reviewed=dt.date.today(),
        examples=NEW_EXAMPLES,
        new=True,
    )
    assert sorted(result.changed) == [
        "bot/data/nlu.yml", "bot/data/responses.yml", "content/topics.yml"
    ]  # fmt: skip
    files = project.files
    intents = [b["intent"] for b in yaml.safe_load(files.nlu.read_text())["nlu"]]
    assert intents.index("faq/home_sessions") == intents.index("faq/cost") + 1
    responses = yaml.safe_load(files.responses.read_text())["responses"]
    assert responses["utter_faq/home_sessions"][0]["text"].endswith(
        "Source: How Safe Is KAP? — Understanding the Safety Profile"
    )
    # The one FAQ rule answers every faq/<topic>: rules, stories and domain stay as they were.
    rules = yaml.safe_load(files.data_dir.joinpath("rules.yml").read_text())["rules"]
    assert {"intent": "faq"} in next(r["steps"] for r in rules if r["rule"].startswith("answer a"))
    assert check_project(files) == ([], [])
    with pytest.raises(ContentEditError) as refused:
        project.save_topic("home_sessions", new=True, **{
            "label": "x", "answer": PARKING_LIKE_ANSWER, "source_section": "Introduction",
            "reviewed": dt.date.today(), "examples": NEW_EXAMPLES,
        })  # fmt: skip
    assert refused.value.field_problems["id"] == [
        "There is already a topic with the id home_sessions."
    ]


@pytest.mark.slow
def test_what_rasa_data_validate_finds_is_reported_in_plain_words(project_copy):
    # A developer's slip the content checks do not look at: an intent missing from domain.yml.
    domain = project_copy / "domain.yml"
    domain.write_text(domain.read_text().replace("  - bot_challenge\n", "", 1))
    project = ContentProject(project_copy)
    before = snapshot(project.files)
    with pytest.raises(ContentEditError) as refused:
        project.add_example("greet", "hiya there")
    assert refused.value.problems == [
        "A conversation rule uses the intent bot_challenge, which the assistant does not know.",
        "The intent bot_challenge is not known to the assistant "
        "(a developer has to add it to domain.yml).",
    ]
    assert snapshot(project.files) == before
