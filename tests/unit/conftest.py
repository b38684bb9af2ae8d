"""Unit tests run without TensorFlow: the suite runs them first, so a test that loads it (by
importing Rasa's NLU or the model) fails here instead of quietly making the folder slow."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True)
def no_tensorflow():
    loaded_before = "tensorflow" in sys.modules
    yield
    if not loaded_before:
        assert "tensorflow" not in sys.modules, "a unit test loaded TensorFlow: move it to model/"
