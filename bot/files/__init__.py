"""Files on disk that several processes share: locks, files replaced atomically, and secrets
kept in files that only their owner can read."""
