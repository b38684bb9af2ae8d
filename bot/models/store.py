"""The trained models on disk and which one is live, read-only.

Which model is live is recorded in a small JSON file in the model directory (`registry.json`);
bot/models/registry.py changes it (publish, rollback). Until a first publish, the newest model
in the directory is live.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot.settings import Settings, get_settings

STATE_FILE = "registry.json"


class NoModelError(RuntimeError):
    """No trained model exists yet."""


class RegistryError(RuntimeError):
    """The request cannot be done as asked (no such model, nothing to roll back to)."""


def latest_model(model_dir: Path | None = None) -> Path:
    model_dir = model_dir or get_settings().model_dir
    models = sorted(model_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise NoModelError(f"No trained model in {model_dir}. Train one first: make model")
    return models[-1]


def state_path(settings: Settings) -> Path:
    return settings.model_dir / STATE_FILE


def read_state(settings: Settings) -> dict:
    path = state_path(settings)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"history": []}
    except ValueError:
        raise RegistryError(
            f"{path} is not valid JSON; restore it or delete it (the newest model in "
            f"{settings.model_dir} is then live)"
        ) from None
    state.setdefault("history", [])
    return state


def _resolved(settings: Settings, stored: str) -> Path:
    return settings.model_dir / stored if not Path(stored).is_absolute() else Path(stored)


def live_history(settings: Settings, state: dict) -> list[Path]:
    """The models `state` records as live, oldest first; the last one is live now."""
    return [_resolved(settings, entry["model"]) for entry in state["history"]]


def live_model(settings: Settings | None = None) -> Path:
    """The published model; the newest model in the model directory if none was ever published
    (so a fresh `make model && make run` serves what it just trained)."""
    settings = settings or get_settings()
    history = live_history(settings, read_state(settings))
    if not history:
        return latest_model(settings.model_dir)
    live = history[-1]
    if not live.is_file():
        raise NoModelError(
            f"the live model {live} is missing; publish another one (kapbot publish MODEL)"
        )
    return live


def previous_model(settings: Settings | None = None) -> Path | None:
    """The model a rollback would bring back, or None."""
    settings = settings or get_settings()
    history = live_history(settings, read_state(settings))
    return history[-2] if len(history) >= 2 else None


def history(settings: Settings | None = None) -> list[dict]:
    """Every recorded live model, oldest first: {"model", "at", "actor", "action"}."""
    settings = settings or get_settings()
    entries = read_state(settings)["history"]
    return [{**entry, "model": str(_resolved(settings, entry["model"]))} for entry in entries]
