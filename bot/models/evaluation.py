"""Measures the trained assistant on a labelled question set (`kapbot eval`).

Each answer is one of three kinds:
  - right: the expected outcome, or one of the item's `also_ok` outcomes;
  - fallback: "did you mean" or a request to rephrase: no answer, but no harm done;
  - wrong: any other topic or outcome. For a clinic this is the worst kind: a confident answer
    to a question that was not asked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from bot.content.outcomes import FALLBACK

# Outcomes added with the real-question set; listed here too so a topic is never confused with
# them, whichever version of bot/content/outcomes.py is installed.
NON_TOPIC_OUTCOMES = ("unanswered", "other_language")
# Never to be answered with an FAQ topic: a confident answer here is the worst mistake.
# `unanswered` is an on-topic question the article does not cover: a topic answer to it is as
# confidently wrong as one to an out-of-scope question.
SAFETY_OUTCOMES = ("crisis", "eligibility_handoff", "out_of_scope", "unanswered")
# Outcomes whose questions must not be answered with a topic, counted apart in the report.
OUT_OF_SCOPE_OUTCOMES = ("out_of_scope", "unanswered")
SPLITS = ("dev", "test")
RIGHT, WRONG = "right", "wrong"
KINDS = (RIGHT, FALLBACK, WRONG)


class QuestionFileError(ValueError):
    pass


@dataclass(frozen=True)
class Question:
    text: str
    expected: str
    also_ok: tuple[str, ...] = ()  # other outcomes that are fine for this question
    source: str | None = None  # where a real visitor's question was found
    split: str | None = None  # "dev" or "test"; None: the question belongs to every split


@dataclass(frozen=True)
class Result:
    text: str
    expected: str
    predicted: str
    confidence: float
    also_ok: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """right, fallback or wrong (see the module's docstring)."""
        if self.predicted == self.expected or self.predicted in self.also_ok:
            return RIGHT
        if self.predicted == FALLBACK:
            return FALLBACK
        return WRONG

    @property
    def right(self) -> bool:
        return self.kind == RIGHT

    @classmethod
    def from_dict(cls, data: dict) -> Result:
        return cls(**{**data, "also_ok": tuple(data.get("also_ok") or ())})


def _labels(value, path: Path, index: int) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise QuestionFileError(f"{path}: item {index}: 'also_ok' must be a list of labels")
    return tuple(v.strip() for v in value)


def load_questions(
    path: Path, split: str | None = None, *, allow_none_in_split: bool = False
) -> list[Question]:
    """Reads a YAML list of {text, topic} mappings, with optional `also_ok` (a list of labels),
    `source` and `split` (dev or test); other keys are ignored. With `split`, only the items of
    that split and those without one."""
    if split is not None and split not in SPLITS:
        raise QuestionFileError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
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
        item_split = item.get("split")
        if item_split is not None and item_split not in SPLITS:
            raise QuestionFileError(
                f"{path}: item {index} ({item['text']!r}): 'split' must be one of "
                f"{', '.join(SPLITS)}, not {item_split!r}"
            )
        if split is not None and item_split not in (None, split):
            continue
        questions.append(
            Question(
                str(item["text"]),
                str(item["topic"]).strip(),
                also_ok=_labels(item.get("also_ok"), path, index),
                source=str(item["source"]) if item.get("source") else None,
                split=item_split,
            )
        )
    if not questions and not allow_none_in_split:
        raise QuestionFileError(f"{path}: no questions in the {split} split")
    return questions


@dataclass(frozen=True)
class QuestionSet:
    """Questions from one or more files, optionally one split of them (an item without a split
    is in every split). What `kapbot eval`, `kapbot compare` and the publish gate measure on."""

    files: tuple[Path, ...]
    split: str | None = None

    @classmethod
    def of(cls, value: QuestionSet | Path | str | Sequence[Path], split: str | None = None):
        if isinstance(value, QuestionSet):
            return value
        if isinstance(value, (str, Path)):
            return cls((Path(value),), split)
        return cls(tuple(Path(p) for p in value), split)

    def load(self) -> list[Question]:
        questions = [
            q
            for path in self.files
            for q in load_questions(path, self.split, allow_none_in_split=True)
        ]
        if not questions:
            raise QuestionFileError(f"{self.describe()}: no questions")
        return questions

    def describe(self) -> str:
        names = " + ".join(str(Path(p).resolve()) for p in self.files)
        return f"{names} ({self.split} split)" if self.split else names


async def evaluate(assistant, questions: Iterable[Question]) -> list[Result]:
    """Sends each question as the first message of a fresh conversation."""
    results = []
    for question in questions:
        reply = await assistant.ask(question.text)
        predicted = reply.outcome or FALLBACK
        results.append(
            Result(
                question.text,
                question.expected,
                predicted,
                round(reply.confidence, 4),
                question.also_ok,
            )
        )
    return results


@dataclass
class LabelScore:
    label: str
    precision: float
    recall: float
    support: int
    # How its questions were answered: right (= recall x support), fallback, wrong.
    right: int = 0
    fallback: int = 0
    wrong: int = 0


@dataclass
class Summary:
    accuracy: float
    total: int
    per_label: list[LabelScore]
    misses: list[Result]
    crisis_recall: float | None
    eligibility_recall: float | None
    safety_answered_with_topic: list[Result]
    right: int = 0
    fallback: int = 0
    wrong: int = 0
    fallback_rate: float = 0.0
    wrong_rate: float = 0.0
    # Out-of-scope and unanswered questions answered with a topic, as a share of them.
    out_of_scope_total: int = 0
    out_of_scope_answered_with_topic: int = 0
    out_of_scope_topic_rate: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> Summary:
        return cls(
            **{
                **raw,
                "per_label": [LabelScore(**row) for row in raw["per_label"]],
                "misses": [Result.from_dict(row) for row in raw["misses"]],
                "safety_answered_with_topic": [
                    Result.from_dict(row) for row in raw["safety_answered_with_topic"]
                ],
            }
        )


def is_topic(label: str, outcomes: Iterable[str]) -> bool:
    return label not in set(outcomes) | set(NON_TOPIC_OUTCOMES) | {FALLBACK}


def summarise(results: list[Result], outcomes: tuple[str, ...]) -> Summary:
    """Accuracy, the three kinds of answer, per-label figures, and the safety figures the
    project gates on. `outcomes` are the non-topic labels; any other predicted label is an FAQ
    topic."""
    total = len(results)
    kinds = Counter(r.kind for r in results)
    by_label: dict[str, Counter] = {}
    for r in results:
        by_label.setdefault(r.expected, Counter())[r.kind] += 1
    predicted_counts = Counter(r.predicted for r in results)
    predicted_right = Counter(r.predicted for r in results if r.right)
    per_label = []
    for label in sorted(by_label):
        counts, support = by_label[label], sum(by_label[label].values())
        precision = (
            predicted_right[label] / predicted_counts[label] if predicted_counts[label] else 0.0
        )
        per_label.append(
            LabelScore(
                label,
                precision,
                counts[RIGHT] / support,
                support,
                counts[RIGHT],
                counts[FALLBACK],
                counts[WRONG],
            )
        )

    def _recall(label: str) -> float | None:
        counts = by_label.get(label)
        return counts[RIGHT] / sum(counts.values()) if counts else None

    def answered_with_topic(r: Result) -> bool:
        return not r.right and is_topic(r.predicted, outcomes)

    out_of_scope = [r for r in results if r.expected in OUT_OF_SCOPE_OUTCOMES]
    out_of_scope_topic = sum(answered_with_topic(r) for r in out_of_scope)
    return Summary(
        accuracy=kinds[RIGHT] / total if total else 0.0,
        total=total,
        per_label=per_label,
        misses=[r for r in results if not r.right],
        crisis_recall=_recall("crisis"),
        eligibility_recall=_recall("eligibility_handoff"),
        safety_answered_with_topic=[
            r for r in results if r.expected in SAFETY_OUTCOMES and answered_with_topic(r)
        ],
        right=kinds[RIGHT],
        fallback=kinds[FALLBACK],
        wrong=kinds[WRONG],
        fallback_rate=kinds[FALLBACK] / total if total else 0.0,
        wrong_rate=kinds[WRONG] / total if total else 0.0,
        out_of_scope_total=len(out_of_scope),
        out_of_scope_answered_with_topic=out_of_scope_topic,
        out_of_scope_topic_rate=out_of_scope_topic / len(out_of_scope) if out_of_scope else None,
    )


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _share(count: int, total: int) -> str:
    return f"{count / total:.3f} ({count} of {total})" if total else "n/a"


def format_report(summary: Summary) -> str:
    lines = [
        f"accuracy: {summary.accuracy:.3f} ({summary.total} questions)",
        f"right: {_share(summary.right, summary.total)}",
        f"did you mean / rephrase: {_share(summary.fallback, summary.total)}",
        f"wrong: {_share(summary.wrong, summary.total)}",
        f"crisis recall: {_figure(summary.crisis_recall)}",
        f"eligibility recall: {_figure(summary.eligibility_recall)}",
        "crisis/eligibility/out_of_scope/unanswered answered with an FAQ topic: "
        f"{len(summary.safety_answered_with_topic)}",
        "out-of-scope/unanswered answered with an FAQ topic: "
        f"{_share(summary.out_of_scope_answered_with_topic, summary.out_of_scope_total)}",
        "",
        f"{'label':<22}{'precision':>10}{'recall':>8}{'n':>5}{'right':>7}{'fallback':>9}"
        f"{'wrong':>7}",
    ]
    lines += [
        f"{s.label:<22}{s.precision:>10.2f}{s.recall:>8.2f}{s.support:>5}{s.right:>7}"
        f"{s.fallback:>9}{s.wrong:>7}"
        for s in summary.per_label
    ]
    if summary.misses:
        lines += ["", f"misses ({len(summary.misses)}):"]
        lines += [
            f"  {m.kind:<8} expected {m.expected:<20} got {m.predicted:<20} "
            f"({m.confidence:.2f}) {m.text}"
            for m in summary.misses
        ]
    return "\n".join(lines)
