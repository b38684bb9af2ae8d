"""Chooses the fallback thresholds in config.yml from a development set (`kapbot tune`).

The trained classifiers' rankings do not depend on the thresholds, so each question is parsed
once and every threshold combination is replayed on the stored rankings, exactly as the
FallbackClassifier and FaqConfidenceGate would apply them. The chosen thresholds make the
fewest mistakes, where answering a crisis or out-of-scope message with an FAQ topic counts as
SAFETY_WEIGHT mistakes (crisis messages are also caught by the pattern layer, which no threshold
can switch off).
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.content.outcomes import FALLBACK, INTENT_OUTCOMES, OUTCOMES
from bot.models.evaluation import SAFETY_OUTCOMES, Question
from bot.nlu.confidence import is_unsure
from bot.nlu.crisis_patterns import crisis_match
from bot.settings import PROJECT_ROOT

CONFIG_PATH = PROJECT_ROOT / "config.yml"
SAFETY_WEIGHT = 5
NO_OUTCOME = "none"  # e.g. a lone "yes": answered, but with no topic or outcome of the set


@dataclass(frozen=True)
class Thresholds:
    intent: float
    intent_ambiguity: float
    topic: float
    topic_ambiguity: float


@dataclass(frozen=True)
class Ranked:
    """One question and what the trained classifiers said about it, before any threshold."""

    question: Question
    intents: tuple[tuple[str, float], ...]
    topics: tuple[tuple[str, float], ...]
    crisis_pattern: bool


def ranked_from_parse(question: Question, parse_data: dict) -> Ranked:
    intents = sorted(
        (
            (item["name"], float(item["confidence"]))
            for item in parse_data.get("intent_ranking") or []
            if item["name"] != "nlu_fallback"
        ),
        key=lambda pair: -pair[1],
    )
    faq = (parse_data.get("response_selector") or {}).get("faq") or {}
    topics = tuple(
        (item["intent_response_key"].split("/", 1)[1], float(item["confidence"]))
        for item in faq.get("ranking") or []
    )
    return Ranked(question, tuple(intents), topics, bool(crisis_match(question.text)))


def _unsure(ranking: tuple[tuple[str, float], ...], threshold: float, ambiguity: float) -> bool:
    return is_unsure([confidence for _, confidence in ranking], threshold, ambiguity)


def predict(ranked: Ranked, thresholds: Thresholds) -> str:
    """The outcome the pipeline gives a first message under these thresholds."""
    if ranked.crisis_pattern:
        return "crisis"
    if _unsure(ranked.intents, thresholds.intent, thresholds.intent_ambiguity):
        return FALLBACK
    intent = ranked.intents[0][0]
    if intent == "faq":
        if _unsure(ranked.topics, thresholds.topic, thresholds.topic_ambiguity):
            return FALLBACK
        return ranked.topics[0][0]
    intent = INTENT_OUTCOMES.get(intent, intent)
    return intent if intent in OUTCOMES else NO_OUTCOME


@dataclass(frozen=True)
class Score:
    thresholds: Thresholds
    accuracy: float
    safety_answered_with_topic: int
    wrong_topic_answers: int
    questions: int

    @property
    def cost(self) -> float:
        misses = round((1 - self.accuracy) * self.questions)
        return misses + (SAFETY_WEIGHT - 1) * self.safety_answered_with_topic


def score(ranked: list[Ranked], thresholds: Thresholds) -> Score:
    non_topics = set(OUTCOMES) | {FALLBACK, NO_OUTCOME}
    correct = unsafe = wrong_topic = 0
    for item in ranked:
        predicted = predict(item, thresholds)
        expected = item.question.expected
        correct += predicted == expected
        if predicted not in non_topics and predicted != expected:
            wrong_topic += 1
            unsafe += expected in SAFETY_OUTCOMES
    return Score(thresholds, correct / len(ranked), unsafe, wrong_topic, len(ranked))


def _steps(low: float, high: float, step: float) -> list[float]:
    count = round((high - low) / step)
    return [round(low + i * step, 3) for i in range(count + 1)]


def _quality(result: Score) -> tuple:
    """The fewest weighted mistakes, then the fewest wrong-topic answers."""
    return (result.cost, result.wrong_topic_answers)


def search(ranked: list[Ranked]) -> list[Score]:
    """Every combination on the grid, best first (see `_quality`)."""
    ambiguities = _steps(0.0, 0.2, 0.05)
    grid = itertools.product(
        _steps(0.3, 0.9, 0.05), ambiguities, _steps(0.2, 0.9, 0.05), ambiguities
    )
    return sorted((score(ranked, Thresholds(*values)) for values in grid), key=_quality)


def choose(scores: list[Score]) -> Score:
    """The middle of the best plateau: many combinations score the same on a few hundred
    questions, and the one furthest from the plateau's edges is the least likely to be luck."""
    best = _quality(scores[0])
    tied = [s for s in scores if _quality(s) == best]
    fields = ("intent", "intent_ambiguity", "topic", "topic_ambiguity")
    centre = {f: statistics.median(getattr(s.thresholds, f) for s in tied) for f in fields}
    return min(
        tied,
        key=lambda s: sum((getattr(s.thresholds, f) - centre[f]) ** 2 for f in fields),
    )


def configured_thresholds(config_path: Path = CONFIG_PATH) -> Thresholds:
    pipeline = yaml.safe_load(config_path.read_text(encoding="utf-8"))["pipeline"]
    by_name = {component["name"].rsplit(".", 1)[-1]: component for component in pipeline}
    fallback, gate = by_name["FallbackClassifier"], by_name["FaqConfidenceGate"]
    return Thresholds(
        float(fallback["threshold"]),
        float(fallback["ambiguity_threshold"]),
        float(gate["threshold"]),
        float(gate["ambiguity_threshold"]),
    )
