"""Rasa's HTTP API, as far as this project uses it: which model a server runs, and swapping in
another one without a restart (`PUT /model`, Rasa 3.6). The API is on only with a token
(`rasa run --enable-api --auth-token`), and only on a loopback address (see bot/ops/runner.py)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import requests

from bot.files.local_secrets import persistent_secret
from bot.settings import Settings, SettingsError

TOKEN_FILE = "rasa-api-token"  # noqa: S105 (a file name, not a secret)
# Loading a model means unpacking it and building TensorFlow graphs: seconds to a minute.
LOAD_TIMEOUT_SECONDS = 300


class RasaApiError(RuntimeError):
    """A Rasa server could not be reached or refused the request; the message says which."""


def token_path(settings: Settings) -> Path:
    return Path(settings.var_dir) / TOKEN_FILE


def api_token(settings: Settings, *, create: bool = False) -> str | None:
    """RASA_API_TOKEN, else the token `kapbot serve` generated (generating it when `create`)."""
    if settings.rasa_api_token:
        return settings.rasa_api_token
    path = token_path(settings)
    if create:
        return persistent_secret(path)
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serving_token(settings: Settings) -> str | None:
    """The token `kapbot serve` starts Rasa's HTTP API with, or None to leave the API off.

    The API can replace the model, so it is on only when Rasa listens on a loopback address."""
    if is_loopback(settings.rasa_host):
        return api_token(settings, create=True)
    if settings.rasa_api_token:
        raise SettingsError(
            f"RASA_API_TOKEN is set, but RASA_HOST is {settings.rasa_host}: Rasa's HTTP API "
            "(which can replace the model) is only enabled on a loopback address. Set "
            "RASA_HOST=127.0.0.1 (with a reverse proxy in front), or unset RASA_API_TOKEN to "
            "run without it (publishing from the staff console is then off)."
        )
    return None


def _explain(url: str, response: requests.Response) -> str:
    if response.status_code in (401, 403):
        return (
            f"the Rasa server at {url} refused the API token (HTTP {response.status_code}): "
            "RASA_API_TOKEN must be the token that server was started with"
        )
    try:
        message = response.json().get("message") or response.text
    except ValueError:
        message = response.text
    return f"the Rasa server at {url} answered HTTP {response.status_code}: {message.strip()}"


def _request(
    method: str, url: str, path: str, token: str | None, timeout: float, **kwargs
) -> requests.Response:
    try:
        response = requests.request(
            method, f"{url}{path}", params={"token": token or ""}, timeout=timeout, **kwargs
        )
    except requests.ConnectionError:
        raise RasaApiError(
            f"no Rasa server answers at {url}: is it running (kapbot serve / make run)?"
        ) from None
    except requests.Timeout:
        raise RasaApiError(f"the Rasa server at {url} did not answer in time") from None
    if response.status_code >= 400:
        raise RasaApiError(_explain(url, response))
    return response


def load_model(url: str, token: str | None, model: Path) -> None:
    """`PUT /model`: the server at `url` loads `model` (a path it can read) and answers with it;
    on any error it keeps the model it had."""
    _request(
        "PUT",
        url,
        "/model",
        token,
        json={"model_file": str(Path(model).resolve())},
        timeout=LOAD_TIMEOUT_SECONDS,
    )
