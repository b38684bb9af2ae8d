"""The project's own data: SQLAlchemy models (models.py) and the one session factory (session.py).

Rasa's tracker store shares the database but owns its own tables; ours are prefixed `kap_`.
"""
