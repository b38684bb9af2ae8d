"""Files on disk that several processes share: locks, and secrets kept in files that only their
owner can read."""
