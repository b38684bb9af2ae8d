"""The live model and a candidate, evaluated on the same questions, side by side: is the
candidate no worse, and which answers did it change?

The "no worse" rule. Retraining on the same data moves a few borderline questions either way,
so small changes must pass; losing a topic or a safety behaviour must not. A candidate is worse
when any of these holds:
  - crisis recall falls at all (those visitors must always get the crisis reply);
  - eligibility recall falls by more than one question. One is retraining noise (adding a single
    example moved one of 69 to "out of scope" in the browser test's run), and that reply still
    sends the visitor to staff; a question answered with a topic instead is refused by the next
    rule whatever the count;
  - a crisis, eligibility or out-of-scope question that the live model did not answer with an
    FAQ topic is answered with one by the candidate;
  - accuracy falls by more than 1 point (0.01);
  - a label's recall falls by more than 0.25 and by at least 3 questions (a topic whose training
    examples were removed falls to about 0; on a label with 7 questions, 2 misses are noise).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.evaluation import (
    LabelScore,
    Result,
    Summary,
    evaluate,
    load_questions,
    summarise,
)
from bot.outcomes import FALLBACK, OUTCOMES
from bot.settings import PROJECT_ROOT, Settings, get_settings

DEFAULT_QUESTIONS = PROJECT_ROOT / "tests" / "eval" / "questions.yml"
MAX_ACCURACY_DROP = 0.01
MAX_RECALL_DROP = 0.25
MIN_QUESTIONS_LOST = 3
ALWAYS_KEPT = ("crisis",)  # its recall may not fall at all
# Safety labels that may lose this many questions to a non-topic reply (see the docstring).
SAFETY_NOISE = {"eligibility_handoff": 1}
SIDES = ("live", "candidate")

# (fraction done 0..1, what is happening in plain words)
Progress = Callable[[float, str], None]


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

    def compares(self, live: Path, candidate: Path) -> bool:
        return (
            Path(self.live_model).resolve() == Path(live).resolve()
            and Path(self.candidate_model).resolve() == Path(candidate).resolve()
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Comparison:
        def summary(raw: dict) -> Summary:
            return Summary(
                **{
                    **raw,
                    "per_label": [LabelScore(**row) for row in raw["per_label"]],
                    "misses": [Result(**row) for row in raw["misses"]],
                    "safety_answered_with_topic": [
                        Result(**row) for row in raw["safety_answered_with_topic"]
                    ],
                }
            )

        return cls(
            live_model=data["live_model"],
            candidate_model=data["candidate_model"],
            questions_file=data["questions_file"],
            live=summary(data["live"]),
            candidate=summary(data["candidate"]),
            labels=[LabelRow(**row) for row in data["labels"]],
            changed=[ChangedQuestion(**row) for row in data["changed"]],
            verdict=Verdict(**data["verdict"]),
            live_results=[Result(**row) for row in data.get("live_results", [])],
            candidate_results=[Result(**row) for row in data.get("candidate_results", [])],
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
        if after.predicted == after.expected:
            change = "better"
        elif before.predicted == before.expected:
            change = "worse"
        else:
            change = "changed"
        changed.append(
            ChangedQuestion(before.text, before.expected, before.predicted, after.predicted, change)
        )
    return changed


def _is_topic(label: str) -> bool:
    return label not in OUTCOMES and label != FALLBACK


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
    for result in candidate.safety_answered_with_topic:
        if result.text not in already:
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
    if reasons:
        return Verdict(False, reasons)
    return Verdict(
        True,
        [
            f"No worse than the live model: accuracy {live.accuracy:.3f} -> "
            f"{candidate.accuracy:.3f}; crisis and eligibility recall kept; no safety question "
            "newly answered with a topic; no label lost more than "
            f"{MAX_RECALL_DROP:.2f} recall."
        ],
    )


def _evaluate_model(
    model: Path, questions, progress: Progress, start: float, side: str
) -> list[Result]:
    from bot.local_assistant import LocalAssistant

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
    questions_path: Path = DEFAULT_QUESTIONS,
    *,
    progress: Progress | None = None,
) -> Comparison:
    """Evaluates both models on the questions in `questions_path` (one model loaded at a time)
    and compares them. Raises QuestionFileError for a bad question file and NoModelError-like
    errors from Rasa for an unreadable model."""
    progress = progress or (lambda fraction, step: None)
    questions = load_questions(Path(questions_path))
    live_results = _evaluate_model(Path(live_path), questions, progress, 0.0, "live")
    gc.collect()  # the live model's assistant is gone: one model in memory at a time
    candidate_results = _evaluate_model(Path(candidate_path), questions, progress, 0.5, "candidate")
    progress(1.0, "Compared")
    return comparison_from_results(
        live_path, candidate_path, questions_path, live_results, candidate_results
    )


def comparison_from_results(
    live_path: Path,
    candidate_path: Path,
    questions_path: Path,
    live_results: list[Result],
    candidate_results: list[Result],
) -> Comparison:
    """The comparison of two models' answers to the same questions, in the same order."""
    live = summarise(live_results, OUTCOMES)
    candidate = summarise(candidate_results, OUTCOMES)
    labels = _label_rows(live, candidate)
    return Comparison(
        live_model=str(Path(live_path).resolve()),
        candidate_model=str(Path(candidate_path).resolve()),
        questions_file=str(Path(questions_path).resolve()),
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


def _key(live: Path, candidate: Path, questions: Path) -> str:
    parts = []
    for path in (live, candidate, questions):
        stat = Path(path).stat()
        parts.append(f"{Path(path).resolve()}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _store_path(settings: Settings, live: Path, candidate: Path, questions: Path) -> Path:
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
        Path(comparison.questions_file),
    )
    save_comparison(comparison, path)


def comparison_for(
    live: Path,
    candidate: Path,
    questions: Path = DEFAULT_QUESTIONS,
    *,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> Comparison:
    """The stored comparison of these two models on these questions, or a new one (stored)."""
    settings = settings or get_settings()
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
