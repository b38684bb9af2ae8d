from bot.ops.runner import banner
from bot.settings import settings_from_env


def test_banner_lists_every_url_and_never_a_database_password():
    settings = settings_from_env(
        {"DATABASE_URL": "postgresql://kap:s3cret@127.0.0.1:5432/kap", "WEB_PORT": "8081"}
    )
    text = banner(settings)
    assert "http://127.0.0.1:8081/staff" in text
    assert "http://127.0.0.1:5005" in text and "/socket.io" in text
    assert "s3cret" not in text and "postgresql://kap:***@127.0.0.1:5432/kap" in text
