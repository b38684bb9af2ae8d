"""The web app's tests sign in hundreds of times: they hash passwords with Argon2's cheapest
parameters. tests/integration/test_staff_accounts.py keeps the production parameters and checks
them."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, profiles

from tests.project_copies import copy_project


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    from bot.desk import staff_accounts

    monkeypatch.setattr(
        staff_accounts, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST)
    )
    # The dummy hash that a sign-in with an unknown username is checked against, made again
    # with the cheap hasher (and after the test, with the production one).
    staff_accounts._dummy_hash.cache_clear()
    yield
    staff_accounts._dummy_hash.cache_clear()


@pytest.fixture
def project(tmp_path, environment, database_url):
    """A scratch copy of the project (every answer signed off) that the web app edits, with
    this test's database and var/."""
    root = copy_project(tmp_path / "project")
    environment(
        KAPBOT_CONTENT_ROOT=str(root),
        KAPBOT_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=database_url,
    )
    return root
