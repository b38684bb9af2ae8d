"""Storing a handoff and telling staff, from whichever process creates it: the action server
(handoffs with contact details) or the Rasa server (urgent crisis handoffs, see
bot/rasa_tracker_store.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from bot.handoffs import HandoffDraft, deliver, pending_path, replay_pending
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


def is_recording() -> bool:
    return _recording


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


def _notify(draft: HandoffDraft) -> None:
    from bot.notify import notify_new_handoff

    notify_new_handoff(draft, get_settings())


def _replay_kept_handoffs() -> None:
    replay_pending(on_stored=_notify)


def record_handoff(draft: HandoffDraft) -> bool:
    """Stores the handoff and tells staff; False if it could only be kept for later."""
    if not _recording:
        log.info("Handoff %s not recorded: recording is off (local evaluation)", draft.reference)
        return True
    if not deliver(draft):
        return False
    _notify(draft)
    if pending_path().exists():
        # The database is back: store what was kept meanwhile, without making a visitor wait.
        in_background(_replay_kept_handoffs)
    return True
