"""The socket.io channel named in credentials.yml: Rasa's own, with the allowed origins from
CORS_ORIGINS instead of no origin check at all."""

import yaml

from bot.channels import socketio as channel_module
from bot.channels.socketio import OriginCheckedSocketIOInput
from bot.settings import PROJECT_ROOT, settings_from_env


async def _ignore(message) -> None:
    return None


def test_credentials_name_the_origin_checked_channel_with_session_persistence():
    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text())
    options = credentials["bot.channels.socketio.OriginCheckedSocketIOInput"]
    assert options["session_persistence"] is True
    assert "socketio" not in credentials  # Rasa's own channel would accept any site


def test_the_server_allows_exactly_the_configured_origins(monkeypatch):
    settings = settings_from_env(
        {"CORS_ORIGINS": "https://clinic.example,https://www.clinic.example"}
    )
    monkeypatch.setattr(channel_module, "get_settings", lambda: settings)
    channel = OriginCheckedSocketIOInput.from_credentials({"session_persistence": True})
    blueprint = channel.blueprint(_ignore)
    assert channel.name() == "socketio"
    assert channel.socketio_path == "/socket.io" and blueprint is not None
    assert channel.sio.eio.cors_allowed_origins == [
        "https://clinic.example",
        "https://www.clinic.example",
    ]
