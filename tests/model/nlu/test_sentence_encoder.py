"""The sentence encoder (all-MiniLM-L6-v2 on TensorFlow), its weights' extraction and check,
and the Rasa featurizer built on it. Real weights from the installed package, no mocks."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import spacy
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.encoder_weights import (
    FILES,
    WEIGHTS_FILE,
    EncoderWeightsError,
    build_encoder,
    encoder_is_built,
    packaged_zip,
)
from bot.nlu.sentence_encoder import ENCODER_DIR, load_encoder
from bot.nlu.sentence_featurizer import SentenceEncoderFeaturizer
from bot.nlu.spacy_pipeline import build_spacy_pipeline, pipeline_is_built
from bot.settings import SPACY_MODEL_DIR


@pytest.fixture(scope="module")
def encoder():
    if not encoder_is_built():
        build_encoder()
    return load_encoder(ENCODER_DIR)


def test_encoder_matches_the_model_card(encoder):
    # sentence-transformers/all-MiniLM-L6-v2's model card gives 0.943 for this pair.
    happy, very_happy = encoder.embed(["That is a happy person", "That is a very happy person"])
    assert float(happy @ very_happy) == pytest.approx(0.943, abs=0.002)


def test_embeddings_are_unit_length_and_independent_of_the_batch(encoder):
    texts = ["is ketamine addictive?", "can I drive home afterwards", "hi"]
    together = encoder.embed(texts)
    alone = np.stack([encoder.embed([text])[0] for text in texts])
    assert together.shape == (3, 384)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    # Padding in a batch must not change a text's embedding (masked attention and pooling).
    assert np.allclose(together, alone, atol=1e-5)


def test_long_input_is_truncated(encoder):
    [encoded] = encoder.encode(["word " * 1000])
    assert encoded.hidden.shape == (128, 384)


def _spacy_message(text: str) -> Message:
    if not pipeline_is_built():
        build_spacy_pipeline()
    message = Message(data={TEXT: text})
    message.set(SPACY_DOCS[TEXT], spacy.load(SPACY_MODEL_DIR)(text))
    SpacyTokenizer(SpacyTokenizer.get_default_config()).process([message])
    return message


def test_featurizer_adds_sentence_and_token_aligned_sequence_features(encoder):
    message = _spacy_message("Can you take ketamine on SSRIs?")
    featurizer = SentenceEncoderFeaturizer(SentenceEncoderFeaturizer.get_default_config(), "enc")
    featurizer.process([message])

    features = {f.type: f for f in message.features if f.origin == "enc"}
    assert set(features) == {FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE}
    assert all(f.attribute == TEXT and not f.is_sparse() for f in features.values())
    sentence = features[FEATURE_TYPE_SENTENCE].features
    sequence = features[FEATURE_TYPE_SEQUENCE].features
    tokens = message.get("text_tokens")
    assert [t.text for t in tokens] == ["Can", "you", "take", "ketamine", "on", "SSRIs", "?"]
    assert sentence.shape == (1, 384)
    assert np.allclose(sentence[0], encoder.embed([message.get(TEXT)])[0], atol=1e-5)
    assert sequence.shape == (len(tokens), 384)
    assert np.all(np.abs(sequence).sum(axis=1) > 0)  # every token got its wordpieces' states


def test_featurizer_gives_training_examples_the_same_features_as_at_run_time(encoder):
    featurizer = SentenceEncoderFeaturizer(SentenceEncoderFeaturizer.get_default_config(), "enc")
    texts = ["what does it cost", "Is it safe while breastfeeding?", "hi"]
    training = TrainingData([_spacy_message(text) for text in texts])
    featurizer.process_training_data(training)
    for example in training.training_examples:
        live = _spacy_message(example.get(TEXT))
        featurizer.process([live])
        for trained, served in zip(example.features, live.features, strict=True):
            assert np.allclose(trained.features, served.features, atol=1e-5)


def _zip_with(path, weights: bytes):
    """A model.zip like the package's, with WEIGHTS in place of the real safetensors."""
    with zipfile.ZipFile(packaged_zip()) as real, zipfile.ZipFile(path, "w") as fake:
        for name in FILES:
            fake.writestr(name, weights if name == WEIGHTS_FILE else real.read(name))
    return path


def test_build_refuses_weights_whose_hash_is_wrong(tmp_path):
    tampered = _zip_with(tmp_path / "model.zip", b"not the published weights")
    out = tmp_path / "encoder"
    with pytest.raises(EncoderWeightsError, match="sha256 .* expected 53aa5117.*refusing"):
        build_encoder(tampered, out)
    assert not out.exists() and not (tmp_path / "encoder.tmp").exists()
    assert not encoder_is_built(out)


def test_build_extracts_the_checked_weights(tmp_path):
    out = build_encoder(out_dir=tmp_path / "encoder")
    assert encoder_is_built(out)
    assert sorted(p.name for p in out.iterdir()) == sorted([*FILES, "model.safetensors.sha256"])
