"""Settings for Rasa's model API, and how `kapbot serve` turns it on (the API itself is tested
against a real Rasa server in tests/system/test_model_lifecycle.py)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.models.rasa_api import api_token, is_loopback, serving_token, token_path
from bot.ops.runner import process_specs
from bot.settings import SettingsError, settings_from_env


def test_api_urls_default_to_the_one_rasa_server_and_can_list_several():
    assert settings_from_env({"RASA_PORT": "5077"}).rasa_api_urls == ["http://127.0.0.1:5077"]
    several = settings_from_env({"RASA_API_URLS": "http://127.0.0.1:5005, http://127.0.0.1:5006/"})
    assert several.rasa_api_urls == ["http://127.0.0.1:5005", "http://127.0.0.1:5006"]
    with pytest.raises(SettingsError, match="RASA_API_URLS must be comma-separated addresses"):
        settings_from_env({"RASA_API_URLS": "127.0.0.1:5005"})


def test_serve_generates_a_private_token_once_on_loopback(tmp_path):
    settings = settings_from_env({"KAPBOT_VAR_DIR": str(tmp_path)})
    assert api_token(settings) is None

    token = serving_token(settings)

    assert token and len(token) >= 32
    assert stat.S_IMODE(token_path(settings).stat().st_mode) == 0o600
    assert serving_token(settings) == token == api_token(settings)


def test_an_explicit_token_wins_over_the_generated_one(tmp_path):
    settings = settings_from_env({"KAPBOT_VAR_DIR": str(tmp_path), "RASA_API_TOKEN": "mine"})
    assert serving_token(settings) == "mine"
    assert not token_path(settings).exists()


def test_the_api_stays_off_unless_rasa_listens_on_loopback(tmp_path):
    public = settings_from_env({"KAPBOT_VAR_DIR": str(tmp_path), "RASA_HOST": "0.0.0.0"})
    assert serving_token(public) is None
    assert not token_path(public).exists()
    with pytest.raises(SettingsError, match="only enabled on a loopback address"):
        serving_token(settings_from_env({"RASA_HOST": "192.168.1.5", "RASA_API_TOKEN": "mine"}))
    assert [
        is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "example.org")
    ] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_rasa_starts_with_the_given_model_and_the_api_only_with_a_token(tmp_path):
    settings = settings_from_env({"KAPBOT_VAR_DIR": str(tmp_path)})
    model = Path("/models/live.tar.gz")

    with_api = next(s for s in process_specs(settings, model, "secret") if s.name == "rasa")
    without = next(s for s in process_specs(settings, model) if s.name == "rasa")

    assert with_api.command[with_api.command.index("--model") + 1] == str(model)
    assert with_api.command[-1] == "--enable-api"
    assert "--enable-api" not in without.command
    # The token is never on a command line, which any local user can read.
    assert not any("secret" in part for part in with_api.command)


def test_the_rasa_entry_point_adds_the_token_itself_and_refuses_one_given(monkeypatch, tmp_path):
    import bot.ops.rasa_server as entry

    settings = settings_from_env({"KAPBOT_VAR_DIR": str(tmp_path), "RASA_API_TOKEN": "tok-1"})
    monkeypatch.setattr(entry, "get_settings", lambda: settings)
    assert entry.rasa_arguments(["run", "--enable-api"]) == [
        "run", "--enable-api", "--auth-token", "tok-1",
    ]  # fmt: skip
    assert entry.rasa_arguments(["run"]) == ["run"]
    with pytest.raises(SettingsError, match="never on the command line"):
        entry.rasa_arguments(["run", "--enable-api", "--auth-token", "x"])
    unset = settings_from_env({"KAPBOT_VAR_DIR": str(tmp_path)})
    monkeypatch.setattr(entry, "get_settings", lambda: unset)
    with pytest.raises(SettingsError, match="needs a token"):
        entry.rasa_arguments(["run", "--enable-api"])
