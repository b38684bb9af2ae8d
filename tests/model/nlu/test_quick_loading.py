"""The trained model loaded without Rasa's training step (bot/nlu/quick_loading.py) predicts
exactly what Rasa's own loading of the same model predicts."""

from __future__ import annotations

import asyncio

import pytest

from bot.models.comparison import WRITTEN_QUESTIONS
from bot.models.evaluation import QuestionSet

pytestmark = pytest.mark.slow


def _rankings(assistant, texts: list[str]) -> list[tuple]:
    async def parse_all():
        return [await assistant.parse(text) for text in texts]

    rankings = []
    for parsed in asyncio.run(parse_all()):
        topics = parsed.get("response_selector", {}).get("faq", {}).get("ranking") or []
        rankings.append(
            (
                [(r["name"], r["confidence"]) for r in parsed["intent_ranking"]],
                [(r["intent_response_key"], r["confidence"]) for r in topics],
            )
        )
    return rankings


def test_quick_loading_predicts_what_rasas_loading_predicts(assistant, model_path, monkeypatch):
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier
    from rasa.nlu.selectors.response_selector import ResponseSelector

    from bot.models.assistant import LocalAssistant
    from bot.nlu.quick_loading import QuickLoadingDIETClassifier, QuickLoadingResponseSelector

    texts = [question.text for question in QuestionSet.of(WRITTEN_QUESTIONS).load()][:120]
    quick = _rankings(assistant, texts)
    # The same model, its two classifiers loaded Rasa's way: one training step, then the weights.
    monkeypatch.setattr(
        QuickLoadingDIETClassifier, "model_class", staticmethod(DIETClassifier.model_class)
    )
    monkeypatch.setattr(
        QuickLoadingResponseSelector, "model_class", staticmethod(ResponseSelector.model_class)
    )
    rasas = _rankings(LocalAssistant(model_path).load(), texts)
    assert quick == rasas
    # Not a vacuous match: the messages get many different topics.
    assert len({topics[0][0] for _intents, topics in quick if topics}) > 5
