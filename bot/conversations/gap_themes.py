"""Grouping visitors' messages into themes by meaning: average-linkage clustering of their
sentence embeddings (bot/nlu/embedding_codec.py) by cosine distance, with SciPy's hierarchical
clustering. Pure: no database, no Rasa.

Every message on this site is about ketamine therapy, and all-MiniLM-L6-v2 puts much of its
similarity in what they share ("ketamine", "KAP"): on 24 questions of four subjects (driving
home, insurance, cost, how long the effects last), the raw similarity was 0.55-0.67 within a
subject and up to 0.28 between, and no threshold kept the four apart. Measured from the centre
of the period's questions (the mean embedding of every visitor question, subtracted before the
cosine), the same questions gave 0.43-0.56 within and -0.27 to -0.07 between, and any distance
from 0.8 to 1.0 found exactly the four. MAX_DISTANCE is 0.85: two groups join while their
messages' average centred similarity is at least 0.15. Too few questions make a poor centre:
below MIN_FOR_CENTRE the raw embeddings are used, with RAW_MAX_DISTANCE."""

from __future__ import annotations

import numpy as np

MAX_DISTANCE = 0.85
MIN_FOR_CENTRE = 20
RAW_MAX_DISTANCE = 0.5


def centre_of(embeddings: list[np.ndarray]) -> np.ndarray | None:
    """The mean of the period's question embeddings, when there are enough of them."""
    if len(embeddings) < MIN_FOR_CENTRE:
        return None
    return np.mean(np.stack(embeddings), axis=0)


def _normalised_text(text: str) -> str:
    return " ".join(text.lower().split())


def group_indices(
    embeddings: list[np.ndarray | None], texts: list[str], centre: np.ndarray | None = None
) -> list[list[int]]:
    """Indices of the messages, grouped into themes, largest theme first (ties: earliest message
    first). A message without an embedding (stored before the NLU kept them) joins only
    messages of the same text."""
    with_vectors = [i for i, vector in enumerate(embeddings) if vector is not None]
    groups: list[list[int]] = []
    if len(with_vectors) == 1:
        groups.append(with_vectors)
    elif with_vectors:
        from scipy.cluster.hierarchy import fcluster, linkage

        matrix = np.stack([embeddings[i] for i in with_vectors]).astype(np.float64)
        if centre is not None:
            matrix = matrix - centre
        distance = MAX_DISTANCE if centre is not None else RAW_MAX_DISTANCE
        tree = linkage(matrix, method="average", metric="cosine")
        labels = fcluster(tree, t=distance, criterion="distance")
        by_label: dict[int, list[int]] = {}
        for index, label in zip(with_vectors, labels, strict=True):
            by_label.setdefault(int(label), []).append(index)
        groups += by_label.values()
    by_text: dict[str, list[int]] = {}
    for i, vector in enumerate(embeddings):
        if vector is None:
            by_text.setdefault(_normalised_text(texts[i]), []).append(i)
    groups += by_text.values()
    return sorted((sorted(group) for group in groups), key=lambda g: (-len(g), g[0]))
