"""The "no worse" rule: is a candidate model no worse than the live model, judged on their
summaries on the same questions (bot/models/comparison.py runs the two models)?

Retraining on the same data moves a few borderline questions either way,
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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from bot.content.outcomes import OUTCOMES
from bot.models.evaluation import OUT_OF_SCOPE_OUTCOMES, WRONG, Result, Summary, is_topic

MAX_ACCURACY_DROP = 0.01
MAX_RECALL_DROP = 0.25
MIN_QUESTIONS_LOST = 3
ALWAYS_KEPT = ("crisis",)  # its recall may not fall at all
# Safety labels that may lose this many questions to a non-topic reply (see the docstring).
SAFETY_NOISE = {"eligibility_handoff": 1}
MAX_WRONG_RISE = 1  # a net rise of one question is never refused (see the docstring)
NOISE_SIGNIFICANCE = 0.05  # the sign test's one-sided level


@dataclass
class LabelRow:
    label: str
    support: int
    live_precision: float
    live_recall: float
    candidate_precision: float
    candidate_recall: float


@dataclass
class Verdict:
    no_worse: bool
    reasons: list[str]


def _is_topic(label: str) -> bool:
    return is_topic(label, OUTCOMES)


def percent(value: float) -> str:
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


def _safety_recall_reasons(labels: list[LabelRow]) -> list[str]:
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
    return reasons


def _safety_topic_reasons(live: Summary, candidate: Summary) -> list[str]:
    """Safety questions that the candidate, and not the live model, answers with a topic."""
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
    return [
        f'"{result.text}" ({result.expected}) would be answered with the topic {result.predicted}.'
        for result in newly
        if (
            result.expected in ALWAYS_KEPT
            or (result.expected == "eligibility_handoff" and more_eligibility)
            or (unsafe(result) and out_of_scope_worse)
        )
    ]


def _accuracy_reasons(live: Summary, candidate: Summary) -> list[str]:
    if live.accuracy - candidate.accuracy > MAX_ACCURACY_DROP:
        return [
            f"Accuracy falls from {live.accuracy:.3f} to {candidate.accuracy:.3f} "
            f"(more than {MAX_ACCURACY_DROP * 100:.0f} point)."
        ]
    return []


def _label_recall_reasons(labels: list[LabelRow]) -> list[str]:
    reasons = []
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
    return reasons


def _wrong_answer_reasons(live: Summary, candidate: Summary) -> list[str]:
    live_wrong = _texts(live.misses, lambda r: r.kind == WRONG)
    candidate_wrong = _texts(candidate.misses, lambda r: r.kind == WRONG)
    if not beyond_noise(len(candidate_wrong - live_wrong), len(live_wrong - candidate_wrong)):
        return []
    return [
        f"Wrong answers rise from {percent(live.wrong_rate)} to "
        f"{percent(candidate.wrong_rate)} ({live.wrong} to {candidate.wrong} of "
        f"{candidate.total} questions): more visitors would get a confident answer to a "
        "question they did not ask."
    ]


def verdict(live: Summary, candidate: Summary, labels: list[LabelRow]) -> Verdict:
    """Applies the "no worse" rule of this module's docstring; reasons in plain words."""
    reasons = [
        *_safety_recall_reasons(labels),
        *_safety_topic_reasons(live, candidate),
        *_accuracy_reasons(live, candidate),
        *_label_recall_reasons(labels),
        *_wrong_answer_reasons(live, candidate),
    ]
    if reasons:
        return Verdict(False, reasons)
    return Verdict(
        True,
        [
            f"No worse than the live model: accuracy {live.accuracy:.3f} -> "
            f"{candidate.accuracy:.3f}; wrong answers {percent(live.wrong_rate)} -> "
            f"{percent(candidate.wrong_rate)}; crisis and eligibility recall kept; no more safety "
            "questions answered with a topic; no label lost more than "
            f"{MAX_RECALL_DROP:.2f} recall."
        ],
    )
