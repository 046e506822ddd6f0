"""A database deleted or replaced under a running daemon is noticed before anything is stored
into it: pushes get 503, /healthz fails, the log says why, and no command quietly creates an
empty database where the configured one vanished (issue 14, item 3)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from polling import wait_until

from sentimon.cli import cli

STUB_CLI = Path(__file__).with_name("stub_cli.py")
TOKEN = "lost-db-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]




def push(url: str, text: str) -> int:
    reply = requests.post(f"{url}/v1/mentions", json={"text": text}, headers=AUTH, timeout=10)
    return reply.status_code


@pytest.mark.slow
@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_daemon_stops_accepting_when_its_database_file_goes(tmp_path, write_config, how):
    port = free_port()
    config = write_config(
        f'[storage]\npath = "s.db"\n[server]\nenabled = true\nport = {port}\n'
        'token = "${SENTIMON_PUSH_TOKEN}"\n[daemon]\ncheck_every = "1s"\n'
    )
    db, url, log = tmp_path / "s.db", f"http://127.0.0.1:{port}", tmp_path / "daemon.log"
    env = {**os.environ, "SENTIMON_PUSH_TOKEN": TOKEN}
    daemon = subprocess.Popen(
        [sys.executable, str(STUB_CLI), "--config", str(config), "run"],
        env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"),
    )
    try:
        wait_until(lambda: requests.get(f"{url}/healthz", timeout=2).status_code == 200, 60,
                   what="the push endpoint answering",
                   ignoring=(requests.ConnectionError, requests.Timeout))
        assert [push(url, f"before {i}") for i in range(3)] == [202, 202, 202]  # stored (issue 19)
        if how == "deleted":
            db.unlink()
        else:  # a restored backup or a copy: another file at the same path
            shutil.copy(db, tmp_path / "copy.db")
            os.replace(tmp_path / "copy.db", db)
        assert push(url, "after the file went") == 503
        health = requests.get(f"{url}/healthz", timeout=5)
        assert health.status_code == 503 and health.json()["status"] == "failing"
        assert str(tmp_path) not in health.text  # no file paths for unauthenticated callers
        if how == "deleted":
            query = subprocess.run(
                [sys.executable, str(STUB_CLI), "--config", str(config), "mentions"],
                env=env, capture_output=True, text=True, timeout=60,
            )
            assert query.returncode == 1 and "does not exist" in query.stderr
            assert "Traceback" not in query.stderr and not db.exists()
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    text = log.read_text()
    assert daemon.returncode == 0, text
    assert f"the database file was {how if how == 'deleted' else 'replaced'}" in text
    assert "push endpoint not accepting" in text and "Traceback" not in text


@pytest.mark.parametrize("command", [["mentions"], ["stats"], ["export"], ["alerts", "list"]])
def test_query_commands_refuse_a_missing_database_instead_of_creating_one(
    tmp_path, write_config, command
):
    config = write_config('[storage]\npath = "data/s.db"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), *command])
    assert result.exit_code == 1, result.output
    assert f"database file {tmp_path / 'data' / 's.db'} does not exist" in result.output
    assert "sentimon init" in result.output and not (tmp_path / "data" / "s.db").exists()


def test_fetch_still_creates_the_database_the_first_time(tmp_path, write_config):
    (tmp_path / "in.jsonl").write_text("")
    config = write_config(
        '[storage]\npath = "s.db"\n[[connectors]]\nname = "f"\ntype = "files"\npath = "in.jsonl"\n'
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "fetch"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s.db").exists()
