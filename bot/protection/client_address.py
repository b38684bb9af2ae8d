"""The address a visitor's message came from, so that handoffs and bookings can be counted per
client address (bot/desk/handoff_flood.py, bot/desk/bookings.py).

The public channels (bot/channels/) put it in the message's metadata, which Rasa keeps on the
user event: the tracker store and the actions read it from there. Visitors cannot set metadata
themselves (the channels build each message), so the address is the one the server saw.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

METADATA_KEY = "client_address"


def _address(raw: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((raw or "").strip()))
    except ValueError:
        return None


def client_address(peer: str | None, forwarded_for: str | None = None) -> str | None:
    """The socket's peer, or, when the peer is this machine (the web app relaying /api/chat, or
    nginx in production mode), the address that proxy put last in X-Forwarded-For. A client
    elsewhere cannot choose its address this way: only a proxy on loopback is believed."""
    address = _address(peer)
    if address is not None and ipaddress.ip_address(address).is_loopback and forwarded_for:
        forwarded = _address(forwarded_for.split(",")[-1])
        if forwarded is not None:
            return forwarded
    return address


def metadata_for(address: str | None) -> dict[str, str]:
    return {METADATA_KEY: address} if address else {}


def from_metadata(metadata: Mapping[str, Any] | None) -> str | None:
    """The address a channel stored on a message, if any."""
    if not isinstance(metadata, Mapping):
        return None
    value = metadata.get(METADATA_KEY)
    return _address(value) if isinstance(value, str) else None


def from_events(events: list[dict[str, Any]]) -> str | None:
    """The address of the latest user message among a tracker's events (rasa_sdk's dict form)."""
    for event in reversed(events):
        if event.get("event") == "user":
            return from_metadata(event.get("metadata"))
    return None
