"""What an operator meets on PostgreSQL (issue 18): a server that is down when they ask
`doctor`, and a database another machine's newer sentimon has already migrated.

Found by acting like an operator: `doctor` on a stopped server printed a 45-line traceback from
the workers row (and no model row), and every command, `sentimon worker` included, ran on a
schema with migrations it did not know, `db status` and `db upgrade` saying all was well.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from sentimon.cli import cli

STUB_CLI = Path(__file__).resolve().parent / "stub_cli.py"
CONFIG = '[storage]\nurl = "${SENTIMON_DATABASE_URL}"\n'


def cli_process(config: Path, url: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """The real CLI in its own process (keyword classifier), as an operator runs it."""
    env = {**os.environ, "SENTIMON_DATABASE_URL": url}
    return subprocess.run([sys.executable, str(STUB_CLI), "--config", str(config), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def test_doctor_on_a_stopped_server_fails_its_rows_in_one_line_each(tmp_path, own_pg_server):
    url = own_pg_server.create_database("doctor")
    config = tmp_path / "sentimon.toml"
    config.write_text(CONFIG)
    config.chmod(0o600)
    assert cli_process(config, url, "db", "upgrade").returncode == 0
    own_pg_server.pause()
    began = time.monotonic()
    done = cli_process(config, url, "doctor", "--format", "json")
    took = time.monotonic() - began
    assert "Traceback" not in done.stderr, done.stderr
    checks = {c["name"]: c for c in json.loads(done.stdout)}
    assert done.returncode == 1
    assert checks["database"]["status"] == "fail" and "Connection refused" in checks["database"]["detail"]
    assert checks["workers"]["status"] == "fail", checks["workers"]
    assert checks["workers"]["detail"].startswith("cannot read the job queue: ")
    assert "\n" not in checks["workers"]["detail"]
    assert checks["model"]["status"] == "ok"  # the rows after it still ran
    assert took < 15, took


@pytest.fixture
def newer_schema(write_config, pg_url, monkeypatch) -> Path:
    """A config on a database upgraded by a later sentimon: one migration more than ours."""
    from sentimon.pgstore import migrate

    monkeypatch.setenv("SENTIMON_DATABASE_URL", pg_url)
    config = write_config(CONFIG)
    config.chmod(0o600)
    assert CliRunner().invoke(cli, ["--config", str(config), "db", "upgrade"]).exit_code == 0
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, 'from_a_later_version')",
                     [migrate.SCHEMA_VERSION + 1])
    return config


@pytest.mark.parametrize("args", [["db", "status"], ["db", "upgrade"], ["mentions"], ["doctor"]])
def test_a_schema_newer_than_the_code_is_refused_with_one_line(newer_schema, args):
    from sentimon.pgstore import migrate

    result = CliRunner().invoke(cli, ["--config", str(newer_schema), *args], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "newer than this sentimon's" in result.output
    assert f"{migrate.SCHEMA_VERSION + 1:04d}" in result.output and "upgrade sentimon" in result.output
    if args != ["doctor"]:
        assert len(result.output.strip().splitlines()) == 1, result.output


def test_a_worker_on_a_newer_schema_exits_non_zero_at_once(newer_schema, pg_url):
    """Instead of running jobs on a schema it does not know (it ran until stopped)."""
    try:
        done = cli_process(newer_schema, pg_url, "worker", timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("the worker ran on a schema newer than its code")
    assert done.returncode == 1
    assert "newer than this sentimon's" in done.stderr and "Traceback" not in done.stderr
