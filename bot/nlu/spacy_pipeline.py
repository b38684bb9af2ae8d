"""Builds the offline spaCy pipeline that config.yml names (no model download needed).

spacy.blank("en") gives the tokenizer; the lookup lemmatizer's tables come from the
`spacy-lookups-data` package, so lemmas ("addicted" -> "addict") reach the featurizers.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.settings import SPACY_MODEL_DIR


def build_spacy_pipeline(out_dir: Path = SPACY_MODEL_DIR) -> Path:
    import spacy  # heavy import, only when building

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    tmp_dir = out_dir.with_name(out_dir.name + ".tmp")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(tmp_dir, ignore_errors=True)
    nlp.to_disk(tmp_dir)
    # Swap in whole so an interrupted build never leaves a half-written pipeline behind.
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp_dir.rename(out_dir)
    return out_dir


def pipeline_is_built(out_dir: Path = SPACY_MODEL_DIR) -> bool:
    return (out_dir / "meta.json").exists() and (out_dir / "lemmatizer").is_dir()
