"""The fallback rule, shared by the FaqConfidenceGate and by `kapbot tune`'s replay of it."""

from __future__ import annotations

from collections.abc import Sequence


def is_unsure(confidences: Sequence[float], threshold: float, ambiguity: float) -> bool:
    """True when the best of a ranking (best first) is below `threshold`, or closer than
    `ambiguity` to the runner-up: the same rule as Rasa's FallbackClassifier."""
    if not confidences:
        return True
    top = confidences[0]
    second = confidences[1] if len(confidences) > 1 else 0.0
    return top < threshold or top - second < ambiguity
