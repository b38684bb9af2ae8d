"""EmbeddingBlendClassifier: one flat distribution from DIET and the ResponseSelector, a logistic
regression on sentence embeddings next to it, and the blend written back where the fallbacks and
Rasa's retrieval action read it. Trained, persisted and loaded through Rasa's own model storage,
on embeddings made up for the test (no encoder needed)."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.embedding_blend import EmbeddingBlendClassifier, classifier_distribution

DIM = 8
# Three well-separated directions stand for three meanings.
CENTRES = {"greet": 0, "faq/bladder": 3, "faq/cost": 6}


def embedded(text: str, direction: int, noise: float = 0.0, seed: int = 0) -> Message:
    vector = np.zeros(DIM, dtype=np.float32)
    vector[direction] = 1.0
    vector += noise * np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    message = Message(data={TEXT: text})
    message.add_features(Features(vector.reshape(1, -1), "sentence", TEXT, "encoder"))
    return message


def training_data() -> TrainingData:
    examples = []
    for label, direction in CENTRES.items():
        for seed in range(6):
            message = embedded(f"{label} {seed}", direction, noise=0.1, seed=seed)
            if label.startswith("faq/"):
                message.set("intent", "faq")
                message.set("intent_response_key", label)
            else:
                message.set("intent", label)
            examples.append(message)
    return TrainingData(examples)


@pytest.fixture
def storage(tmp_path):
    return LocalModelStorage(tmp_path)


def trained(storage, **config) -> EmbeddingBlendClassifier:
    resource = Resource("blend")
    context = ExecutionContext(GraphSchema({}), "test")
    component = EmbeddingBlendClassifier.create(
        {**EmbeddingBlendClassifier.get_default_config(), **config}, storage, resource, context
    )
    component.train(training_data())
    return EmbeddingBlendClassifier.load(component.config, storage, resource, context)


def with_classifier_output(message: Message, intents: dict, topics: dict) -> Message:
    message.set("intent_ranking", [{"name": n, "confidence": c} for n, c in intents.items()])
    message.set(
        "response_selector",
        {
            "faq": {
                "response": {"intent_response_key": "faq/cost", "confidence": 0.9},
                "ranking": [{"intent_response_key": k, "confidence": c} for k, c in topics.items()],
            }
        },
    )
    return message


def test_diet_and_the_response_selector_become_one_distribution():
    message = with_classifier_output(
        Message(data={TEXT: "x"}), {"faq": 0.6, "greet": 0.4}, {"faq/bladder": 0.5, "faq/cost": 0.5}
    )
    flat = classifier_distribution(message, ["faq/bladder", "faq/cost", "greet"])
    assert flat == pytest.approx([0.3, 0.3, 0.4])


def test_trained_blend_survives_persisting_and_loading(storage):
    blend = trained(storage)
    assert sorted(blend.labels) == sorted(CENTRES)
    probabilities = blend.embedding_distribution(np.eye(DIM, dtype=np.float32)[3])
    assert blend.labels[int(np.argmax(probabilities))] == "faq/bladder"


def test_blend_writes_its_choice_where_the_fallbacks_and_the_retrieval_action_read(storage):
    blend = trained(storage, embedding_weight=0.5)
    # DIET is sure of `cost`; the embedding points clearly at `bladder`.
    message = with_classifier_output(
        embedded("is my bladder at risk", CENTRES["faq/bladder"]),
        {"faq": 1.0, "greet": 0.0},
        {"faq/cost": 0.7, "faq/bladder": 0.3},
    )
    [message] = blend.process([message])
    intent, ranking = message.get("intent"), message.get("intent_ranking")
    faq = message.get("response_selector")["faq"]
    assert intent["name"] == "faq" and ranking[0] == intent
    assert faq["response"]["intent_response_key"] == "faq/bladder"
    assert faq["response"]["utter_action"] == "utter_faq/bladder"
    # One scale: the intent's confidence is the chosen topic's blended probability.
    assert intent["confidence"] == pytest.approx(faq["ranking"][0]["confidence"])
    assert 0.5 < intent["confidence"] < 1.0


def test_only_the_embedding_counts_at_full_weight(storage):
    blend = trained(storage, embedding_weight=1.0)
    message = with_classifier_output(
        embedded("hello", CENTRES["greet"]), {"faq": 1.0}, {"faq/cost": 1.0}
    )
    [message] = blend.process([message])
    assert message.get("intent")["name"] == "greet"


def test_a_message_without_sentence_features_is_left_as_the_classifiers_had_it(storage):
    blend = trained(storage)
    message = with_classifier_output(Message(data={TEXT: "x"}), {"faq": 0.9}, {"faq/cost": 1.0})
    message.set("intent", {"name": "faq", "confidence": 0.9})
    [message] = blend.process([message])
    assert message.get("intent") == {"name": "faq", "confidence": 0.9}
    assert message.get("response_selector")["faq"]["response"]["intent_response_key"] == "faq/cost"
