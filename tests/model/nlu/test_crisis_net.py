"""CrisisEmbeddingNet: a crisis-against-the-rest classifier on sentence embeddings that can only
add the crisis intent. Trained, persisted and loaded through Rasa's model storage on made-up
embeddings (no encoder needed)."""

from __future__ import annotations

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.crisis_net import CrisisEmbeddingNet
from tests.model.nlu.test_embedding_blend import DIM, embedded


def net(tmp_path, threshold=0.5) -> CrisisEmbeddingNet:
    examples = []
    for seed in range(8):
        crisis = embedded(f"crisis {seed}", 0, noise=0.1, seed=seed)
        crisis.set("intent", "crisis")
        other = embedded(f"other {seed}", 4, noise=0.1, seed=seed)
        other.set("intent", "greet")
        examples += [crisis, other]
    storage, resource = LocalModelStorage(tmp_path), Resource("crisis_net")
    context = ExecutionContext(GraphSchema({}), "test")
    config = {**CrisisEmbeddingNet.get_default_config(), "threshold": threshold}
    CrisisEmbeddingNet.create(config, storage, resource, context).train(TrainingData(examples))
    return CrisisEmbeddingNet.load(config, storage, resource, context)


def test_a_message_near_the_crisis_examples_becomes_crisis_whatever_was_chosen(tmp_path):
    message = embedded("i hung the rope on the door", 0)
    message.set("intent", {"name": "out_of_scope", "confidence": 0.9})
    [message] = net(tmp_path).process([message])
    assert message.get("intent") == {"name": "crisis", "confidence": 1.0}
    assert message.get("intent_ranking")[0]["name"] == "crisis"


def test_other_messages_keep_their_intent(tmp_path):
    message = embedded("hello there, how are you", 4)
    message.set("intent", {"name": "greet", "confidence": 0.9})
    [message] = net(tmp_path).process([message])
    assert message.get("intent") == {"name": "greet", "confidence": 0.9}


def test_the_threshold_decides(tmp_path):
    halfway = embedded("somewhere in between the two", 0)
    halfway.features[0].features = np.full((1, DIM), 0.0, dtype=np.float32)
    halfway.features[0].features[0, 0] = halfway.features[0].features[0, 4] = 0.7
    probability = net(tmp_path).probability(halfway.features[0].features.reshape(-1))
    (tmp_path / "strict").mkdir()
    strict = net(tmp_path / "strict", threshold=min(probability + 0.01, 1.0))
    halfway.set("intent", {"name": "greet", "confidence": 0.5})
    [halfway] = strict.process([halfway])
    assert halfway.get("intent")["name"] == "greet"


def test_without_sentence_features_nothing_changes(tmp_path):
    message = Message(data={TEXT: "x"})
    message.set("intent", {"name": "greet", "confidence": 0.9})
    [message] = net(tmp_path).process([message])
    assert message.get("intent")["name"] == "greet"


def test_a_short_message_is_left_to_the_patterns(tmp_path):
    # A name typed into the booking form can land anywhere in embedding space.
    name = embedded("Sam Okafor", 0)
    name.set("intent", {"name": "inform", "confidence": 0.6})
    [name] = net(tmp_path).process([name])
    assert name.get("intent")["name"] == "inform"
