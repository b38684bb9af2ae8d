"""The sentence encoder's cost: CPU per visitor message and training-set throughput.

    .venv/bin/python bench/bench_encoder.py [--threads 1] [--compare-numpy]

Per message: one short visitor message encoded alone, as Rasa does each turn (CPU time of
this process, so the number means the same on a busy machine). Throughput: every example text
of bot/data/nlu.yml, encoded in batches as the featurizer does during training.
--compare-numpy also runs the same network on numpy/OpenBLAS, the alternative that lost
(see docs/benchmarks.md, "Sentence encoder").
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.nlu.encoder_weights import build_encoder, encoder_is_built  # noqa: E402
from bot.nlu.sentence_encoder import ENCODER_DIR, SentenceEncoder  # noqa: E402
from bot.settings import PROJECT_ROOT  # noqa: E402

SHORT_MESSAGES = [
    "is ketamine addictive?",
    "can I drive home after a session",
    "how much does it cost",
    "is it safe while breastfeeding?",
    "what does a session feel like",
]


def training_texts() -> list[str]:
    data = yaml.safe_load((PROJECT_ROOT / "bot" / "data" / "nlu.yml").read_text())
    texts = []
    for block in data.get("nlu", []):
        for line in str(block.get("examples", "")).splitlines():
            line = line.strip()
            if line.startswith("- "):
                texts.append(line[2:])
    return texts


def per_message_ms(encode, repeats: int = 200) -> tuple[float, float]:
    """(median, p95) CPU ms to encode one short message alone."""
    for text in SHORT_MESSAGES:
        encode([text])  # warm-up (tf.function traces each new length once)
    samples = []
    for i in range(repeats):
        text = SHORT_MESSAGES[i % len(SHORT_MESSAGES)]
        start = time.process_time()
        encode([text])
        samples.append((time.process_time() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * len(samples)) - 1]


def throughput(encode, texts: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) for all TEXTS."""
    wall, cpu = time.perf_counter(), time.process_time()
    encode(texts)
    return time.perf_counter() - wall, time.process_time() - cpu


def numpy_encoder(encoder: SentenceEncoder):
    """The same network on numpy/OpenBLAS, one text at a time (the alternative measured).

    Column layout (features x tokens): W (out, in) @ x is ~30% faster than x @ W.T for a
    handful of tokens with OpenBLAS."""
    from safetensors.numpy import load_file
    from scipy.special import erf

    w = load_file(str(ENCODER_DIR / "model.safetensors"))
    col = lambda name: w[name][:, None]  # noqa: E731
    word = w["embeddings.word_embeddings.weight"]
    position = (
        w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
    )
    layers = []
    for i in range(6):
        p = f"encoder.layer.{i}."
        qkv = [p + f"attention.self.{n}." for n in ("query", "key", "value")]
        layers.append(
            {
                "qkv": (
                    np.concatenate([w[n + "weight"] for n in qkv]),
                    np.concatenate([w[n + "bias"] for n in qkv])[:, None],
                ),
                "out": (
                    w[p + "attention.output.dense.weight"],
                    col(p + "attention.output.dense.bias"),
                ),
                "norm1": (
                    col(p + "attention.output.LayerNorm.weight"),
                    col(p + "attention.output.LayerNorm.bias"),
                ),
                "inter": (w[p + "intermediate.dense.weight"], col(p + "intermediate.dense.bias")),
                "output": (w[p + "output.dense.weight"], col(p + "output.dense.bias")),
                "norm2": (col(p + "output.LayerNorm.weight"), col(p + "output.LayerNorm.bias")),
            }
        )

    def norm(x, gamma_beta):
        centred = x - x.mean(0, keepdims=True)
        variance = (centred * centred).mean(0, keepdims=True)
        return centred / np.sqrt(variance + np.float32(1e-12)) * gamma_beta[0] + gamma_beta[1]

    def forward(ids: list[int]) -> np.ndarray:
        n = len(ids)
        x = norm(
            (word[ids] + position[:n]).T,
            (col("embeddings.LayerNorm.weight"), col("embeddings.LayerNorm.bias")),
        )
        for layer in layers:
            qkv = (layer["qkv"][0] @ x + layer["qkv"][1]).reshape(3, 12, 32, n)
            scores = (qkv[0].transpose(0, 2, 1) @ qkv[1]) * np.float32(32**-0.5)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            probs = scores / scores.sum(-1, keepdims=True)
            context = (qkv[2] @ probs.transpose(0, 2, 1)).reshape(384, n)
            x = norm(x + layer["out"][0] @ context + layer["out"][1], layer["norm1"])
            h = layer["inter"][0] @ x + layer["inter"][1]
            h = 0.5 * h * (1 + erf(h * np.float32(0.5**0.5)))
            x = norm(x + layer["output"][0] @ h + layer["output"][1], layer["norm2"])
        pooled = x.mean(1)
        return pooled / np.linalg.norm(pooled)

    def encode(texts: list[str]) -> np.ndarray:
        return np.stack([forward(e.ids) for e in encoder.tokenizer.encode_batch(texts)])

    return encode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all)")
    parser.add_argument("--compare-numpy", action="store_true")
    args = parser.parse_args()
    if not encoder_is_built():
        build_encoder()
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    texts = training_texts()
    encoder = SentenceEncoder()
    threads = args.threads or os.cpu_count()
    for name, encode in [("tf.function", encoder.encode)] + (
        [("numpy", numpy_encoder(encoder))] if args.compare_numpy else []
    ):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=args.threads):
            if name == "numpy":
                drift = np.abs(encode(SHORT_MESSAGES) - encoder.embed(SHORT_MESSAGES)).max()
                name += f" (max difference {drift:.0e})"
            median, p95 = per_message_ms(encode)
            wall, cpu = throughput(encode, texts)
        print(
            f"{name}, {threads} threads: one short message {median:.1f} ms CPU median, "
            f"{p95:.1f} ms p95; {len(texts)} training texts in {wall:.1f} s wall, "
            f"{cpu:.1f} s CPU ({len(texts) / wall:.0f}/s)"
        )


if __name__ == "__main__":
    main()
