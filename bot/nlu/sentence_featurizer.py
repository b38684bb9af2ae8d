"""Rasa component: dense features from the pretrained sentence encoder all-MiniLM-L6-v2.

Sentence features: the encoder's sentence embedding (mean-pooled, unit length, 384-d), the
vector the model was trained to make similar for texts that mean the same.
Sequence features: one 384-d row per token of the pipeline's tokenizer (SpacyTokenizer here),
the mean of the last hidden states of the wordpieces that overlap the token's characters, so
they line up with the sparse featurizers' rows as DIETClassifier and ResponseSelector expect.

The encoder (bot/nlu/sentence_encoder.py) is loaded once per process, on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.embedding_codec import PARSE_DATA_KEY, encode_embedding
from bot.nlu.sentence_encoder import ENCODER_DIR, MAX_TOKENS, Encoded, SentenceEncoder
from bot.settings import PROJECT_ROOT

DEFAULT_MODEL_PATH = ENCODER_DIR.relative_to(PROJECT_ROOT).as_posix()


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def required_packages() -> list[str]:
        return ["tokenizers", "safetensors", "tensorflow"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # The extracted weights (`kapbot build-encoder`); relative paths are from the project.
            "model_path": DEFAULT_MODEL_PATH,
            # Longer messages are cut to this many wordpieces: the cost per message is bounded.
            "max_tokens": MAX_TOKENS,
            "batch_size": 64,  # training examples per encoder call
        }

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        path = Path(self._config["model_path"])
        self.model_dir = path if path.is_absolute() else PROJECT_ROOT / path

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEncoderFeaturizer:
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        for key in ("max_tokens", "batch_size"):
            if not isinstance(config.get(key), int) or config[key] < 1:
                raise InvalidConfigException(f"{cls.__name__}: {key} must be a positive integer")

    def _encoder(self) -> SentenceEncoder:
        from bot.nlu.encoder_weights import build_encoder, encoder_is_built
        from bot.nlu.sentence_encoder import load_encoder

        if not encoder_is_built(self.model_dir):
            if self.model_dir.resolve() != ENCODER_DIR.resolve():
                raise InvalidConfigException(
                    f"{self.__class__.__name__}: no checked encoder weights in {self.model_dir}"
                )
            # The default place is filled from the installed package (what `make` does first).
            build_encoder(out_dir=ENCODER_DIR)
        return load_encoder(self.model_dir, self._config["max_tokens"])

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        # Only the visitor's text: the labels (intents, response keys) keep their sparse
        # features, and responses are not used as labels (use_text_as_label is off).
        self._featurize([m for m in training_data.training_examples if m.get(TEXT)])
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self._featurize([m for m in messages if m.get(TEXT)], keep_embedding=True)
        return messages

    def _featurize(self, messages: list[Message], keep_embedding: bool = False) -> None:
        """`keep_embedding`: also put the sentence embedding in the parse data, where the gap
        report reads it from the tracker store (bot/nlu/embedding_codec.py)."""
        if not messages:
            return
        encoded = self._encoder().encode(
            [m.get(TEXT) for m in messages], batch_size=self._config["batch_size"]
        )
        for message, result in zip(messages, encoded, strict=True):
            tokens = message.get(TOKENS_NAMES[TEXT]) or []
            self.add_features_to_message(
                sequence=token_features(tokens, result) if tokens else None,
                sentence=result.embedding[None, :],
                attribute=TEXT,
                message=message,
            )
            if keep_embedding:
                message.set(PARSE_DATA_KEY, encode_embedding(result.embedding), add_to_output=True)


def token_features(tokens: list[Token], encoded: Encoded) -> np.ndarray:
    """(len(tokens), dim): per token, the mean hidden state of the wordpieces overlapping it.

    A token no wordpiece overlaps (cut off by max_tokens, or only characters BERT's normaliser
    drops) gets a zero row, which Rasa reads as "no feature"."""
    pieces = [i for i, special in enumerate(encoded.special) if not special]
    overlap = np.zeros((len(tokens), len(encoded.special)), dtype=np.float32)
    for row, token in enumerate(tokens):
        for i in pieces:
            start, end = encoded.offsets[i]
            if start < token.end and end > token.start:
                overlap[row, i] = 1.0
    counts = overlap.sum(axis=1, keepdims=True)
    return (overlap / np.maximum(counts, 1.0)) @ encoded.hidden
