"""KAP Assistant: everything that is not a Rasa custom action (those live in `actions/`)."""
