"""SIGHUP to `sentimon run` or `sentimon serve` (real processes): a clean stop that says why.

Its default action killed the process with no line in the log and no clean stop; an operator
who sent it after editing the config (many daemons reload on it) found none running and no
reason given."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from polling import wait_until

STUB_CLI = Path(__file__).with_name("stub_cli.py")


@pytest.mark.parametrize("command, ready", [("run", "daemon started"), ("serve", "listening on")])
def test_sighup_stops_run_and_serve_cleanly_naming_why(tmp_path, write_config, monkeypatch, command, ready):
    monkeypatch.setenv("SIGHUP_TEST_TOKEN", "sighup-test-token-0123456789")
    (tmp_path / "in.jsonl").write_text('{"id": "a", "text": "late parcel"}\n', encoding="utf-8")
    config = write_config(
        '[[connectors]]\nname = "feed"\ntype = "files"\npath = "in.jsonl"\nevery = "1h"\n'
        'fields = { external_id = "id" }\n'
        '[server]\ntoken = "${SIGHUP_TEST_TOKEN}"\nport = 0\n'
    )
    log = tmp_path / "stderr.log"
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, str(STUB_CLI), "--config", str(config), command], stderr=err, text=True,
        )
        try:
            wait_until(lambda: ready in log.read_text() or process.poll() is not None, 60, what=ready)
            assert process.poll() is None, log.read_text()
            process.send_signal(signal.SIGHUP)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    text = log.read_text()
    assert process.returncode == 0, text
    assert "received SIGHUP: sentimon does not reload its config" in text, text
    assert text.rstrip().endswith("stopped"), text
