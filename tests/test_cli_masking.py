"""The CLI's one-line ``Error:`` goes through the same secret masking as the log and the
outbox: a notifier whose remote echoes the request must not print its secrets (issue 14,
item 7)."""

from __future__ import annotations

from urllib.parse import urlencode

from click.testing import CliRunner
from localserver import Reply

from sentimon.cli import cli

PATH_SECRET = "/hooks/T0001/B0002/path-secret-0123456789"
QUERY_TOKEN = "query-token-abcdef0123456789"
API_KEY = "api-key-9876543210fedcba"


def echo(request) -> Reply:
    """A broken receiver that quotes everything it got back in its 500."""
    query = urlencode(request.query)
    return Reply(500, f"failed {request.path}?{query} with key {request.header('X-Api-Key')}")


def test_alerts_test_masks_secrets_the_remote_echoes(local_server, write_config, monkeypatch):
    local_server.add(PATH_SECRET, echo, method="POST")
    monkeypatch.setenv("HOOK_URL", f"{local_server.url}{PATH_SECRET}?token={QUERY_TOKEN}")
    monkeypatch.setenv("HOOK_KEY", API_KEY)
    config = write_config(
        '[notifiers.hook]\ntype = "webhook"\nurl = "${HOOK_URL}"\n'
        'headers = { "X-Api-Key" = "${HOOK_KEY}" }\n'
    )
    config.chmod(0o600)
    result = CliRunner().invoke(cli, ["--config", str(config), "alerts", "test", "hook"])
    assert result.exit_code == 1 and "Error: test via hook failed" in result.output
    assert "HTTP 500" in result.output and "***" in result.output
    for secret in (PATH_SECRET, QUERY_TOKEN, API_KEY, "path-secret-0123456789"):
        assert secret not in result.output, result.output
