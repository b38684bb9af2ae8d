"""The real-question set (tests/eval/real_questions.yml): questions in real people's words from
public pages, none written by this team, split once into `dev` and `test`. The `test` part is
what the bot's quality is judged on, so none of it may reach the training data."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlparse

import pytest
import yaml

from bot.content.checks import normalise_example, read_nlu_examples
from bot.content.model import load_content
from bot.content.outcomes import OUTCOMES
from bot.settings import PROJECT_ROOT

REAL_PATH = PROJECT_ROOT / "tests" / "eval" / "real_questions.yml"
# Containment counts from this many words on: a short example such as "is it safe" or "hello"
# standing inside a real question is ordinary English, not a copied question.
CONTAINED_MIN_WORDS = 4


@pytest.fixture(scope="module")
def real_set() -> list[dict]:
    return yaml.safe_load(REAL_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def training_examples() -> list[str]:
    examples = {normalise_example(t) for texts in read_nlu_examples().values() for t in texts}
    return sorted(e for e in examples if e)


def test_real_set_is_large_sourced_and_labelled(real_set):
    labels = set(load_content().topic_ids) | set(OUTCOMES)
    assert len(real_set) >= 300
    for item in real_set:
        assert str(item["text"]).strip(), item
        assert item["topic"] in labels, item
        assert set(item.get("also_ok") or []) <= labels - {item["topic"]}, item
        source = urlparse(item["source"])
        assert source.scheme in ("http", "https") and source.netloc, item
        assert item["split"] in ("dev", "test"), item


def test_real_set_has_no_repeated_question(real_set):
    counts = Counter(normalise_example(item["text"]) for item in real_set)
    assert [text for text, n in counts.items() if n > 1] == []


def test_both_splits_cover_the_safety_outcomes(real_set):
    for split in ("dev", "test"):
        labels = Counter(item["topic"] for item in real_set if item["split"] == split)
        assert labels["crisis"] >= 5 and labels["eligibility_handoff"] >= 15, (split, labels)
        assert labels["out_of_scope"] >= 8 and labels["unanswered"] >= 8, (split, labels)


def _shares_text(question: str, example: str) -> bool:
    if question == example:
        return True
    shorter, longer = sorted((question, example), key=len)
    if len(shorter.split()) < CONTAINED_MIN_WORDS:
        return False
    return f" {shorter} " in f" {longer} "


def test_no_test_question_is_in_the_training_data(real_set, training_examples):
    leaked = [
        (item["text"], example)
        for item in real_set
        if item["split"] == "test"
        for example in training_examples
        if _shares_text(normalise_example(item["text"]), example)
    ]
    assert leaked == []


def test_the_leak_check_sees_equal_contained_and_containing_text():
    assert _shares_text("is ketamine addictive", "is ketamine addictive")
    assert _shares_text("can i drink alcohol after a session", "drink alcohol after a session")
    assert _shares_text("drink alcohol after a session", "so can i drink alcohol after a session")
    assert not _shares_text("hello there, is ketamine addictive", "hello there")
