import pytest

from bot.settings import PROJECT_ROOT, SettingsError, settings_from_env


def test_defaults_use_sqlite_under_var_and_loopback_ports():
    settings = settings_from_env({})
    assert settings.database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'kapbot.db'}"
    assert settings.model_dir == PROJECT_ROOT / "var" / "models"
    assert (settings.rasa_url, settings.actions_url, settings.web_url) == (
        "http://127.0.0.1:5005",
        "http://127.0.0.1:5055",
        "http://127.0.0.1:8080",
    )
    assert settings.cors_origins == ["http://127.0.0.1:8080", "http://localhost:8080"]


def test_database_url_switches_the_store():
    url = "postgresql://kapbot@127.0.0.1:5432/kapbot"
    assert settings_from_env({"DATABASE_URL": url}).database_url == url


def test_relative_var_dir_is_taken_from_the_project_root():
    settings = settings_from_env({"KAPBOT_VAR_DIR": "state"})
    assert settings.var_dir == PROJECT_ROOT / "state"
    assert settings.database_url.endswith("/state/kapbot.db")


def test_cors_origins_are_a_comma_separated_list():
    settings = settings_from_env(
        {"CORS_ORIGINS": "https://clinic.example, https://www.clinic.example"}
    )
    assert settings.cors_origins == ["https://clinic.example", "https://www.clinic.example"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RASA_PORT": "five"}, "RASA_PORT must be a whole number"),
        ({"DATABASE_URL": "var/kapbot.db"}, "DATABASE_URL must be a URL"),
    ],
)
def test_bad_values_are_refused_with_a_message_naming_the_variable(env, message):
    with pytest.raises(SettingsError, match=message):
        settings_from_env(env)


def test_dotenv_does_not_override_the_real_environment(tmp_path, monkeypatch):
    from dotenv import load_dotenv

    env_file = tmp_path / ".env"
    env_file.write_text("RASA_PORT=7000\nWEB_PORT=7001\n")
    monkeypatch.setenv("RASA_PORT", "6000")
    monkeypatch.delenv("WEB_PORT", raising=False)
    load_dotenv(env_file, override=False)
    settings = settings_from_env()
    assert (settings.rasa_port, settings.web_port) == (6000, 7001)
