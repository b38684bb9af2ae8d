"""Rasa input channels of the project (named in credentials.yml)."""
