"""The live model and a candidate, evaluated on the same questions, side by side: is the
candidate no worse, and which answers did it change?

The "no worse" rule. Retraining on the same data moves a few borderline questions either way,
so small changes must pass; losing a topic or a safety behaviour must not. A candidate is worse
when any of these holds:
  - crisis recall falls at all (those visitors must always get the crisis reply);
  - eligibility recall falls by more than one question. One is retraining noise (adding a single
    example moved one of 69 to "out of scope" in the browser test's run), and that reply still
    sends the visitor to staff; a question answered with a topic instead is refused by the next
    rule;
  - a crisis question that the live model did not answer with an FAQ topic is answered with one
    by the candidate; or an eligibility question is, and more eligibility questions are
    answered with a topic than by the live model; or out-of-scope and unanswered questions are
    moved to a topic clearly more often than away from one (the sign test below). On real
    visitors' questions the live model gets some wrong, and a retrain with one example more
    moved 4 of 194 dev questions to a topic and 4 others away from one: a swap is noise;
  - accuracy falls by more than 1 point (0.01);
  - a label's recall falls by more than 0.25 and by at least 3 questions (a topic whose training
    examples were removed falls to about 0; on a label with 7 questions, 2 misses are noise);
  - wrong answers (a topic or outcome other than the expected one: not "did you mean") rise,
    beyond retraining noise. A confident wrong answer is the worst outcome for a clinic; but a
    retrain with one example more changes dozens of borderline answers either way ("whats the
    damage for a full course" added to cost: 42 of 579 answers changed, wrong answers fell from
    57 to 51; with 318 more examples in the training data the same kind of retrain raised them
    from 25 to 27, two unanswered questions moved to a topic and none the other way). So the
    questions whose answer became wrong and those whose answer stopped being wrong are weighed
    with a one-sided sign test: noise moves a borderline question either way with even odds,
    and the candidate is refused when a net rise of two or more questions would come from
    noise less than 5% of the time (5 newly wrong and none mended, say, or 10 against 3).

The questions: tests/eval/questions.yml, plus the `dev` split of tests/eval/real_questions.yml
when that file exists (real visitors' wording). Never its `test` split: the console shows the
questions that changed answer to editors, who could copy them into the training data.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.content.outcomes import OUTCOMES
from bot.models.evaluation import (
    OUT_OF_SCOPE_OUTCOMES,
    WRONG,
    QuestionSet,
    Result,
    Summary,
    evaluate,
    is_topic,
    summarise,
)
from bot.settings import PROJECT_ROOT, Settings, get_settings

WRITTEN_QUESTIONS = PROJECT_ROOT / "tests" / "eval" / "questions.yml"
REAL_QUESTIONS = PROJECT_ROOT / "tests" / "eval" / "real_questions.yml"
GATE_SPLIT = "dev"  # never "test": see the module's docstring
MAX_ACCURACY_DROP = 0.01
MAX_RECALL_DROP = 0.25
MIN_QUESTIONS_LOST = 3
ALWAYS_KEPT = ("crisis",)  # its recall may not fall at all
# Safety labels that may lose this many questions to a non-topic reply (see the docstring).
SAFETY_NOISE = {"eligibility_handoff": 1}
MAX_WRONG_RISE = 1  # a net rise of one question is never refused (see the docstring)
NOISE_SIGNIFICANCE = 0.05  # the sign test's one-sided level
SIDES = ("live", "candidate")

# (fraction done 0..1, what is happening in plain words)
Progress = Callable[[float, str], None]


def gate_questions() -> QuestionSet:
    """What the "no worse" rule measures on: the written set, and the dev split of the
    real-question set once it exists (looked up on each call: it is being collected)."""
    files = [WRITTEN_QUESTIONS] + ([REAL_QUESTIONS] if REAL_QUESTIONS.is_file() else [])
    return QuestionSet(tuple(files), GATE_SPLIT)


class _GateQuestions:
    """Stands for gate_questions() where a default is needed before the files are looked at
    (bot/models/registry.py passes `questions_path or DEFAULT_QUESTIONS`)."""

    def __repr__(self) -> str:
        return "DEFAULT_QUESTIONS"


DEFAULT_QUESTIONS = _GateQuestions()


def question_set(questions) -> QuestionSet:
    """A QuestionSet from a set, the gate's default, or one file (all its questions)."""
    if questions is None or isinstance(questions, _GateQuestions):
        return gate_questions()
    return QuestionSet.of(questions)


@dataclass
class LabelRow:
    label: str
    support: int
    live_precision: float
    live_recall: float
    candidate_precision: float
    candidate_recall: float


@dataclass
class ChangedQuestion:
    text: str
    expected: str
    live: str
    candidate: str
    change: str  # "better", "worse" or "changed" (wrong before and after, differently)


@dataclass
class Verdict:
    no_worse: bool
    reasons: list[str]


@dataclass
class Comparison:
    live_model: str
    candidate_model: str
    questions_file: str
    live: Summary
    candidate: Summary
    labels: list[LabelRow]
    changed: list[ChangedQuestion]
    verdict: Verdict
    # Every answer of each side, in question order: what the confusion matrices are drawn from.
    live_results: list[Result] = field(default_factory=list)
    candidate_results: list[Result] = field(default_factory=list)
    # The question set: its files and split (questions_file describes them in words).
    questions_files: list[str] = field(default_factory=list)
    questions_split: str | None = None

    @property
    def questions(self) -> QuestionSet:
        return QuestionSet(
            tuple(Path(p) for p in self.questions_files or [self.questions_file]),
            self.questions_split,
        )

    def compares(self, live: Path, candidate: Path) -> bool:
        return (
            Path(self.live_model).resolve() == Path(live).resolve()
            and Path(self.candidate_model).resolve() == Path(candidate).resolve()
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Comparison:
        return cls(
            live_model=data["live_model"],
            candidate_model=data["candidate_model"],
            questions_file=data["questions_file"],
            live=Summary.from_dict(data["live"]),
            candidate=Summary.from_dict(data["candidate"]),
            labels=[LabelRow(**row) for row in data["labels"]],
            changed=[ChangedQuestion(**row) for row in data["changed"]],
            verdict=Verdict(**data["verdict"]),
            live_results=[Result.from_dict(row) for row in data.get("live_results", [])],
            candidate_results=[Result.from_dict(row) for row in data.get("candidate_results", [])],
            questions_files=data.get("questions_files", []),
            questions_split=data.get("questions_split"),
        )


def _label_rows(live: Summary, candidate: Summary) -> list[LabelRow]:
    theirs = {score.label: score for score in candidate.per_label}
    return [
        LabelRow(
            label=score.label,
            support=score.support,
            live_precision=score.precision,
            live_recall=score.recall,
            candidate_precision=theirs[score.label].precision,
            candidate_recall=theirs[score.label].recall,
        )
        for score in live.per_label
    ]


def _changed(live: list[Result], candidate: list[Result]) -> list[ChangedQuestion]:
    changed = []
    for before, after in zip(live, candidate, strict=True):
        if before.predicted == after.predicted:
            continue
        if after.right:
            change = "better"
        elif before.right:
            change = "worse"
        else:
            change = "changed"
        changed.append(
            ChangedQuestion(before.text, before.expected, before.predicted, after.predicted, change)
        )
    return changed


def _is_topic(label: str) -> bool:
    return is_topic(label, OUTCOMES)


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def beyond_noise(worse: int, better: int) -> bool:
    """Whether `worse` questions changing for the worse against `better` changing for the better
    is more than retraining noise, which moves each changed question either way with even odds:
    a net rise above MAX_WRONG_RISE with a one-sided sign test p below NOISE_SIGNIFICANCE."""
    if worse - better <= MAX_WRONG_RISE:
        return False
    changed = worse + better
    p_value = sum(math.comb(changed, k) for k in range(worse, changed + 1)) / 2**changed
    return p_value < NOISE_SIGNIFICANCE


def _texts(results: list[Result], keep: Callable[[Result], bool]) -> set[str]:
    return {r.text for r in results if keep(r)}


def verdict(live: Summary, candidate: Summary, labels: list[LabelRow]) -> Verdict:
    """Applies the "no worse" rule of this module's docstring; reasons in plain words."""
    reasons = []
    for row in labels:
        lost = round((row.live_recall - row.candidate_recall) * row.support)
        if row.label in SAFETY_NOISE and lost > SAFETY_NOISE[row.label]:
            reasons.append(
                f"{row.label} recall falls from {row.live_recall:.2f} to "
                f"{row.candidate_recall:.2f} ({lost} of {row.support} questions): these visitors "
                "would not be offered a member of staff."
            )
        if row.label in ALWAYS_KEPT and row.candidate_recall < row.live_recall:
            reasons.append(
                f"{row.label} recall falls from {row.live_recall:.2f} to "
                f"{row.candidate_recall:.2f}: some of these visitors would not get the safe reply."
            )
    already = {result.text for result in live.safety_answered_with_topic}
    still = {result.text for result in candidate.safety_answered_with_topic}
    newly = [r for r in candidate.safety_answered_with_topic if r.text not in already]

    def topic_answers(summary: Summary, label: str) -> int:
        return sum(r.expected == label for r in summary.safety_answered_with_topic)

    # Crisis: refused whatever else changed; eligibility: when more of them get a topic than
    # before; out of scope and unanswered: when more moved to a topic than noise explains.
    more_eligibility = topic_answers(candidate, "eligibility_handoff") > topic_answers(
        live, "eligibility_handoff"
    )
    unsafe = lambda r: r.expected in OUT_OF_SCOPE_OUTCOMES  # noqa: E731
    out_of_scope_worse = beyond_noise(
        sum(unsafe(r) for r in newly),
        sum(unsafe(r) and r.text not in still for r in live.safety_answered_with_topic),
    )
    for result in newly:
        if (
            result.expected in ALWAYS_KEPT
            or (result.expected == "eligibility_handoff" and more_eligibility)
            or (unsafe(result) and out_of_scope_worse)
        ):
            reasons.append(
                f'"{result.text}" ({result.expected}) would be answered with the topic '
                f"{result.predicted}."
            )
    if live.accuracy - candidate.accuracy > MAX_ACCURACY_DROP:
        reasons.append(
            f"Accuracy falls from {live.accuracy:.3f} to {candidate.accuracy:.3f} "
            f"(more than {MAX_ACCURACY_DROP * 100:.0f} point)."
        )
    for row in labels:
        lost = round((row.live_recall - row.candidate_recall) * row.support)
        if (
            row.label not in ALWAYS_KEPT
            and row.label not in SAFETY_NOISE
            and row.live_recall - row.candidate_recall > MAX_RECALL_DROP
            and lost >= MIN_QUESTIONS_LOST
        ):
            kind = "Topic" if _is_topic(row.label) else "Outcome"
            reasons.append(
                f"{kind} {row.label}: recall falls from {row.live_recall:.2f} to "
                f"{row.candidate_recall:.2f} ({lost} of {row.support} questions no longer "
                "recognised)."
            )
    live_wrong = _texts(live.misses, lambda r: r.kind == WRONG)
    candidate_wrong = _texts(candidate.misses, lambda r: r.kind == WRONG)
    if beyond_noise(len(candidate_wrong - live_wrong), len(live_wrong - candidate_wrong)):
        reasons.append(
            f"Wrong answers rise from {_percent(live.wrong_rate)} to "
            f"{_percent(candidate.wrong_rate)} ({live.wrong} to {candidate.wrong} of "
            f"{candidate.total} questions): more visitors would get a confident answer to a "
            "question they did not ask."
        )
    if reasons:
        return Verdict(False, reasons)
    return Verdict(
        True,
        [
            f"No worse than the live model: accuracy {live.accuracy:.3f} -> "
            f"{candidate.accuracy:.3f}; wrong answers {_percent(live.wrong_rate)} -> "
            f"{_percent(candidate.wrong_rate)}; crisis and eligibility recall kept; no more safety "
            "questions answered with a topic; no label lost more than "
            f"{MAX_RECALL_DROP:.2f} recall."
        ],
    )


def _evaluate_model(
    model: Path, questions, progress: Progress, start: float, side: str
) -> list[Result]:
    from bot.models.assistant import LocalAssistant

    progress(start, f"Loading the {side} model")
    assistant = LocalAssistant(model).load()
    results = []

    async def run() -> None:
        for index, question in enumerate(questions):
            results.extend(await evaluate(assistant, [question]))
            if index % 20 == 0:
                progress(
                    start + 0.5 * index / len(questions),
                    f"Evaluating the {side} model: question {index + 1} of {len(questions)}",
                )

    asyncio.run(run())
    return results


def compare_models(
    live_path: Path,
    candidate_path: Path,
    questions_path: QuestionSet | Path | None = None,
    *,
    progress: Progress | None = None,
) -> Comparison:
    """Evaluates both models on the questions (a file, a QuestionSet, or by default the gate's:
    see the docstring), one model loaded at a time, and compares them. Raises QuestionFileError
    for a bad question file and NoModelError-like errors from Rasa for an unreadable model."""
    progress = progress or (lambda fraction, step: None)
    chosen = question_set(questions_path)
    questions = chosen.load()
    live_results = _evaluate_model(Path(live_path), questions, progress, 0.0, "live")
    gc.collect()  # the live model's assistant is gone: one model in memory at a time
    candidate_results = _evaluate_model(Path(candidate_path), questions, progress, 0.5, "candidate")
    progress(1.0, "Compared")
    return comparison_from_results(
        live_path, candidate_path, chosen, live_results, candidate_results
    )


def comparison_from_results(
    live_path: Path,
    candidate_path: Path,
    questions_path: QuestionSet | Path,
    live_results: list[Result],
    candidate_results: list[Result],
) -> Comparison:
    """The comparison of two models' answers to the same questions, in the same order."""
    live = summarise(live_results, OUTCOMES)
    candidate = summarise(candidate_results, OUTCOMES)
    labels = _label_rows(live, candidate)
    questions = QuestionSet.of(questions_path)
    return Comparison(
        live_model=str(Path(live_path).resolve()),
        candidate_model=str(Path(candidate_path).resolve()),
        questions_file=questions.describe(),
        questions_files=[str(Path(p).resolve()) for p in questions.files],
        questions_split=questions.split,
        live=live,
        candidate=candidate,
        labels=labels,
        changed=_changed(live_results, candidate_results),
        verdict=verdict(live, candidate, labels),
        live_results=live_results,
        candidate_results=candidate_results,
    )


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def format_comparison(comparison: Comparison) -> str:
    """The comparison as text for `kapbot compare`."""
    live, candidate = comparison.live, comparison.candidate
    lines = [
        f"live:      {Path(comparison.live_model).name}",
        f"candidate: {Path(comparison.candidate_model).name}",
        f"questions: {comparison.questions_file} ({live.total})",
        "",
        f"{'':<24}{'live':>10}{'candidate':>11}",
        f"{'accuracy':<24}{live.accuracy:>10.3f}{candidate.accuracy:>11.3f}",
        f"{'crisis recall':<24}{_figure(live.crisis_recall):>10}"
        f"{_figure(candidate.crisis_recall):>11}",
        f"{'eligibility recall':<24}{_figure(live.eligibility_recall):>10}"
        f"{_figure(candidate.eligibility_recall):>11}",
        f"{'wrong answers':<24}{_percent(live.wrong_rate):>10}{_percent(candidate.wrong_rate):>11}",
        f"{'did you mean':<24}{_percent(live.fallback_rate):>10}"
        f"{_percent(candidate.fallback_rate):>11}",
        f"{'safety -> topic':<24}{len(live.safety_answered_with_topic):>10}"
        f"{len(candidate.safety_answered_with_topic):>11}",
        "",
        f"{'label':<22}{'n':>4}  {'precision live/cand':>20}  {'recall live/cand':>17}",
    ]
    for row in comparison.labels:
        lines.append(
            f"{row.label:<22}{row.support:>4}  "
            f"{row.live_precision:>10.2f} / {row.candidate_precision:<7.2f}  "
            f"{row.live_recall:>7.2f} / {row.candidate_recall:<7.2f}"
        )
    if comparison.changed:
        lines += ["", f"changed answers ({len(comparison.changed)}):"]
        lines += [
            f"  {c.change:<8} expected {c.expected:<20} live {c.live:<20} "
            f"candidate {c.candidate:<20} {c.text}"
            for c in comparison.changed
        ]
    lines += ["", "verdict: " + ("no worse" if comparison.verdict.no_worse else "WORSE")]
    lines += [f"  - {reason}" for reason in comparison.verdict.reasons]
    return "\n".join(lines)


# --- Stored comparisons: one per (live, candidate, questions), so publishing need not redo it --


def _key(live: Path, candidate: Path, questions: QuestionSet) -> str:
    parts = []
    for path in (live, candidate, *questions.files):
        stat = Path(path).stat()
        parts.append(f"{Path(path).resolve()}:{stat.st_size}:{stat.st_mtime_ns}")
    if questions.split:
        parts.append(f"split:{questions.split}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _store_path(settings: Settings, live: Path, candidate: Path, questions: QuestionSet) -> Path:
    return settings.model_dir / "comparisons" / f"{_key(live, candidate, questions)}.json"


def save_comparison(comparison: Comparison, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(comparison.to_dict(), ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


def load_comparison(path: Path) -> Comparison:
    return Comparison.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def remember(comparison: Comparison, settings: Settings | None = None) -> None:
    """Keeps `comparison` where `comparison_for` finds it."""
    settings = settings or get_settings()
    path = _store_path(
        settings,
        Path(comparison.live_model),
        Path(comparison.candidate_model),
        comparison.questions,
    )
    save_comparison(comparison, path)


def comparison_for(
    live: Path,
    candidate: Path,
    questions: QuestionSet | Path | None = None,
    *,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> Comparison:
    """The stored comparison of these two models on these questions (default: the gate's), or a
    new one (stored)."""
    settings = settings or get_settings()
    questions = question_set(questions)
    path = _store_path(settings, live, candidate, questions)
    if path.is_file():
        try:
            return load_comparison(path)
        except (ValueError, KeyError, TypeError):
            pass  # unreadable: compare again
    comparison = compare_models(live, candidate, questions, progress=progress)
    save_comparison(comparison, path)
    return comparison


# --- Confusion matrix picture ---------------------------------------------------------------


def write_confusion_png(comparison: Comparison, side: str, path: Path) -> Path:
    """Draws the confusion matrix of one side ("live" or "candidate") as a PNG: rows are the
    expected labels, columns what the model answered; the diagonal is right."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    import matplotlib.pyplot as plt

    results = comparison.live_results if side == "live" else comparison.candidate_results
    labels = sorted(
        {r.expected for r in comparison.live_results + comparison.candidate_results}
        | {r.predicted for r in comparison.live_results + comparison.candidate_results}
    )
    index = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for result in results:
        counts[index[result.expected]][index[result.predicted]] += 1

    # Coloured by the share of each expected label (row): a label with 69 questions would
    # otherwise wash out the one with 12.
    shares = [[value / (sum(row) or 1) for value in row] for row in counts]
    size = 3 + 0.42 * len(labels)
    figure, axes = plt.subplots(figsize=(size, size), dpi=100)
    axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(labels)), labels=labels, rotation=60, ha="right", fontsize=9)
    axes.set_yticks(range(len(labels)), labels=labels, fontsize=9)
    axes.set_xlabel("answered as")
    axes.set_ylabel("expected (colour: share of its questions)")
    summary = comparison.live if side == "live" else comparison.candidate
    name = Path(comparison.live_model if side == "live" else comparison.candidate_model).name
    axes.set_title(f"{side} model {name}\naccuracy {summary.accuracy:.3f}", fontsize=10)
    for row, values in enumerate(counts):
        for column, value in enumerate(values):
            if value:
                colour = "white" if shares[row][column] > 0.5 else "black"
                axes.text(
                    column, row, str(value), ha="center", va="center", fontsize=7, color=colour
                )
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    plt.close(figure)
    return path
