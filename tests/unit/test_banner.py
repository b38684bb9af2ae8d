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


def test_banner_says_which_answers_visitors_are_told_are_under_review(unsigned_project_copy):
    from bot.content.model import load_content
    from bot.content.signoff import approve

    settings = settings_from_env({"KAPBOT_CONTENT_ROOT": str(unsigned_project_copy)})
    topics = load_content(unsigned_project_copy / "content").topics
    assert f"{len(topics)} of {len(topics)} topics have no answer a clinician approved" in banner(
        settings
    )

    for topic in topics:
        approve(unsigned_project_copy / "content", topic.id, "dr.ada", topic.answer)
    assert "under review" not in banner(settings)
