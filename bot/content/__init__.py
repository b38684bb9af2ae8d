"""The editorial content (content/) and what is generated from it."""
