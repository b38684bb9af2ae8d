"""`python -m bot.ops.rasa_server run …`: `rasa run` with the HTTP API token kept off the command
line.

Any local user can read a process's command line (`ps`, /proc/PID/cmdline), and Rasa's API token
can replace the model. So `kapbot serve` starts Rasa through this entry point with `--enable-api`
alone; the token comes from RASA_API_TOKEN (environment or .env) or var/rasa-api-token (0600), as
bot/models/rasa_api.py keeps it, and reaches Rasa's argument parser inside this process only.
"""

from __future__ import annotations

import os
import sys

from bot.models.rasa_api import api_token
from bot.settings import SettingsError, get_settings


def rasa_arguments(arguments: list[str]) -> list[str]:
    """`arguments` for `rasa`, with the token added when the API is asked for."""
    if "--auth-token" in arguments:
        raise SettingsError("give Rasa's API token in RASA_API_TOKEN, never on the command line")
    if "--enable-api" not in arguments:
        return arguments
    token = api_token(get_settings())
    if not token:
        raise SettingsError(
            "--enable-api needs a token: set RASA_API_TOKEN, or let `kapbot serve` generate "
            "var/rasa-api-token"
        )
    return [*arguments, "--auth-token", token]


def main() -> None:
    try:
        arguments = rasa_arguments(sys.argv[1:])
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    # One TensorFlow thread per operation: a turn's operations are too small to gain from a
    # second one, and the threads then contend with the other conversations' turns (idle
    # 2-core machine: p95 61 against 67 ms, 20 against 18 messages/s; docs/benchmarks.md).
    # Rasa reads it when it starts; training, in processes of its own, keeps both threads.
    os.environ.setdefault("TF_INTRA_OP_PARALLELISM_THREADS", "1")
    from rasa.__main__ import main as rasa_main

    # Rasa parses sys.argv; changing it here leaves /proc/PID/cmdline as it was.
    sys.argv = ["rasa", *arguments]
    rasa_main()


if __name__ == "__main__":
    main()
