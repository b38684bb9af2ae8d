"""How much volume a test sends. `make test` runs a smoke share, enough to show each behaviour;
`make bench` runs the whole volume (KAPBOT_FULL_VOLUME=1) and the tests marked `volume`, which
only add volume to what the smoke share checks."""

from __future__ import annotations

import os

FULL_VOLUME = os.environ.get("KAPBOT_FULL_VOLUME") == "1"


def volume(full: int, smoke: int) -> int:
    return full if FULL_VOLUME else smoke
