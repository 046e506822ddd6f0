"""The push endpoint's test harness: a PushServer on 127.0.0.1, port 0, in the test's process,
with the keyword classifier; helpers to push JSON and to send raw bytes."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import tomllib
from pathlib import Path

import pytest
import requests
from stubs import KeywordClassifier

from sentimon.app import App
from sentimon.cli_serve import start_push_server
from sentimon.config import STORAGE_SETTINGS, Config, ServerSettings, load_config
from sentimon.settings import parse, validate

TOKEN = "test-push-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMITS = ("head_timeout", "max_pending")  # PushServer limits that are not [server] settings


def _models_present() -> bool:
    try:
        import alerts  # noqa: F401
        import models  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


def load(path: Path) -> Config:
    """``load_config`` once models/ and alerts/ exist (its import needs them); until then the
    same ``[storage]``/``[server]`` checks by hand, with ${ENV} expanded the same way."""
    if _models_present():
        return load_config(path)
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    server = {
        k: re.sub(r"\$\{(\w+)\}", lambda m: os.environ[m.group(1)], v) if isinstance(v, str) else v
        for k, v in raw.get("server", {}).items()
    }
    storage = validate(raw.get("storage", {}), STORAGE_SETTINGS, "storage")
    storage["path"] = path.parent / storage["path"]
    return Config(
        path=path,
        storage=storage,
        model={},
        topics=[],
        server=parse(ServerSettings, server, "server"),
        secrets={server.get("token", "")},
    )


@pytest.fixture
def start(tmp_path, monkeypatch, write_config):
    """start(**[server] settings, rate=, burst=, max_connections=, head_timeout=) -> (URL, app), stopped
    after the test; ``start.servers`` holds the PushServers."""
    monkeypatch.setenv("SENTIMON_PUSH_TOKEN", TOKEN)
    running = []

    def start_server(
        rate: float = 1000.0, burst: int = 1000, max_connections: int = 64, **settings
    ):
        limits = {k: settings.pop(k) for k in LIMITS if k in settings}
        table = {"token": "${SENTIMON_PUSH_TOKEN}", "port": 0, **settings}
        lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in table.items())
        app = App(
            tmp_path / "sentimon.toml",
            load(write_config(f'[storage]\npath = "s.db"\n[server]\n{lines}\n')),
        )
        app._classifier = KeywordClassifier()
        server = start_push_server(
            app, rate=rate, burst=burst, max_connections=max_connections, **limits
        )
        running.append((server, app))
        start_server.servers.append(server)
        return server.url, app

    start_server.servers = []
    yield start_server
    for server, app in running:
        server.shutdown()
        app.close()


def rows(
    app: App,
    sql: str = "SELECT external_id, title, text, sentiment, source FROM mentions ORDER BY id",
):
    with sqlite3.connect(app.config.db_path) as conn:
        return conn.execute(sql).fetchall()


def push(url: str, body, headers=AUTH, **kwargs) -> requests.Response:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(
        f"{url}/v1/mentions",
        data=data,
        timeout=10,
        headers={"Content-Type": "application/json", **headers},
        **kwargs,
    )


def raw_request(
    url: str, head: str, body: bytes = b"", wait: float = 10
) -> tuple[int, dict, bytes]:
    """Send bytes as they are (a lying Content-Length, chunks, Expect) and read the reply."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    header_text, _, payload = rest.partition(b"\r\n\r\n")
    headers = dict(
        line.split(": ", 1) for line in header_text.decode().split("\r\n") if ": " in line
    )
    return int(status_line.split()[1]), headers, payload


def settle(start, timeout: float = 30) -> None:
    """Wait until each started server's background worker has classified what was pushed: a
    push is answered ``202`` before the model reads it (sentimon/pending.py)."""
    for server in start.servers:
        assert server.worker.wait_idle(timeout), "pushed mentions still pending"


def counts(reply: requests.Response) -> dict:
    """A ``202`` reply's counts, without the per-item ids."""
    assert reply.status_code == 202, reply.text
    return {k: reply.json()[k] for k in ("accepted", "new")}
