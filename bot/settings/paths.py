"""Where the project is: relative paths in the settings are taken from its root."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# config.yml names this path (relative to the project root, where Rasa always runs).
SPACY_MODEL_DIR = PROJECT_ROOT / "var" / "spacy" / "en_kap_lookup"
