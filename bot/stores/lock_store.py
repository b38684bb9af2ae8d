"""The Rasa lock store endpoints.yml names: Redis when REDIS_URL is set, else Rasa's in-memory one.

Rasa holds a per-conversation ticket lock while it handles a message, so two messages of one
conversation are handled one after the other. In memory that works for one Rasa process; several
instances behind a load balancer must share the locks, in Redis (production mode).

Rasa's own RedisLockStore reads a lock, changes it in Python and writes it back, so two instances
issuing tickets for one conversation at the same moment can both get the same number, and one
finishing a turn can delete the lock another has just queued on (which then fails with "Could not
acquire lock"). Here every read-change-write runs in a Redis transaction (WATCH/MULTI: redone
if the key changed meanwhile), which keeps the ticket order exact across instances.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, RedisLockStore

from bot.settings import get_settings

# A lock key outlives its longest ticket, so a Rasa instance that died mid-turn leaves no key
# behind for ever (the ticket itself stops blocking once its lifetime is over).
KEY_MARGIN_SECONDS = 60


def redis_connection_options(redis_url: str) -> dict[str, Any]:
    """RedisLockStore's arguments from a redis://[user:password@]host[:port][/db] URL."""
    parts = urlsplit(redis_url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(f"REDIS_URL must look like redis://127.0.0.1:6379/0, got {redis_url!r}")
    database = parts.path.strip("/") or "0"
    if not database.isdigit():
        raise ValueError(f"REDIS_URL's database must be a number, such as /0; got {database!r}")
    return {
        "host": parts.hostname,
        "port": parts.port or 6379,
        "db": int(database),
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "use_ssl": parts.scheme == "rediss",
    }


class AtomicRedisLockStore(RedisLockStore):
    """Rasa's RedisLockStore with each change of a lock made atomically."""

    def _change_lock(
        self, conversation_id: str, change: Callable[[TicketLock | None], TicketLock | None]
    ) -> None:
        """Applies `change` to the stored lock (None: there is none) and stores what it returns
        (None: delete), redoing it if another instance changed the lock in between."""
        key = self.key_prefix + conversation_id

        def apply(pipe) -> None:
            stored = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(stored)) if stored else None
            changed = change(lock)
            pipe.multi()
            if changed is None:
                pipe.delete(key)
            else:
                latest_expiry = max((t.expires for t in changed.tickets), default=0)
                pipe.set(key, changed.dumps())
                pipe.expireat(key, int(latest_expiry) + KEY_MARGIN_SECONDS)

        self.red.transaction(apply, key)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        issued: list[int] = []

        def add_ticket(lock: TicketLock | None) -> TicketLock:
            lock = lock or self.create_lock(conversation_id)
            # Only the ticket of the attempt that commits counts.
            issued[:] = [lock.issue_ticket(lock_lifetime)]
            return lock

        try:
            self._change_lock(conversation_id, add_ticket)
        except Exception as error:  # what Rasa's issue_ticket does with any failure
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        return issued[0]

    def update_lock(self, conversation_id: str) -> None:
        def drop_expired(lock: TicketLock | None) -> TicketLock | None:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock

        self._change_lock(conversation_id, drop_expired)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # Finishing a ticket and deleting the lock when nobody waits is one step, so a ticket
        # issued meanwhile by another instance is never deleted with it.
        def finish(lock: TicketLock | None) -> TicketLock | None:
            if lock is None:
                return None
            lock.remove_ticket_for(ticket_number)
            return lock if lock.is_someone_waiting() else None

        self._change_lock(conversation_id, finish)


class ConfiguredLockStore:
    """endpoints.yml's `lock_store: type`: builds the store the settings ask for."""

    def __new__(cls, endpoint_config=None):  # noqa: ARG003 - Rasa passes its endpoint config
        redis_url = get_settings().redis_url
        if not redis_url:
            return InMemoryLockStore()
        return AtomicRedisLockStore(**redis_connection_options(redis_url))
