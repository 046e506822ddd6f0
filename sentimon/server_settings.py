"""The ``[server]`` table: the push endpoint (``sentimon serve``, or inside ``sentimon run``).

Declared once, as a frozen dataclass, so the server, the daemon and ``doctor`` read typed
attributes with their defaults already converted, and the docs' rows come from the same lines.
The token is a secret: it is left out of the object's repr, so logging the settings cannot
show it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sentimon.settings import Settings, setting, settings_of


@dataclass(frozen=True, kw_only=True)
class ServerSettings(Settings):
    """``[server]``, typed."""

    enabled: bool = setting("bool", False, help="Start the push endpoint inside `sentimon run`.")
    host: str = setting(
        "str", "127.0.0.1", help="Address to bind; keep 127.0.0.1 behind a reverse proxy.",
    )
    port: int = setting("int", 8765, help="TCP port of POST /v1/mentions.")
    token: str = setting(
        "str", "", secret=True,
        help='Bearer token, from the environment: "${SENTIMON_PUSH_TOKEN}".',
    )
    source: str = setting("str", "webhook", help="Source name stored with pushed mentions.")
    max_body_bytes: int = setting("int", 5_000_000, help="Largest request body accepted.")
    max_batch: int = setting("int", 1000, help="Most mentions accepted in one request.")
    metrics: bool = setting("bool", False, help="Also serve Prometheus metrics at GET /metrics.")
    channels: list[str] = setting(
        "list[str]", [],
        help='Channels a pushed item may name (stored as source "webhook/NAME"); '
             "empty allows any name.",
    )


SERVER_SETTINGS = settings_of(ServerSettings)
