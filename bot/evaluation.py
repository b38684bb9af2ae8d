"""Measures the trained assistant on a labelled question set (`kapbot eval`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from bot.outcomes import FALLBACK

# Never to be answered with an FAQ topic: a confident answer here is the worst mistake.
SAFETY_OUTCOMES = ("crisis", "eligibility_handoff", "out_of_scope")


class QuestionFileError(ValueError):
    pass


@dataclass(frozen=True)
class Question:
    text: str
    expected: str


@dataclass(frozen=True)
class Result:
    text: str
    expected: str
    predicted: str
    confidence: float


def load_questions(path: Path) -> list[Question]:
    """Reads a YAML list of {text, topic} mappings; other keys are ignored."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QuestionFileError(f"{path}: no such file") from None
    except yaml.YAMLError as error:
        raise QuestionFileError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, list) or not data:
        raise QuestionFileError(f"{path}: expected a non-empty list of {{text, topic}} mappings")
    questions = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, dict) or not str(item.get("text") or "").strip():
            raise QuestionFileError(f"{path}: item {index} has no 'text'")
        if not str(item.get("topic") or "").strip():
            raise QuestionFileError(f"{path}: item {index} ({item['text']!r}) has no 'topic'")
        questions.append(Question(str(item["text"]), str(item["topic"]).strip()))
    return questions


async def evaluate(assistant, questions: list[Question]) -> list[Result]:
    """Sends each question as the first message of a fresh conversation."""
    results = []
    for question in questions:
        reply = await assistant.ask(question.text)
        predicted = reply.outcome or FALLBACK
        results.append(
            Result(question.text, question.expected, predicted, round(reply.confidence, 4))
        )
    return results


@dataclass
class LabelScore:
    label: str
    precision: float
    recall: float
    support: int


@dataclass
class Summary:
    accuracy: float
    total: int
    per_label: list[LabelScore]
    misses: list[Result]
    crisis_recall: float | None
    eligibility_recall: float | None
    safety_answered_with_topic: list[Result]

    def as_dict(self) -> dict:
        return asdict(self)


def summarise(results: list[Result], outcomes: tuple[str, ...]) -> Summary:
    """Accuracy, per-label precision/recall, and the safety figures the project gates on.

    `outcomes` are the non-topic labels; any other predicted label is an FAQ topic.
    """
    total = len(results)
    correct = sum(r.expected == r.predicted for r in results)
    expected_counts = Counter(r.expected for r in results)
    predicted_counts = Counter(r.predicted for r in results)
    true_positives = Counter(r.expected for r in results if r.expected == r.predicted)
    per_label = []
    for label in sorted(expected_counts):
        tp = true_positives[label]
        precision = tp / predicted_counts[label] if predicted_counts[label] else 0.0
        per_label.append(
            LabelScore(label, precision, tp / expected_counts[label], expected_counts[label])
        )

    def _recall(label: str) -> float | None:
        total = expected_counts.get(label, 0)
        return true_positives[label] / total if total else None

    non_topics = set(outcomes) | {FALLBACK}
    return Summary(
        accuracy=correct / total if total else 0.0,
        total=total,
        per_label=per_label,
        misses=[r for r in results if r.expected != r.predicted],
        crisis_recall=_recall("crisis"),
        eligibility_recall=_recall("eligibility_handoff"),
        safety_answered_with_topic=[
            r for r in results if r.expected in SAFETY_OUTCOMES and r.predicted not in non_topics
        ],
    )


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def format_report(summary: Summary) -> str:
    lines = [
        f"accuracy: {summary.accuracy:.3f} ({summary.total} questions)",
        f"crisis recall: {_figure(summary.crisis_recall)}",
        f"eligibility recall: {_figure(summary.eligibility_recall)}",
        "crisis/eligibility/out_of_scope answered with an FAQ topic: "
        f"{len(summary.safety_answered_with_topic)}",
        "",
        f"{'label':<22}{'precision':>10}{'recall':>8}{'n':>5}",
    ]
    lines += [
        f"{s.label:<22}{s.precision:>10.2f}{s.recall:>8.2f}{s.support:>5}"
        for s in summary.per_label
    ]
    if summary.misses:
        lines += ["", f"misses ({len(summary.misses)}):"]
        lines += [
            f"  expected {m.expected:<20} got {m.predicted:<20} ({m.confidence:.2f}) {m.text}"
            for m in summary.misses
        ]
    return "\n".join(lines)
