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


def test_booking_settings_defaults():
    import datetime as dt

    settings = settings_from_env({})
    assert settings.clinic_name == "the clinic"
    assert settings.clinic_timezone == "America/New_York"
    assert settings.clinic_days == ("mon", "tue", "wed", "thu", "fri")
    assert (settings.clinic_open, settings.clinic_close) == (dt.time(9), dt.time(17))
    assert settings.slot_minutes == 30
    assert settings.clinic_holidays == ()
    assert (settings.booking_days_ahead, settings.booking_lead_minutes) == (10, 60)


def test_booking_settings_from_the_environment():
    import datetime as dt

    settings = settings_from_env(
        {
            "CLINIC_NAME": "Lakeside Clinic",
            "CLINIC_TIMEZONE": "Europe/London",
            "CLINIC_DAYS": "Sat, monday,TUE,mon",
            "CLINIC_HOURS": "8:30 - 12:15",
            "SLOT_MINUTES": "45",
            "CLINIC_HOLIDAYS": "2026-12-25, 2026-12-24",
            "BOOKING_DAYS_AHEAD": "5",
            "BOOKING_LEAD_MINUTES": "0",
        }
    )
    assert settings.clinic_name == "Lakeside Clinic"
    assert settings.clinic_timezone == "Europe/London"
    assert settings.clinic_days == ("mon", "tue", "sat")
    assert (settings.clinic_open, settings.clinic_close) == (dt.time(8, 30), dt.time(12, 15))
    assert settings.slot_minutes == 45
    assert settings.clinic_holidays == (dt.date(2026, 12, 24), dt.date(2026, 12, 25))
    assert (settings.booking_days_ahead, settings.booking_lead_minutes) == (5, 0)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CLINIC_TIMEZONE": "Mars/Olympus_Mons"}, "CLINIC_TIMEZONE must be .* America/New_York"),
        ({"CLINIC_TIMEZONE": "EST5EDT/../x"}, "CLINIC_TIMEZONE must be"),
        ({"CLINIC_DAYS": "mon,funday"}, "CLINIC_DAYS must be .* mon,tue,wed,thu,fri; got 'funday'"),
        ({"CLINIC_DAYS": ","}, "CLINIC_DAYS must name at least one day"),
        ({"CLINIC_HOURS": "9-5"}, "CLINIC_HOURS must be .* 09:00-17:00"),
        ({"CLINIC_HOURS": "17:00-09:00"}, "CLINIC_HOURS must be .* the opening one first"),
        ({"CLINIC_HOURS": "09:00-25:00"}, "CLINIC_HOURS must be"),
        ({"SLOT_MINUTES": "half an hour"}, "SLOT_MINUTES must be a whole number .* such as 30"),
        ({"SLOT_MINUTES": "0"}, "SLOT_MINUTES must be a whole number from 5 to 240"),
        ({"SLOT_MINUTES": "90", "CLINIC_HOURS": "09:00-10:00"}, "SLOT_MINUTES \\(90\\) must fit"),
        ({"CLINIC_HOLIDAYS": "2026-12-25,25/12/2026"}, "CLINIC_HOLIDAYS must be .* 2026-12-25"),
        ({"CLINIC_HOLIDAYS": "2026-02-30"}, "CLINIC_HOLIDAYS must be"),
        ({"BOOKING_DAYS_AHEAD": "0"}, "BOOKING_DAYS_AHEAD must be .* such as 10"),
        ({"BOOKING_DAYS_AHEAD": "ten"}, "BOOKING_DAYS_AHEAD must be"),
        ({"BOOKING_LEAD_MINUTES": "-5"}, "BOOKING_LEAD_MINUTES must be .* such as 60"),
    ],
)
def test_bad_booking_settings_name_the_variable_and_an_example(env, message):
    with pytest.raises(SettingsError, match=message):
        settings_from_env(env)


def test_public_url_is_where_links_point_and_must_be_a_web_address():
    assert settings_from_env({}).public_base_url == "http://127.0.0.1:8080"
    behind_proxy = settings_from_env({"PUBLIC_URL": "https://chat.example-clinic.org/"})
    assert behind_proxy.public_base_url == "https://chat.example-clinic.org"
    with pytest.raises(SettingsError, match="PUBLIC_URL"):
        settings_from_env({"PUBLIC_URL": "chat.example-clinic.org"})


def test_rate_limit_settings_have_defaults_and_refuse_nonsense():
    settings = settings_from_env({})
    assert (settings.rate_limit_per_address, settings.rate_limit_per_conversation) == (60, 20)
    assert settings.rate_limit_window_seconds == 60
    custom = settings_from_env({"RATE_LIMIT_PER_ADDRESS": "300", "RATE_LIMIT_WINDOW_SECONDS": "10"})
    assert (custom.rate_limit_per_address, custom.rate_limit_window_seconds) == (300, 10)
    with pytest.raises(SettingsError, match="RATE_LIMIT_PER_CONVERSATION must be .* such as 20"):
        settings_from_env({"RATE_LIMIT_PER_CONVERSATION": "0"})
    with pytest.raises(SettingsError, match="RATE_LIMIT_WINDOW_SECONDS must be"):
        settings_from_env({"RATE_LIMIT_WINDOW_SECONDS": "a minute"})
