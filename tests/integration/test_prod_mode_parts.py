"""Production mode's pieces that need no Rasa: the settings, the nginx configuration, the checks
made before starting, and the Redis lock store (on the real Redis)."""

from __future__ import annotations

import subprocess
import threading
import uuid

import pytest
import redis

from bot.ops.balancer import nginx_command, write_nginx_config
from bot.ops.prod_mode import prod_mode_problems
from bot.ops.runner import process_specs
from bot.settings import SettingsError, settings_from_env
from bot.stores.lock_store import (
    AtomicRedisLockStore,
    ConfiguredLockStore,
    redis_connection_options,
)
from tests.conftest import free_port

# A Redis database of its own, so the keys made here never meet anyone else's.
TEST_REDIS_URL = "redis://127.0.0.1:6379/11"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def prod_settings(tmp_path, **overrides: str):
    return settings_from_env(
        {
            "KAPBOT_VAR_DIR": str(tmp_path / "var"),
            "KAPBOT_PROD_MODE": "true",
            "DATABASE_URL": POSTGRES_URL,
            "REDIS_URL": TEST_REDIS_URL,
            "RASA_PORT": "7005",
            **overrides,
        }
    )


def test_rasa_api_urls_name_every_instance_in_production_mode_and_the_one_server_otherwise(
    tmp_path,
):
    settings = prod_settings(tmp_path, RASA_INSTANCES="3")
    assert settings.rasa_api_urls == [
        "http://127.0.0.1:7006",
        "http://127.0.0.1:7007",
        "http://127.0.0.1:7008",
    ]
    single = settings_from_env({"RASA_PORT": "7005", "RASA_INSTANCES": "3"})
    assert single.rasa_api_urls == ["http://127.0.0.1:7005"]
    # RASA_API_URLS still wins, e.g. instances on other machines.
    elsewhere = prod_settings(tmp_path, RASA_API_URLS="http://10.0.0.5:5006,http://10.0.0.6:5006")
    assert elsewhere.rasa_api_urls == ["http://10.0.0.5:5006", "http://10.0.0.6:5006"]


@pytest.mark.parametrize("value", ["0", "two", "17"])
def test_rasa_instances_must_be_a_sensible_number(value):
    with pytest.raises(SettingsError, match="RASA_INSTANCES must be a whole number from 1 to 16"):
        settings_from_env({"RASA_INSTANCES": value})


def test_production_mode_runs_each_instance_on_loopback_behind_nginx(tmp_path):
    settings = prod_settings(tmp_path, RASA_HOST="0.0.0.0")
    specs = {spec.name: spec for spec in process_specs(settings)}
    assert list(specs) == ["actions", "rasa-1", "rasa-2", "web", "nginx"]
    for name, port in (("rasa-1", "7006"), ("rasa-2", "7007")):
        command = specs[name].command
        assert command[command.index("--interface") + 1] == "127.0.0.1"
        assert command[command.index("--port") + 1] == port
    assert specs["nginx"].port == 7005
    assert "daemon off;" in specs["nginx"].command


def test_the_nginx_configuration_is_valid_and_balances_over_every_instance(tmp_path):
    settings = prod_settings(tmp_path, RASA_INSTANCES="3")
    config = write_nginx_config(settings).read_text()
    for port in (7006, 7007, 7008):
        assert f"server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" in config
    assert "listen 127.0.0.1:7005;" in config
    assert "proxy_set_header Upgrade $http_upgrade;" in config
    # nginx itself reads it (-t: test the configuration, start nothing).
    command = [part for part in nginx_command(settings) if part not in ("-g", "daemon off;")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


def test_production_mode_is_refused_without_postgresql_or_a_reachable_redis(tmp_path):
    problems = prod_settings(
        tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'kapbot.db'}", REDIS_URL=""
    )
    messages = prod_mode_problems(problems)
    assert len(messages) == 2
    assert "PostgreSQL" in messages[0] and "DATABASE_URL" in messages[0] and "sqlite" in messages[0]
    assert "REDIS_URL" in messages[1] and "redis://127.0.0.1:6379/0" in messages[1]

    closed_port = free_port()
    [unreachable] = prod_mode_problems(
        prod_settings(tmp_path, REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")
    )
    assert f"Redis at 127.0.0.1:{closed_port} (REDIS_URL) does not answer" in unreachable

    assert prod_mode_problems(prod_settings(tmp_path)) == []


def test_redis_urls_are_read_into_the_lock_stores_arguments():
    assert redis_connection_options("rediss://kap:p%40ss@cache.internal:6380/3") == {
        "host": "cache.internal",
        "port": 6380,
        "db": 3,
        "username": "kap",
        "password": "p@ss",
        "use_ssl": True,
    }
    with pytest.raises(ValueError, match="REDIS_URL must look like"):
        redis_connection_options("127.0.0.1:6379")


def test_the_lock_store_is_in_memory_without_redis_url_and_redis_with_it(environment):
    from rasa.core.lock_store import InMemoryLockStore

    environment(REDIS_URL="")
    assert isinstance(ConfiguredLockStore(endpoint_config=None), InMemoryLockStore)
    environment(REDIS_URL=TEST_REDIS_URL)
    assert isinstance(ConfiguredLockStore(endpoint_config=None), AtomicRedisLockStore)


@pytest.fixture
def lock_store():
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"Redis at {TEST_REDIS_URL} is not reachable: {error}")
    store = AtomicRedisLockStore(**redis_connection_options(TEST_REDIS_URL))
    yield store
    for key in client.scan_iter(match=store.key_prefix + "*"):
        client.delete(key)
    client.close()


def test_tickets_issued_at_once_by_many_instances_are_all_different(lock_store):
    conversation = f"c-{uuid.uuid4().hex}"
    # Each thread is a Rasa instance with its own connection, as in production.
    stores = [AtomicRedisLockStore(**redis_connection_options(TEST_REDIS_URL)) for _ in range(8)]
    tickets: list[int] = []
    start = threading.Barrier(len(stores))

    def issue(store: AtomicRedisLockStore) -> None:
        start.wait()
        for _ in range(5):
            tickets.append(store.issue_ticket(conversation, lock_lifetime=60))

    threads = [threading.Thread(target=issue, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(tickets) == list(range(40))
    assert len(lock_store.get_lock(conversation).tickets) == 40


def test_finishing_a_turn_keeps_a_waiting_ticket_and_removes_the_lock_when_nobody_waits(
    lock_store,
):
    conversation = f"c-{uuid.uuid4().hex}"
    first = lock_store.issue_ticket(conversation, lock_lifetime=60)
    second = lock_store.issue_ticket(conversation, lock_lifetime=60)
    lock_store.cleanup(conversation, first)
    lock = lock_store.get_lock(conversation)
    assert lock is not None and lock.now_serving == second
    lock_store.cleanup(conversation, second)
    assert lock_store.get_lock(conversation) is None


async def test_two_stores_serve_one_conversation_one_turn_at_a_time(lock_store):
    import asyncio

    conversation = f"c-{uuid.uuid4().hex}"
    other = AtomicRedisLockStore(**redis_connection_options(TEST_REDIS_URL))
    order: list[str] = []

    def queued() -> int:
        lock = lock_store.get_lock(conversation)
        return len(lock.tickets) if lock else 0

    async def until_queued(count: int) -> None:
        while queued() < count:
            await asyncio.sleep(0.01)

    # Each turn queues only after the one before it holds a ticket, and the first holds the
    # lock until all three are queued: the order is set by the tickets, not by timing.
    async def turn(store: AtomicRedisLockStore, name: str, queue_after: int) -> None:
        await until_queued(queue_after)
        async with store.lock(conversation, wait_time_in_seconds=0.05):
            order.append(f"{name} start")
            if name == "a":
                await until_queued(3)
            else:
                await asyncio.sleep(0.1)  # held a while: the next turn must wait for it
            order.append(f"{name} end")

    await asyncio.gather(turn(lock_store, "a", 0), turn(other, "b", 1), turn(lock_store, "c", 2))
    assert order == ["a start", "a end", "b start", "b end", "c start", "c end"]
    assert lock_store.get_lock(conversation) is None
