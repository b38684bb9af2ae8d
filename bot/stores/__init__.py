"""Rasa's tracker and lock stores as configured for this project (endpoints.yml names them)."""
