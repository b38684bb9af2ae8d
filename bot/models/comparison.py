"""The live model and a candidate, evaluated on the same questions, side by side: is the
candidate no worse (the rule is bot/models/no_worse_rule.py), and which answers did it change?

The questions: tests/eval/questions.yml, plus the `dev` split of tests/eval/real_questions.yml
when that file exists (real visitors' wording). Never its `test` split: the console shows the
questions that changed answer to editors, who could copy them into the training data.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.content.outcomes import OUTCOMES
from bot.files.atomic import write_atomically
from bot.models.evaluation import QuestionSet, Result, Summary, evaluate, summarise
from bot.models.no_worse_rule import LabelRow, Verdict, percent, verdict
from bot.settings import PROJECT_ROOT, Settings, get_settings

WRITTEN_QUESTIONS = PROJECT_ROOT / "tests" / "eval" / "questions.yml"
REAL_QUESTIONS = PROJECT_ROOT / "tests" / "eval" / "real_questions.yml"
GATE_SPLIT = "dev"  # never "test": see the module's docstring
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
class ChangedQuestion:
    text: str
    expected: str
    live: str
    candidate: str
    change: str  # "better", "worse" or "changed" (wrong before and after, differently)


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
        f"{'wrong answers':<24}{percent(live.wrong_rate):>10}{percent(candidate.wrong_rate):>11}",
        f"{'did you mean':<24}{percent(live.fallback_rate):>10}"
        f"{percent(candidate.fallback_rate):>11}",
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
    write_atomically(path, json.dumps(comparison.to_dict(), ensure_ascii=False))


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
