"""Changing which trained model is live: publishing a candidate, rolling back; and the
candidates waiting. bot/models/store.py reads what is live.

State is a small JSON file in the model directory (`registry.json`), written atomically and
changed under a file lock, so the web app and the CLI can publish and roll back side by side.
Publishing tells every Rasa server (Settings.rasa_api_urls) to load the model through Rasa's
HTTP API first, and records it as live only when all of them did: the record never names a
model that no server runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

from bot.files.atomic import write_atomically
from bot.files.file_lock import exclusive_lock
from bot.models import rasa_api
from bot.models.store import (
    NoModelError,
    RegistryError,
    latest_model,
    live_history,
    read_state,
    state_path,
)
from bot.settings import Settings, get_settings

CANDIDATES_DIR = "candidates"
# How many earlier live models the registry remembers for rollbacks.
HISTORY_LIMIT = 20


class PublishRefused(RegistryError):
    """The candidate is worse than the live model; `reasons` say how."""

    def __init__(self, model: Path, reasons: list[str]) -> None:
        super().__init__(f"{model.name} was not published: it is worse than the live model")
        self.model = model
        self.reasons = reasons


class AwaitingSignoff(PublishRefused):
    """The candidate would show visitors answers no clinician approved; `reasons` name them."""

    def __init__(self, model: Path, unapproved: list) -> None:
        RegistryError.__init__(
            self,
            f"{model.name} was not published: {len(unapproved)} of its answers await a "
            "clinician's sign-off",
        )
        self.model = model
        self.reasons = [str(answer) for answer in unapproved]


class ServerError(RegistryError):
    """A Rasa server could not load the model; the live model is unchanged."""


@dataclass(frozen=True)
class Change:
    """What a publish or a rollback did."""

    live: Path
    replaced: Path | None
    servers: list[str]


def candidates_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).model_dir / CANDIDATES_DIR


def candidates(settings: Settings | None = None) -> list[Path]:
    """Trained candidate models, newest first."""
    folder = candidates_dir(settings)
    found = folder.glob("*.tar.gz") if folder.is_dir() else []
    return sorted(found, key=lambda path: path.stat().st_mtime, reverse=True)


def _write_state(settings: Settings, state: dict) -> None:
    write_atomically(state_path(settings), json.dumps(state, indent=2) + "\n")


def _locked(settings: Settings):
    return exclusive_lock(settings.model_dir / ".registry.lock")


def _stored(settings: Settings, model: Path) -> str:
    """Paths inside the model directory are kept relative to it, so the folder can move."""
    model = Path(model).resolve()
    try:
        return str(model.relative_to(settings.model_dir.resolve()))
    except ValueError:
        return str(model)


def check_model_file(model: Path) -> Path:
    """`model` as an absolute path, if it looks like a trained Rasa model; else RegistryError."""
    model = Path(model)
    if not model.is_file():
        raise RegistryError(f"no model file {model}")
    try:
        with tarfile.open(model, "r:gz") as archive:
            archive.next()
    except (tarfile.TarError, OSError, EOFError):
        raise RegistryError(f"{model} is not a trained model (not a readable .tar.gz)") from None
    return model.resolve()


def _load_everywhere(settings: Settings, model: Path, fallback: Path | None) -> list[str]:
    """Makes every Rasa server load `model`. If one fails, those that had switched go back to
    `fallback`, so all servers keep answering with the same model."""
    token = rasa_api.api_token(settings)
    switched: list[str] = []
    for url in settings.rasa_api_urls:
        try:
            rasa_api.load_model(url, token, model)
        except rasa_api.RasaApiError as error:
            undone = []
            for done in switched:
                with contextlib.suppress(rasa_api.RasaApiError):
                    if fallback is not None:
                        rasa_api.load_model(done, token, fallback)
                        undone.append(done)
            note = f" ({', '.join(undone)} went back to {fallback.name})" if undone else ""
            raise ServerError(f"{error}; the live model is unchanged{note}") from None
        switched.append(url)
    return switched


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _audit(settings: Settings, actor: str, action: str, target: str, detail: str) -> None:
    from bot.db.session import session_scope
    from bot.desk import audit

    with session_scope(settings.database_url) as session:
        audit.record(session, actor, action, target=target, detail=detail)


def publish(
    model_path: Path,
    actor: str,
    *,
    override_reason: str | None = None,
    comparison=None,
    questions_path: Path | None = None,
    settings: Settings | None = None,
) -> Change:
    """Makes `model_path` the live model on every Rasa server, if every answer in it is its
    topic's last clinician-approved text (bot/models/answer_signoff.py) and it is no worse than
    the live model on the evaluation set (bot/models/comparison.py). `override_reason` publishes
    anyway (admins only: the caller checks the role); it goes to the audit log.

    `comparison` is the live-vs-candidate comparison if the caller has one; otherwise a stored
    one is used, or the two models are compared now (about a minute).
    """
    from bot.models.answer_signoff import unapproved_answers
    from bot.models.comparison import DEFAULT_QUESTIONS, comparison_for

    settings = settings or get_settings()
    model = check_model_file(model_path)
    unapproved = unapproved_answers(model, settings.content_root / "content")
    if unapproved and not override_reason:
        raise AwaitingSignoff(model, unapproved)
    with _locked(settings):
        state = read_state(settings)
        history = live_history(settings, state)
        current = history[-1] if history else _fallback_live(settings)
        if current is not None and current.resolve() == model:
            raise RegistryError(f"{model.name} is already the live model")
        if current is not None:
            if comparison is None or not comparison.compares(current, model):
                comparison = comparison_for(
                    current, model, questions_path or DEFAULT_QUESTIONS, settings=settings
                )
            if not comparison.verdict.no_worse and not override_reason:
                raise PublishRefused(model, comparison.verdict.reasons)
        servers = _load_everywhere(settings, model, current)
        if not history and current is not None:
            # The first publish: remember what was served until now, so it can be rolled back to.
            first = {"model": _stored(settings, current), "at": _now(), "actor": ""}
            state["history"].append({**first, "action": "initial"})
        worse = comparison is not None and not comparison.verdict.no_worse
        overridden = worse or bool(unapproved)
        action = "model_published_override" if overridden else "model_published"
        state["history"].append(
            {"model": _stored(settings, model), "at": _now(), "actor": actor, "action": action}
        )
        state["history"] = state["history"][-HISTORY_LIMIT:]
        _write_state(settings, state)
    detail = f"replaced {current.name if current else 'nothing'}"
    if overridden:
        detail += f"; published anyway: {override_reason}"
    if worse:
        detail += "; worse than the live model: " + " ".join(comparison.verdict.reasons)
    if unapproved:
        detail += "; answers awaiting sign-off: " + ", ".join(a.topic_id for a in unapproved)
    _audit(settings, actor, action, model.name, detail)
    return Change(model, current, servers)


def _fallback_live(settings: Settings) -> Path | None:
    try:
        return latest_model(settings.model_dir).resolve()
    except NoModelError:
        return None


def rollback(actor: str, *, settings: Settings | None = None) -> Change:
    """Brings back the model that was live before the current one, on every Rasa server."""
    settings = settings or get_settings()
    with _locked(settings):
        state = read_state(settings)
        history = live_history(settings, state)
        if len(history) < 2:
            raise RegistryError("there is no earlier live model to roll back to")
        current, previous = history[-1], history[-2]
        check_model_file(previous)
        servers = _load_everywhere(settings, previous, current)
        state["history"].pop()
        _write_state(settings, state)
    _audit(settings, actor, "model_rolled_back", previous.name, f"replaced {current.name}")
    return Change(previous, current, servers)
