"""Protection of the public entry points: per-client rate limits, and the client address they
count by."""
