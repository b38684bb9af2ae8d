"""What must not be reachable: Rasa's HTTP API without its token, and the action server (and
Rasa) from anywhere but this machine."""

from __future__ import annotations

import socket
import subprocess

import pytest
import requests

from tests.system.conftest import API_TOKEN

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("servers", ["sqlite"], indirect=True)]

# Rasa's model and conversation API: each would let a caller read or change conversations,
# replace the model or run the NLU.
PROTECTED = [
    ("GET", "/status"),
    ("POST", "/model/parse"),
    ("PUT", "/model"),
    ("DELETE", "/model"),
    ("POST", "/model/train"),
    ("GET", "/domain"),
    ("GET", "/conversations/someone/tracker"),
    ("POST", "/conversations/someone/messages"),
    ("POST", "/conversations/someone/trigger_intent"),
    ("PUT", "/conversations/someone/tracker/events"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_rasa_api_refuses_requests_without_the_right_token(servers, method, path):
    rasa_url = servers[0]
    body = {"text": "/restart", "name": "restart", "event": "restart"}
    for params in ({}, {"token": "wrong"}, {"token": ""}):
        answer = requests.request(method, f"{rasa_url}{path}", params=params, json=body, timeout=30)
        assert answer.status_code == 401, (method, path, params, answer.text[:200])


def test_rasa_api_answers_with_the_token(servers):
    rasa_url = servers[0]
    answer = requests.get(f"{rasa_url}/status", params={"token": API_TOKEN}, timeout=30)
    assert answer.status_code == 200
    assert answer.json()["model_file"].endswith(".tar.gz")


def non_loopback_addresses() -> list[str]:
    listing = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "scope", "global"],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    return [line.split()[3].split("/")[0] for line in listing.splitlines() if "inet" in line]


def connects(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(3)
        return probe.connect_ex((host, port)) == 0


def test_action_server_and_rasa_listen_on_loopback_only(servers, action_server):
    rasa_port = int(servers[0].rsplit(":", 1)[1])
    actions_port = action_server.spec.port  # started as `kapbot serve` starts it
    addresses = non_loopback_addresses()
    if not addresses:
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    assert connects("127.0.0.1", actions_port) and connects("127.0.0.1", rasa_port)
    for address in addresses:
        assert not connects(address, actions_port), address
        assert not connects(address, rasa_port), address
