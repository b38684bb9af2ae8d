"""Storing a handoff and telling staff, from whichever process creates it: the action server
(handoffs with contact details) or the Rasa server (urgent crisis handoffs, see
bot/stores/tracker_store.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from bot.desk.handoff_flood import Filed, FloodLimit, file_draft
from bot.desk.handoffs import HandoffDraft, deliver, pending_path, replay_pending
from bot.settings import get_settings

log = logging.getLogger(__name__)

# Work that no visitor should wait for (crisis handoffs, replays) runs here.
_background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="handoff")
_background_work: list[Future] = []
_recording = True


def set_recording(enabled: bool) -> None:
    """`kapbot ask` and `kapbot eval` run the actions in-process: they must not create real
    handoffs for staff to work through, so they switch recording off."""
    global _recording
    _recording = enabled


def in_background(job: Callable[..., Any], *args: Any) -> Future:
    future = _background.submit(job, *args)
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
