"""What production mode needs before it starts, each missing piece said in plain words.

Several Rasa instances can only share conversations through a database they all reach at once
(PostgreSQL, not a SQLite file) and can only keep one conversation's messages in order through
a shared lock store (Redis); nginx balances between them.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

from bot.ops.balancer import nginx_binary
from bot.settings import Settings
from bot.stores.lock_store import redis_connection_options

REDIS_TIMEOUT_SECONDS = 3


def prod_mode_problems(settings: Settings) -> list[str]:
    problems = []
    if make_url(settings.database_url).get_backend_name() != "postgresql":
        problems.append(
            "production mode keeps conversations in PostgreSQL, which every Rasa instance "
            "shares: set DATABASE_URL to postgresql://USER:PASSWORD@HOST:5432/DATABASE in .env "
            f"(it is {make_url(settings.database_url).get_backend_name()} now)"
        )
    redis_problem = _redis_problem(settings.redis_url)
    if redis_problem:
        problems.append(redis_problem)
    if nginx_binary() is None:
        problems.append(
            "production mode balances the Rasa instances with nginx, which is not installed: "
            "apt-get install nginx (make run-prod does it)"
        )
    return problems


def _redis_problem(redis_url: str) -> str | None:
    import redis

    if not redis_url:
        return (
            "production mode keeps the Rasa instances' conversation locks in Redis: set "
            "REDIS_URL in .env, such as redis://127.0.0.1:6379/0"
        )
    try:
        options = redis_connection_options(redis_url)
    except ValueError as error:
        return str(error)
    client = redis.Redis(
        host=options["host"],
        port=options["port"],
        db=options["db"],
        username=options["username"],
        password=options["password"],
        ssl=options["use_ssl"],
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except redis.RedisError as error:
        where = f"{options['host']}:{options['port']}"
        return f"Redis at {where} (REDIS_URL) does not answer: {error}. Start it or fix REDIS_URL."
    finally:
        client.close()
    return None
