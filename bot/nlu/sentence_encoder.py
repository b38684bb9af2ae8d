"""The pretrained sentence encoder all-MiniLM-L6-v2 as a TensorFlow function (no torch).

A 6-layer BERT (hidden 384, 12 heads) computed exactly as Hugging Face's BertModel does:
wordpiece ids from tokenizer.json, token + position + segment embeddings, post-norm layers
with exact (erf) GELU and layer norm eps 1e-12, padded keys masked out. The sentence embedding
is the mean of the last hidden states over the real tokens, L2-normalised, as the model was
trained (sentence-transformers: Transformer -> mean Pooling -> Normalize).

TensorFlow 2.12 (already loaded by Rasa) was chosen over numpy by measurement: for one short
message it costs about half the CPU (docs/benchmarks.md, "Sentence encoder"). The weights are
extracted and checked by `kapbot build-encoder` (bot/nlu/encoder_weights.py).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.settings import PROJECT_ROOT

ENCODER_DIR = PROJECT_ROOT / "var" / "encoder" / "all-minilm-l6-v2"
# Visitors' messages are a sentence or two; truncating bounds the cost of a pasted essay.
# (The tokenizer.json shipped with the model says 128; sentence-transformers allows 256.)
MAX_TOKENS = 128
EMBEDDING_DIM = 384


@dataclass(frozen=True)
class Encoded:
    """One text: wordpiece hidden states, their character spans, and the sentence embedding."""

    hidden: np.ndarray  # (n_wordpieces, 384) last-layer states, [CLS] and [SEP] included
    offsets: list[tuple[int, int]]  # character span of each wordpiece in the text
    special: list[bool]  # True for [CLS] / [SEP]
    embedding: np.ndarray  # (384,) mean-pooled over the real tokens, unit length


class SentenceEncoder:
    def __init__(self, model_dir: Path = ENCODER_DIR, max_tokens: int = MAX_TOKENS) -> None:
        import tensorflow as tf
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "config.json").read_text())
        self.max_tokens = min(max_tokens, int(config["max_position_embeddings"]))
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # tokenizer.json pads every input to 128 tokens; padding is done per batch here instead.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        weights = {
            name.removeprefix("bert."): tensor
            for name, tensor in load_file(str(model_dir / "model.safetensors")).items()
            if tensor.dtype == np.float32  # not the int64 position_ids buffer
        }
        self.dim = weights["embeddings.word_embeddings.weight"].shape[1]
        self._forward = _bert_function(
            tf,
            weights,
            heads=int(config["num_attention_heads"]),
            layers=int(config["num_hidden_layers"]),
            eps=float(config["layer_norm_eps"]),
        )

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) unit-length sentence embeddings."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([encoded.embedding for encoded in self.encode(texts)])

    def encode(self, texts: list[str], batch_size: int = 64) -> list[Encoded]:
        encodings = self.tokenizer.encode_batch(list(texts))
        # Similar lengths in one batch: little padding to compute for nothing.
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        results: list[Encoded | None] = [None] * len(encodings)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            length = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), length), dtype=np.int32)
            mask = np.zeros((len(batch), length), dtype=np.float32)
            for row, i in enumerate(batch):
                ids[row, : len(encodings[i].ids)] = encodings[i].ids
                mask[row, : len(encodings[i].ids)] = 1.0
            hidden, embeddings = (tensor.numpy() for tensor in self._forward(ids, mask))
            for row, i in enumerate(batch):
                results[i] = Encoded(
                    hidden=hidden[row, : len(encodings[i].ids)],
                    offsets=list(encodings[i].offsets),
                    special=[bool(s) for s in encodings[i].special_tokens_mask],
                    embedding=embeddings[row],
                )
        return results  # type: ignore[return-value]


def _weight_constants(tf, w: dict[str, np.ndarray], layers: int) -> tuple:
    """The weights as TensorFlow constants: word embeddings, position + segment embeddings,
    the embedding layer norm, and one dict per encoder layer."""

    def dense(name: str) -> tuple:
        # torch stores Linear weights as (out, in); x @ W.T is wanted.
        weight = np.ascontiguousarray(w[f"{name}.weight"].T)
        return tf.constant(weight), tf.constant(w[f"{name}.bias"])

    def norm_weights(name: str) -> tuple:
        return tf.constant(w[f"{name}.weight"]), tf.constant(w[f"{name}.bias"])

    word_embeddings = tf.constant(w["embeddings.word_embeddings.weight"])
    # Every input is one segment, so the segment embedding is a constant row.
    position_plus_segment = tf.constant(
        w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
    )
    embedding_norm = norm_weights("embeddings.LayerNorm")
    stack = []
    for i in range(layers):
        prefix = f"encoder.layer.{i}"
        q, k, v = (
            (w[f"{prefix}.attention.self.{n}.weight"].T, w[f"{prefix}.attention.self.{n}.bias"])
            for n in ("query", "key", "value")
        )
        stack.append(
            {
                # query, key and value in one matrix multiplication: (hidden, 3 * hidden)
                "qkv": (
                    tf.constant(np.concatenate([q[0], k[0], v[0]], axis=1)),
                    tf.constant(np.concatenate([q[1], k[1], v[1]])),
                ),
                "attention_out": dense(f"{prefix}.attention.output.dense"),
                "attention_norm": norm_weights(f"{prefix}.attention.output.LayerNorm"),
                "intermediate": dense(f"{prefix}.intermediate.dense"),
                "output": dense(f"{prefix}.output.dense"),
                "output_norm": norm_weights(f"{prefix}.output.LayerNorm"),
            }
        )
    return word_embeddings, position_plus_segment, embedding_norm, stack


def _bert_function(tf, w: dict[str, np.ndarray], heads: int, layers: int, eps: float):
    """BertModel + mean pooling + L2 norm as one tf.function of (ids, mask)."""
    word_embeddings, position_plus_segment, embedding_norm, stack = _weight_constants(tf, w, layers)
    hidden = word_embeddings.shape[1]
    head_dim = hidden // heads

    def layer_norm(x, gamma_beta):
        mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
        return (x - mean) * tf.math.rsqrt(variance + eps) * gamma_beta[0] + gamma_beta[1]

    def linear(x, weight_bias):
        return tf.matmul(x, weight_bias[0]) + weight_bias[1]

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([None, None], tf.float32),
        ]
    )
    def forward(ids, mask):
        batch, length = tf.shape(ids)[0], tf.shape(ids)[1]
        x = tf.gather(word_embeddings, ids) + position_plus_segment[:length]
        x = layer_norm(x, embedding_norm)
        # Padded keys get a huge negative score, so no real token attends to padding.
        key_bias = (1.0 - mask)[:, None, None, :] * -1e9
        for layer in stack:
            qkv = tf.reshape(linear(x, layer["qkv"]), [batch, length, 3, heads, head_dim])
            q, k, v = tf.unstack(tf.transpose(qkv, [2, 0, 3, 1, 4]))  # (batch, heads, len, d)
            scores = tf.matmul(q, k, transpose_b=True) * (1.0 / head_dim**0.5) + key_bias
            context = tf.matmul(tf.nn.softmax(scores, axis=-1), v)
            context = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batch, length, hidden])
            x = layer_norm(x + linear(context, layer["attention_out"]), layer["attention_norm"])
            h = tf.nn.gelu(linear(x, layer["intermediate"]), approximate=False)  # erf, as BERT
            x = layer_norm(x + linear(h, layer["output"]), layer["output_norm"])
        pooled = tf.reduce_sum(x * mask[:, :, None], axis=1) / tf.reduce_sum(
            mask, axis=1, keepdims=True
        )
        return x, tf.math.l2_normalize(pooled, axis=1, epsilon=1e-24)

    return forward


_loaded: dict[tuple[Path, int], SentenceEncoder] = {}
_load_lock = threading.Lock()


def load_encoder(model_dir: Path = ENCODER_DIR, max_tokens: int = MAX_TOKENS) -> SentenceEncoder:
    """The encoder for MODEL_DIR, loaded once per process (the weights are ~90 MB)."""
    key = (model_dir.resolve(), max_tokens)
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = SentenceEncoder(model_dir, max_tokens)
        return _loaded[key]
