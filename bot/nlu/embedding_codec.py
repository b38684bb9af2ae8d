"""The sentence embedding the NLU computes for a visitor's message, kept in the message's parse
data (and so in the tracker store's events) in a compact form: the gap report groups visitors'
questions by meaning with it, without loading the encoder again (bot/conversations/gaps.py).

384 float16 values, little-endian, base64: 1,024 characters per message. Half precision is
ample for cosine similarities between unit vectors."""

from __future__ import annotations

import base64
import binascii

import numpy as np

PARSE_DATA_KEY = "sentence_embedding"
DIMENSIONS = 384
_DTYPE = np.dtype("<f2")


def encode_embedding(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, dtype=_DTYPE).tobytes()).decode("ascii")


def decode_embedding(text: object) -> np.ndarray | None:
    """The unit-length float32 vector, or None for a missing or malformed value."""
    if not isinstance(text, str):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != DIMENSIONS * _DTYPE.itemsize:
        return None
    vector = np.frombuffer(raw, dtype=_DTYPE).astype(np.float32)
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0.0:
        return None
    return vector / norm
