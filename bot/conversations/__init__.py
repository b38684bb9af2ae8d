"""Visitors' conversations as Rasa's tracker store keeps them, and what is read from them: the
editors' review inbox, visitors' answer feedback, follow-up signals, and the retention purge."""
