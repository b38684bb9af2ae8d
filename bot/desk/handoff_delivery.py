"""Storing a handoff and telling staff, from whichever process creates it: the action server
(handoffs with contact details) or the Rasa server (urgent crisis handoffs, see
bot/stores/tracker_store.py).

A handoff is never lost to an unreachable database: after a few attempts it is kept in a pending
file, and stored from there (`replay_pending`) once the database answers again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.db.models import Handoff
from bot.desk.handoff_drafts import HandoffDraft, store_draft
from bot.desk.handoff_flood import Filed, FloodLimit, file_draft
from bot.desk.handoffs import get_handoff
from bot.desk.references import new_handoff_reference
from bot.files.file_lock import exclusive_lock
from bot.settings import get_settings

log = logging.getLogger(__name__)

# Work that no visitor should wait for (crisis handoffs, replays) runs in a pool started on first
# use: importing this module (the CLI, the web app) must not start threads.
_background: ThreadPoolExecutor | None = None
_background_lock = threading.Lock()
_background_work: list[Future] = []
_recording = True


def set_recording(enabled: bool) -> None:
    """`kapbot ask` and `kapbot eval` run the actions in-process: they must not create real
    handoffs for staff to work through, so they switch recording off."""
    global _recording
    _recording = enabled


def _pool() -> ThreadPoolExecutor:
    global _background
    with _background_lock:
        if _background is None:
            _background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="handoff")
        return _background


def in_background(job: Callable[..., Any], *args: Any) -> Future:
    future = _pool().submit(job, *args)
    _background_work.append(future)
    future.add_done_callback(_finished)
    return future


def wait_for_background_work(timeout: float = 60) -> None:
    """Waits until the background work submitted so far is done (tests, shutdown)."""
    wait(list(_background_work), timeout=timeout)


def _finished(future: Future) -> None:
    # Nobody awaits background work: its failures must at least be logged (no personal data).
    error = future.exception()
    if error is not None:
        log.error("Background handoff work failed: %s", type(error).__name__)
    if future in _background_work:
        _background_work.remove(future)


def _notify(draft: HandoffDraft, filed: Filed | None = None) -> None:
    """Queues the announcement of a new handoff (batched, see bot/desk/notify.py); a crisis message
    added to the conversation's open crisis handoff is not announced again."""
    from bot.desk.notify import HandoffSummary, batcher

    if filed is not None and not filed.new:
        return
    flood = filed.possible_flood if filed is not None else None
    batcher().add(HandoffSummary.of(draft, possible_flood=flood))


class _Filing:
    """Files drafts with flood control and remembers what became of the last one."""

    def __init__(self) -> None:
        self.limit = FloodLimit.from_settings(get_settings())
        self.filed: Filed | None = None

    def __call__(self, session, draft: HandoffDraft) -> None:
        self.filed = file_draft(session, draft, self.limit)
        # The visitor never saw a crisis handoff's reference: it names the one it was added to.
        draft.reference = self.filed.reference


def _replay_kept_handoffs() -> None:
    filing = _Filing()
    replay_pending(on_stored=lambda draft: _notify(draft, filing.filed), store=filing)


def record_handoff(draft: HandoffDraft) -> bool:
    """Stores the handoff (or adds a crisis message to its conversation's open crisis handoff)
    and tells staff; False if it could only be kept for later."""
    if not _recording:
        log.info("Handoff %s not recorded: recording is off (local evaluation)", draft.reference)
        return True
    filing = _Filing()
    if not deliver(draft, store=filing):
        return False
    _notify(draft, filing.filed)
    if pending_path().exists():
        # The database is back: store what was kept meanwhile, without making a visitor wait.
        in_background(_replay_kept_handoffs)
    return True


# --- Delivery that survives an unreachable database -------------------------------------------


def pending_path() -> Path:
    return get_settings().var_dir / "pending-handoffs.jsonl"


def deliver(
    draft: HandoffDraft,
    url: str | None = None,
    pending: Path | None = None,
    attempts: int = 3,
    backoff_seconds: float = 0.3,
    store: Callable[[Session, HandoffDraft], Any] = store_draft,
) -> bool:
    """Stores the handoff with `store`; True when stored. After `attempts` failures the draft is
    appended to a pending file (replayed by `replay_pending`) and False is returned: it is never
    lost."""
    from bot.db.session import session_scope

    for attempt in range(1, attempts + 1):
        try:
            with session_scope(url) as session:
                store(session, draft)
            return True
        except sa.exc.IntegrityError:
            # Already stored (the same draft delivered twice) or a reference collision: a new
            # reference for a collision is safe because the visitor has not seen this one yet.
            if _already_stored(url, draft):
                return True
            log.warning("Handoff reference %s is taken: trying a new one", draft.reference)
            draft.reference = new_handoff_reference()
        except Exception as error:  # noqa: BLE001 - whatever fails, the handoff is kept below
            # E.g. SQLAlchemyError, or OSError when SQLite's folder cannot be created. The
            # reason only: the draft holds personal data.
            log.error(
                "Storing handoff %s failed (attempt %d of %d): %s",
                draft.reference,
                attempt,
                attempts,
                type(error).__name__,
            )
            if attempt < attempts:
                time.sleep(backoff_seconds * attempt)
    pending = pending or pending_path()
    with _locked(pending, "lock"):
        _append_lines(pending, [draft.to_json()])
    log.error("Handoff %s kept in %s until the database is back", draft.reference, pending)
    return False


def _is_same(handoff: Handoff, draft: HandoffDraft) -> bool:
    """Whether `handoff` is `draft` stored (rather than another handoff with its reference)."""
    return (
        handoff.conversation_id == draft.conversation_id and handoff.created_at == draft.created_at
    )


def _already_stored(url: str | None, draft: HandoffDraft) -> bool:
    from bot.db.session import session_scope

    try:
        with session_scope(url) as session:
            existing = get_handoff(session, draft.reference)
            return existing is not None and _is_same(existing, draft)
    except (sa.exc.SQLAlchemyError, OSError):
        return False


def _append_lines(pending: Path, lines: list[str]) -> None:
    """Appends to the pending file, created readable by its owner only (it holds personal
    data)."""
    descriptor = os.open(pending, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with open(descriptor, "a", encoding="utf-8") as out:
        out.write("".join(line + "\n" for line in lines))


def _locked(pending: Path, name: str):
    """An exclusive lock next to the pending file, shared by every process that uses it."""
    return exclusive_lock(pending.with_name(f"{pending.name}.{name}"))


def replay_pending(
    url: str | None = None,
    pending: Path | None = None,
    on_stored: Callable[[HandoffDraft], None] | None = None,
    store: Callable[[Session, HandoffDraft], Any] = store_draft,
) -> int:
    """Stores the handoffs kept while the database was down; returns how many were stored.
    `on_stored` is called with each one once it is stored (to notify staff).

    `deliver` may append to the pending file meanwhile (another process): the file is first moved
    aside under a lock, and what cannot be stored yet is appended back, so nothing is lost."""
    from bot.db.session import session_scope

    pending = pending or pending_path()
    claimed = pending.with_name(pending.name + ".replaying")
    if not pending.exists() and not claimed.exists():
        return 0
    with _locked(pending, "replay"):  # one replay at a time
        _claim(pending, claimed)
        if not claimed.exists():
            return 0
        lines = [line for line in claimed.read_text(encoding="utf-8").splitlines() if line.strip()]
        kept: list[str] = []
        stored = 0
        for line in lines:
            try:
                draft = HandoffDraft.from_json(line)
            except (ValueError, TypeError, KeyError) as error:
                log.error("Unreadable line in %s kept as it is: %s", pending, type(error).__name__)
                kept.append(line)
                continue
            try:
                with session_scope(url) as session:
                    existing = get_handoff(session, draft.reference)
                    if existing is None or not _is_same(existing, draft):
                        if existing is not None:
                            log.warning("Handoff reference %s is taken: new one", draft.reference)
                            draft.reference = new_handoff_reference()
                        store(session, draft)
                        stored += 1
                    else:
                        continue
            except Exception as error:  # noqa: BLE001 - kept for the next replay
                log.error("Replaying handoff %s failed: %s", draft.reference, type(error).__name__)
                kept.append(line)
                continue
            if on_stored is not None:
                try:
                    on_stored(draft)
                except Exception as error:  # noqa: BLE001 - it is stored; say why, go on
                    log.error("After replaying %s: %s", draft.reference, type(error).__name__)
        with _locked(pending, "lock"):
            if kept:
                _append_lines(pending, kept)
            claimed.unlink()
    return stored


def _claim(pending: Path, claimed: Path) -> None:
    """Moves the pending file aside for a replay, adding it to what an interrupted replay left."""
    with _locked(pending, "lock"):
        if pending.exists():
            if claimed.exists():  # left by an interrupted replay
                _append_lines(claimed, pending.read_text(encoding="utf-8").splitlines())
                pending.unlink()
            else:
                pending.replace(claimed)
