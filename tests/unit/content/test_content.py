"""The editorial content, the generated responses and the training/evaluation data agree."""

import datetime as dt
import shutil

import pytest
import yaml

from bot.content.build import RESPONSES_PATH, faq_response_name, is_stale, render_file
from bot.content.checks import (
    check_project,
    check_training_examples,
    copied_runs,
    normalise_example,
    read_nlu_examples,
)
from bot.content.message_keys import MESSAGE_RESPONSES
from bot.content.model import (
    ARTICLE_PATH,
    CONTENT_DIR,
    ContentError,
    load_content,
    stale_reviews,
)
from bot.content.outcomes import OUTCOMES
from bot.settings import PROJECT_ROOT

TOPIC_IDS = [
    "what_is_kap", "treatment_process", "safety", "dosage", "monitoring", "session_length",
    "side_effects", "psychological_risks", "dependence", "bladder", "benefits",
    "conditions_treated", "onset", "number_of_sessions", "cost",
]  # fmt: skip
EVAL_PATH = PROJECT_ROOT / "tests" / "eval" / "questions.yml"
DEV_PATH = PROJECT_ROOT / "bench" / "dev_questions.yml"


@pytest.fixture(scope="module")
def content():
    return load_content()


def test_topics_are_exactly_the_agreed_ids(content):
    assert sorted(content.topic_ids) == sorted(TOPIC_IDS)


@pytest.mark.parametrize("topic_id", TOPIC_IDS)
def test_answer_is_short_and_plain(content, topic_id):
    topic = content.topic(topic_id)
    assert 40 <= topic.word_count <= 110
    assert topic.label and len(topic.label) <= 40


def test_every_answer_shows_its_source_to_the_visitor(content):
    responses = yaml.safe_load(RESPONSES_PATH.read_text())["responses"]
    for topic in content.topics:
        [variant] = responses[faq_response_name(topic.id)]
        assert variant["text"].startswith(topic.answer)
        assert variant["text"].endswith(f"Source: How Safe Is KAP? — {topic.source_section}")


def test_every_message_has_a_response(content):
    responses = yaml.safe_load(RESPONSES_PATH.read_text())["responses"]
    for key, name in MESSAGE_RESPONSES.items():
        [variant] = responses[name]
        assert variant["text"] == content.messages[key]


def test_generated_responses_file_is_marked_and_up_to_date():
    assert RESPONSES_PATH.read_text().startswith("# GENERATED FILE - do not edit.")
    assert not is_stale()


def test_crisis_message_points_to_911_and_988_first(content):
    crisis = content.messages["crisis"]
    assert "911" in crisis and "988" in crisis
    assert crisis.index("911") < 160


def test_greeting_says_it_is_automated_and_not_medical_advice(content):
    greeting = content.messages["greet_first"].lower()
    assert "automated" in greeting and "medical advice" in greeting


def test_no_answer_copies_the_article_word_for_word(content):
    article = ARTICLE_PATH.read_text()
    for topic in content.topics:
        assert copied_runs(topic.answer, article) == [], topic.id


def test_copy_detection_catches_a_pasted_sentence():
    article = ARTICLE_PATH.read_text()
    pasted = "Honestly, the doses are much lower than those used in surgical settings, we think."
    assert copied_runs(pasted, article)


def test_project_checks_pass():
    problems, _ = check_project()
    assert problems == []


def test_missing_fields_and_long_answers_are_reported_in_plain_words(tmp_path):
    shutil.copytree(CONTENT_DIR, tmp_path / "content")
    topics_file = tmp_path / "content" / "topics.yml"
    document = yaml.safe_load(topics_file.read_text())
    document["topics"][0]["answer"] = "word " * 130
    del document["topics"][1]["source_section"]
    document["topics"][2]["reviewed"] = "last week"
    topics_file.write_text(yaml.safe_dump(document))
    with pytest.raises(ContentError) as error:
        load_content(tmp_path / "content")
    text = str(error.value)
    assert "topic 'what_is_kap': The answer has 130 words; the limit is 120." in text
    assert "topic 'treatment_process': The source section is empty." in text
    assert "topic 'safety': The review date must be a date like 2026-11-26." in text


def test_reviews_older_than_180_days_are_flagged(content):
    later = max(t.reviewed for t in content.topics) + dt.timedelta(days=181)
    assert len(stale_reviews(content, today=later)) == len(content.topics)
    assert stale_reviews(content, today=later - dt.timedelta(days=2)) == []


def test_training_example_problems_are_found(content):
    examples = {f"faq/{t}": [f"q{i} {t}" for i in range(25)] for t in content.topic_ids}
    examples["faq/cost"] = examples["faq/cost"][:3]
    examples["faq/parking"] = ["where do i park"] * 25
    examples["greet"] = ["Q1 safety!"]
    problems = check_training_examples(content, examples)
    assert any("'cost' has 3 training examples" in p for p in problems)
    assert any("faq/parking, which is not a topic" in p for p in problems)
    assert any("'q1 safety' appears under faq/safety, greet" in p for p in problems)


def test_render_is_deterministic(content):
    assert render_file(content) == render_file(load_content())


@pytest.fixture(scope="module")
def eval_set():
    return yaml.safe_load(EVAL_PATH.read_text())


def test_eval_set_is_large_and_covers_every_topic_and_outcome(eval_set):
    labels = {item["topic"] for item in eval_set}
    assert len(eval_set) >= 200
    assert labels == set(TOPIC_IDS) | set(OUTCOMES)


def test_eval_set_shares_no_text_with_the_training_data(eval_set):
    training = {normalise_example(t) for texts in read_nlu_examples().values() for t in texts}
    overlap = [item["text"] for item in eval_set if normalise_example(item["text"]) in training]
    assert overlap == []


def test_development_set_is_apart_from_training_and_test_data(eval_set):
    dev = yaml.safe_load(DEV_PATH.read_text())
    training = {normalise_example(t) for texts in read_nlu_examples().values() for t in texts}
    test = {normalise_example(item["text"]) for item in eval_set}
    shared = [i["text"] for i in dev if normalise_example(i["text"]) in training | test]
    assert len(dev) >= 150
    assert shared == []


def test_handoff_offers_carry_yes_and_no_buttons(content):
    from bot.content.build import render_responses

    responses = render_responses(content)
    for name in ("utter_handoff_offer_eligibility", "utter_handoff_offer_human"):
        buttons = responses[name][0]["buttons"]
        yes, no = content.messages["yes_button"], content.messages["no_button"]
        assert [b["payload"] for b in buttons] == [yes, no]
        assert buttons[0]["title"] == content.messages["yes_button"]
