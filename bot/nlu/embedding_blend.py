"""Rasa component: blends DIETClassifier and ResponseSelector with a logistic regression on the
pretrained sentence embeddings.

DIET and the ResponseSelector see the sparse word and char n-gram features next to the
embeddings, and with 80 epochs they lean on the sparse ones: they know the words of
bot/data/nlu.yml well and other people's words less. A logistic regression on the embeddings
alone generalises the other way. On the development split of the real-question set
(tests/eval/real_questions.yml) the average of the two answered clearly more questions right
than either alone (docs/benchmarks.md, "Understanding real wording").

Both are put on one flat set of labels, an intent or an FAQ topic (`faq/bladder`):
DIET's probability of `faq` is shared out by the ResponseSelector's topic ranking. The blend
then writes back what the rest of the pipeline reads: the intent and its ranking, and the
ResponseSelector's choice and ranking, all with the blended probability of the flat label, so
FallbackClassifier and FaqConfidenceGate apply one threshold to one scale.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

RESPONSE_SELECTOR = "response_selector"
FAQ = "faq"
WEIGHTS_FILE = "logistic_regression.npz"
LABELS_FILE = "labels.json"


def flat_label(message: Message) -> str | None:
    """`faq/<topic>` for an FAQ example, else its intent."""
    return message.get(INTENT_RESPONSE_KEY) or message.get(INTENT)


def sentence_embedding(message: Message) -> np.ndarray | None:
    """The dense sentence features of the message's text (the sentence encoder's embedding)."""
    _, sentence = message.get_dense_features(TEXT)
    if sentence is None:
        return None
    return np.asarray(sentence.features, dtype=np.float32).reshape(-1)


def fit_on_embeddings(
    training_data: TrainingData, target_of: Callable[[Message], Any], config: dict[str, Any]
):
    """A logistic regression from the examples' sentence embeddings to `target_of(example)`
    (examples whose target is None are left out); None when there are fewer than two targets.
    Classes are balanced: a crisis is one example in twenty, out_of_scope has five times the
    examples of a topic."""
    from sklearn.linear_model import LogisticRegression

    rows, targets = [], []
    for example in training_data.intent_examples:
        embedding, target = sentence_embedding(example), target_of(example)
        if embedding is not None and target is not None:
            rows.append(embedding)
            targets.append(target)
    if len(set(targets)) < 2:
        return None
    return LogisticRegression(
        C=float(config["C"]),
        max_iter=int(config["max_iter"]),
        class_weight="balanced",
        random_state=42,
    ).fit(np.stack(rows), targets)


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def classifier_distribution(message: Message, labels: list[str]) -> np.ndarray:
    """DIET's intents and the ResponseSelector's topics as one distribution over `labels`."""
    index = {label: i for i, label in enumerate(labels)}
    scores = np.zeros(len(labels))
    topics = ((message.get(RESPONSE_SELECTOR) or {}).get(FAQ) or {}).get("ranking") or []
    for intent in message.get(INTENT_RANKING_KEY) or []:
        name, confidence = intent.get(INTENT_NAME_KEY), float(intent.get("confidence") or 0.0)
        if name == FAQ:
            for topic in topics:
                i = index.get(topic.get(INTENT_RESPONSE_KEY))
                if i is not None:
                    scores[i] += confidence * float(topic.get("confidence") or 0.0)
        elif name in index:
            scores[index[name]] = max(scores[index[name]], confidence)
    total = scores.sum()
    return scores / total if total > 0 else scores


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class EmbeddingBlendClassifier(IntentClassifier, GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Share of the embedding classifier in the blend (the rest is DIET's).
            "embedding_weight": 0.5,
            # Inverse regularisation of the logistic regression, chosen on the dev split.
            "C": 64.0,
            "max_iter": 3000,
            "ranking_length": 10,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        labels: list[str] | None = None,
        weights: np.ndarray | None = None,
        bias: np.ndarray | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.labels = labels or []
        self.weights = weights
        self.bias = bias

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmbeddingBlendClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        model = fit_on_embeddings(training_data, lambda e: flat_label(e) or None, self.config)
        if model is None:
            return self._resource
        self.labels = [str(label) for label in model.classes_]
        self.weights = model.coef_.astype(np.float32)
        self.bias = model.intercept_.astype(np.float32)
        self.persist()
        return self._resource

    def persist(self) -> None:
        # Plain arrays and a JSON list, not a pickle: a model file runs no code when loaded.
        with self._model_storage.write_to(self._resource) as directory:
            np.savez(directory / WEIGHTS_FILE, weights=self.weights, bias=self.bias)
            (directory / LABELS_FILE).write_text(json.dumps(self.labels), encoding="utf-8")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> EmbeddingBlendClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                arrays = np.load(directory / WEIGHTS_FILE)
                labels = json.loads((directory / LABELS_FILE).read_text(encoding="utf-8"))
                return cls(
                    config, model_storage, resource, labels, arrays["weights"], arrays["bias"]
                )
        except (ValueError, FileNotFoundError):
            # Trained without examples: the blend leaves DIET's decisions as they are.
            return cls(config, model_storage, resource)

    def embedding_distribution(self, embedding: np.ndarray) -> np.ndarray:
        return softmax(embedding @ self.weights.T + self.bias)

    def process(self, messages: list[Message]) -> list[Message]:
        if self.weights is None:
            return messages
        share = float(self.config["embedding_weight"])
        for message in messages:
            embedding = sentence_embedding(message)
            if embedding is None:
                continue
            blended = share * self.embedding_distribution(embedding) + (
                1.0 - share
            ) * classifier_distribution(message, self.labels)
            self._write_back(message, blended)
        return messages

    def _write_back(self, message: Message, blended: np.ndarray) -> None:
        order = np.argsort(-blended)
        topics = [
            {"intent_response_key": self.labels[i], "confidence": float(blended[i])}
            for i in order
            if self.labels[i].startswith(f"{FAQ}/")
        ]
        intents: dict[str, float] = {}
        for i in order:  # best first: an FAQ counts with its best topic
            intents.setdefault(self.labels[i].split("/", 1)[0], float(blended[i]))
        ranking = [{"name": name, "confidence": value} for name, value in intents.items()]
        message.set(INTENT, ranking[0], add_to_output=True)
        message.set(
            INTENT_RANKING_KEY, ranking[: int(self.config["ranking_length"])], add_to_output=True
        )
        selector = message.get(RESPONSE_SELECTOR) or {}
        faq = selector.get(FAQ)
        if faq is None or not topics:
            return
        best = topics[0]
        faq["ranking"] = topics
        # Rasa's retrieval action reads only `utter_action`; the selector's own texts are of
        # its own choice, which may not be the blend's, so they are dropped.
        faq["response"] = {
            "responses": None,
            INTENT_RESPONSE_KEY: best["intent_response_key"],
            PREDICTED_CONFIDENCE_KEY: best["confidence"],
            "utter_action": f"utter_{best['intent_response_key']}",
        }
        message.set(RESPONSE_SELECTOR, selector, add_to_output=True)
