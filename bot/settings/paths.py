"""Where the project is: relative paths in the settings are taken from its root."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# config.yml names this path (relative to the project root, where Rasa always runs).
SPACY_MODEL_DIR = PROJECT_ROOT / "var" / "spacy" / "en_kap_lookup"


def rasa_project_args(root: Path | None = None) -> list[str]:
    """Rasa's --config, --domain and --data arguments for the project at `root`; without one,
    relative to the working directory, as Rasa runs in the project root."""
    base = Path(".") if root is None else root
    return [
        "--config",
        str(base / "config.yml"),
        "--domain",
        str(base / "domain.yml"),
        "--data",
        str(base / "bot" / "data"),
    ]


def shown_path(path: Path) -> str:
    """`path` as a message names it: relative to the project when in it (var/log/train.log)."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
