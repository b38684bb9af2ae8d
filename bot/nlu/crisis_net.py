"""Rasa component: a safety net for crisis messages that does not depend on their wording.

The crisis patterns (bot/nlu/crisis_patterns.py) catch what they were written for; real
people also write "I hung the rope on the door" or "I'm staring at my tools". This is a
crisis-against-everything-else logistic regression on the pretrained sentence embeddings,
trained on bot/data/nlu.yml, that forces the `crisis` intent once its probability reaches
`threshold`, whatever the other classifiers chose. A missed crisis is the worst mistake the bot
can make, so the threshold is low: on the dev split of tests/eval/real_questions.yml, with the
patterns switched off, it caught 12 of 16 crisis messages and raised 5 false alarms in 178
other questions (docs/benchmarks.md, "Understanding real wording").
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.components import CRISIS_INTENT, force_intent
from bot.nlu.embedding_blend import fit_on_embeddings, sentence_embedding

WEIGHTS_FILE = "crisis_net.npz"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class CrisisEmbeddingNet(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"threshold": 0.5, "C": 1.0, "max_iter": 3000, "min_words": 4}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        weights: np.ndarray | None = None,
        bias: float = 0.0,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.weights = weights
        self.bias = bias

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CrisisEmbeddingNet:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        model = fit_on_embeddings(
            training_data, lambda e: e.get(INTENT) == CRISIS_INTENT, self.config
        )
        if model is None:
            return self._resource
        self.weights = model.coef_[0].astype(np.float32)
        self.bias = float(model.intercept_[0])
        with self._model_storage.write_to(self._resource) as directory:
            np.savez(directory / WEIGHTS_FILE, weights=self.weights)
            (directory / "bias.json").write_text(json.dumps(self.bias), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CrisisEmbeddingNet:
        try:
            with model_storage.read_from(resource) as directory:
                weights = np.load(directory / WEIGHTS_FILE)["weights"]
                bias = json.loads((directory / "bias.json").read_text(encoding="utf-8"))
                return cls(config, model_storage, resource, weights, float(bias))
        except (ValueError, FileNotFoundError):
            return cls(config, model_storage, resource)

    def probability(self, embedding: np.ndarray) -> float:
        return float(1.0 / (1.0 + np.exp(-(embedding @ self.weights + self.bias))))

    def process(self, messages: list[Message]) -> list[Message]:
        if self.weights is None:
            return messages
        for message in messages:
            # A name or a phone number typed into a form is text the embeddings cannot judge
            # ("Sam Okafor" scored as a crisis); short crisis messages are the patterns' job.
            if len((message.get(TEXT) or "").split()) < int(self.config["min_words"]):
                continue
            embedding = sentence_embedding(message)
            if embedding is not None and self.probability(embedding) >= self.config["threshold"]:
                force_intent(message, CRISIS_INTENT)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
