"""Rasa's response generation as configured for this project (endpoints.yml names it)."""
