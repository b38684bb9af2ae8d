"""Per-client limits (bot/protection/rate_limits.py), in memory and in the real Redis on
127.0.0.1:6379.
The attacks on the running servers are in tests/system/test_rate_limits.py."""

from __future__ import annotations

import uuid

import pytest
import redis

from bot.protection.rate_limits import KEY_PREFIX, Limits, RateLimiter
from tests.conftest import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"
LIMITS = Limits(per_address=6, per_conversation=3, window_seconds=60)


@pytest.fixture
def scope():
    """A scope of its own per test, so counts in the shared Redis never mix; its keys go after."""
    name = f"test-{uuid.uuid4().hex}"
    yield name
    red = redis.Redis.from_url(REDIS_URL)
    keys = list(red.scan_iter(f"{KEY_PREFIX}{name}:*"))
    if keys:
        red.delete(*keys)


@pytest.fixture(params=["memory", "redis"])
def limiter(request):
    return RateLimiter(LIMITS, REDIS_URL if request.param == "redis" else "")


def test_a_conversation_over_its_limit_is_refused_and_others_are_not(limiter, scope):
    allowed = [limiter.allow(scope, "198.51.100.1", "conv-a") for _ in range(5)]
    assert allowed == [True, True, True, False, False]
    # Another conversation from the same address still has its own allowance.
    assert limiter.allow(scope, "198.51.100.1", "conv-b")


def test_an_address_over_its_limit_is_refused_in_any_conversation(limiter, scope):
    # New conversation ids for every message do not escape the address's limit.
    allowed = [limiter.allow(scope, "198.51.100.2", f"conv-{n}") for n in range(8)]
    assert allowed == [True] * 6 + [False] * 2
    assert limiter.allow(scope, "198.51.100.3", "conv-x")


def test_a_costly_request_uses_up_the_limit_sooner(limiter, scope):
    assert limiter.allow(scope, "198.51.100.6", "conv-long", cost=2)
    assert not limiter.allow(scope, "198.51.100.6", "conv-long", cost=2)


def test_two_instances_share_the_counts_in_redis(scope):
    """As two Rasa instances behind nginx: a client cannot spread its messages over them."""
    first, second = RateLimiter(LIMITS, REDIS_URL), RateLimiter(LIMITS, REDIS_URL)
    assert first.allow(scope, "198.51.100.4", "conv")
    assert second.allow(scope, "198.51.100.4", "conv")
    assert first.allow(scope, "198.51.100.4", "conv")
    assert not second.allow(scope, "198.51.100.4", "conv")


def test_without_redis_the_limits_still_hold_in_memory(scope):
    nothing_listens = f"redis://127.0.0.1:{free_port()}/0"
    limiter = RateLimiter(LIMITS, nothing_listens)
    allowed = [limiter.allow(scope, "198.51.100.5", "conv") for _ in range(4)]
    assert allowed == [True, True, True, False]


def test_only_the_first_crisis_of_a_conversation_is_let_through(limiter):
    conversation = f"conv-{uuid.uuid4().hex}"
    assert limiter.first_crisis(conversation)
    assert not limiter.first_crisis(conversation)
    assert limiter.first_crisis(f"conv-{uuid.uuid4().hex}")


def test_the_window_slides(scope):
    """The previous window's count weighs in by the part of it still inside the window."""
    from bot.protection.rate_limits import MemoryCounters

    counters = MemoryCounters()
    key = [f"{scope}:k"]
    for _ in range(10):
        counters.hit(key, 60, now=60 * 100 + 59)  # the end of window 100
    # A quarter into window 101: three quarters of the 10 still count, plus this one.
    assert counters.hit(key, 60, now=60 * 101 + 15) == [pytest.approx(10 * 0.75 + 1)]
    # Two windows on, nothing of them is left.
    assert counters.hit(key, 60, now=60 * 103) == [1]
