"""Per-client limits on the public entry points: the REST and socket.io channels, /api/chat and
/api/feedback.

Each message (or vote) counts against its client address and against its conversation; over
either limit, the entry point answers with a "please slow down" reply instead of doing the
work. A sliding window: the count in the current fixed window plus the previous window's count
weighted by how much of it still lies inside the last `window_seconds`, which smooths the
burst a plain fixed window allows at its edge. Refused requests count too, so a client that
keeps hammering stays limited until it slows down. A request may count as several units: the
channels count a long message by its length (visitor_messages.message_cost), since the NLU's
work grows with it.

With REDIS_URL set (production mode: several Rasa instances) the counters live in Redis, so a
client cannot spread its messages over the instances; each count is one MULTI/EXEC round trip.
Without Redis, or while Redis does not answer, they live in this process's memory.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass

import redis

from bot.settings import Settings, get_settings

log = logging.getLogger(__name__)

KEY_PREFIX = "kap:rl:"
# A conversation's first crisis message over its limit still runs the whole turn (reply and
# urgent handoff); later ones within this time get the crisis reply straight away.
CRISIS_MEMORY_SECONDS = 24 * 3600
# The in-memory counters are swept of stale entries once there are this many.
MEMORY_SWEEP_AT = 50_000


@dataclass(frozen=True)
class Limits:
    per_address: int
    per_conversation: int
    window_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            per_address=settings.rate_limit_per_address,
            per_conversation=settings.rate_limit_per_conversation,
            window_seconds=settings.rate_limit_window_seconds,
        )


def _estimate(current: int, previous: int, now: float, window: int) -> float:
    """The sliding-window count from the fixed windows' counts."""
    elapsed = (now % window) / window
    return current + previous * (1 - elapsed)


class MemoryCounters:
    """Counters and crisis marks in this process (threads of the web app share them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # key -> [window number, count in it, count in the window before]
        self._counts: dict[str, list[int]] = {}
        self._marks: dict[str, float] = {}

    def hit(self, keys: list[str], window: int, now: float, cost: int = 1) -> list[float]:
        number = int(now // window)
        with self._lock:
            if len(self._counts) >= MEMORY_SWEEP_AT:
                self._counts = {k: v for k, v in self._counts.items() if v[0] >= number - 1}
            found = []
            for key in keys:
                entry = self._counts.setdefault(key, [number, 0, 0])
                if entry[0] != number:
                    previous = entry[1] if entry[0] == number - 1 else 0
                    entry[:] = [number, 0, previous]
                entry[1] += cost
                found.append(_estimate(entry[1], entry[2], now, window))
            return found

    def mark_once(self, key: str, seconds: int, now: float) -> bool:
        """True the first time `key` is marked within `seconds`."""
        with self._lock:
            if len(self._marks) >= MEMORY_SWEEP_AT:
                self._marks = {k: until for k, until in self._marks.items() if until > now}
            if self._marks.get(key, 0) > now:
                return False
            self._marks[key] = now + seconds
            return True


class RedisCounters:
    """The same counters in Redis, shared by every process that uses the same REDIS_URL."""

    def __init__(self, url: str) -> None:
        self.red = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def hit(self, keys: list[str], window: int, now: float, cost: int = 1) -> list[float]:
        number = int(now // window)
        pipe = self.red.pipeline(transaction=True)
        for key in keys:
            current = f"{KEY_PREFIX}{key}:{number}"
            pipe.incrby(current, cost)
            pipe.expire(current, 2 * window)
            pipe.get(f"{KEY_PREFIX}{key}:{number - 1}")
        replies = pipe.execute()
        return [
            _estimate(int(replies[i]), int(replies[i + 2] or 0), now, window)
            for i in range(0, len(replies), 3)
        ]

    def mark_once(self, key: str, seconds: int, now: float) -> bool:  # noqa: ARG002
        return bool(self.red.set(f"{KEY_PREFIX}{key}", 1, nx=True, ex=seconds))


class RateLimiter:
    def __init__(self, limits: Limits, redis_url: str = "") -> None:
        self.limits = limits
        self.memory = MemoryCounters()
        self.shared = RedisCounters(redis_url) if redis_url else None

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        return cls(Limits.from_settings(settings), settings.redis_url)

    def _counters(self, method: str, *args):
        """`method` of the shared counters, or of the ones in memory while Redis fails."""
        if self.shared is not None:
            try:
                return getattr(self.shared, method)(*args)
            except redis.RedisError as error:
                log.warning("Rate limits in memory: Redis failed (%s)", type(error).__name__)
        return getattr(self.memory, method)(*args)

    def allow(self, scope: str, address: str, conversation: str, cost: int = 1) -> bool:
        """Counts a request of `scope` ("message", "feedback") from `address` in
        `conversation`, as `cost` units; False when either is over its limit."""
        window, now = self.limits.window_seconds, time.time()
        keys = [f"{scope}:addr:{address}", f"{scope}:conv:{conversation}"]
        by_address, by_conversation = self._counters("hit", keys, window, now, cost)
        return (
            by_address <= self.limits.per_address
            and by_conversation <= self.limits.per_conversation
        )

    def first_crisis(self, conversation: str) -> bool:
        """True for the first crisis message of `conversation` that comes over its limit."""
        key = f"crisis:{conversation}"
        return self._counters("mark_once", key, CRISIS_MEMORY_SECONDS, time.time())


@functools.lru_cache(maxsize=1)
def shared_limiter() -> RateLimiter:
    """The limiter of this Rasa process, shared by its REST and socket.io channels."""
    return RateLimiter.from_settings(get_settings())
