"""The app on PostgreSQL (issue 18): ``[storage] url`` from the environment, one pooled store
per process, `sentimon db upgrade/status`, fetch and query end to end on a real server, and
the commands still tied to SQLite stopping with one line that names them.

The server is the session's throwaway cluster (tests/pg_server.py); each test gets its own
schema. The URL carries a password (the test cluster trusts 127.0.0.1 and ignores it) so every
output can be checked for it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from sentimon.cli import cli

PASSWORD = "Hunter2-not-in-any-output"
ROWS = [
    {"id": "r1", "text": "The parcel arrived two weeks late.", "rating": 1, "created_at": "2026-11-20T10:00:00Z"},
    {"id": "r2", "text": "Love these boots, the price is fair.", "rating": 5, "created_at": "2026-11-20T11:00:00Z"},
    {"id": "r3", "text": "Ordered the trail runners in size 42.", "rating": 3, "created_at": "2026-11-20T12:00:00Z"},
]
CONFIG = """
[storage]
url = "${SENTIMON_DATABASE_URL}"

[[connectors]]
name = "shop"
type = "files"
path = "reviews.jsonl"
fields = { external_id = "id" }
"""
STUB_CLI = Path(__file__).resolve().parent / "stub_cli.py"
_AT = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


def with_password(url: str) -> str:
    return url.replace("postgresql://sentimon@", f"postgresql://sentimon:{PASSWORD}@", 1)


@pytest.fixture
def pg_project(tmp_path, write_config, pg_url, monkeypatch, keyword_model):
    """A config whose store is a fresh PostgreSQL schema, and a file connector with 3 rows."""
    (tmp_path / "reviews.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    url = with_password(pg_url)
    monkeypatch.setenv("SENTIMON_DATABASE_URL", url)
    config = write_config(CONFIG)
    config.chmod(0o600)  # it references a secret: no warning about its mode in the outputs
    return config


def invoke(config: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def run_process(config: Path, *args: str, env_url: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in its own process (stub classifier), so its log lines are captured too."""
    import os

    env = {**os.environ, "SENTIMON_DATABASE_URL": env_url}
    return subprocess.run([sys.executable, str(STUB_CLI), "--config", str(config), "-v", *args],
                          capture_output=True, text=True, timeout=60, env=env)


def test_fetch_stores_in_postgresql_and_mentions_lists_them(pg_project, tmp_path, pg_url):
    fetched = run_process(pg_project, "fetch", env_url=with_password(pg_url))
    assert fetched.returncode == 0, fetched.stderr
    assert "shop: fetched 3, new 3" in fetched.stdout
    again = run_process(pg_project, "fetch", env_url=with_password(pg_url))
    assert "shop: fetched 0, new 0" in again.stdout  # the cursor was stored with the batch
    for output in (fetched.stdout + fetched.stderr, again.stdout + again.stderr):
        assert PASSWORD not in output
    assert "postgresql://127.0.0.1:" in fetched.stderr  # the log names the server, not the user
    assert not (tmp_path / "sentimon.db").exists()  # nothing went to SQLite

    import psycopg

    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT external_id, sentiment FROM mentions ORDER BY external_id").fetchall() == [
            ("r1", "negative"), ("r2", "positive"), ("r3", "positive"),
        ]
    listed = invoke(pg_project, "mentions", "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert [m["external_id"] for m in json.loads(listed.output)] == ["r3", "r2", "r1"]
    table = invoke(pg_project, "mentions", "--source", "shop", "--search", "parcel", "--limit", "1")
    assert "parcel arrived" in table.output and "1 mentions" in table.output
    typo = invoke(pg_project, "mentions", "--source", "shpo")
    assert typo.exit_code == 2 and "known: shop" in typo.output
    stats = json.loads(invoke(pg_project, "stats", "--since", "2026-11-01", "--format", "json").output)
    assert (stats["total"], stats["negative"]) == (3, 1)
    assert invoke(pg_project, "connectors", "reset", "shop").exit_code == 0
    assert "shop: fetched 3, new 0" in invoke(pg_project, "fetch").output  # read again, stored once


def test_label_and_export_work_on_postgresql(pg_project, tmp_path, pg_url):
    """A person's correction is logged and listed, and the export holds it, on PostgreSQL."""
    assert run_process(pg_project, "fetch", env_url=with_password(pg_url)).returncode == 0
    listed = json.loads(invoke(pg_project, "mentions", "--format", "json").output)
    r3 = next(m["id"] for m in listed if m["external_id"] == "r3")
    labelled = invoke(pg_project, "label", str(r3), "--sentiment", "negative", "--topic", "quality",
                      "--by", "ana")
    assert labelled.exit_code == 0, labelled.output
    negative = json.loads(invoke(pg_project, "mentions", "--sentiment", "negative", "--format", "json").output)
    assert sorted(m["external_id"] for m in negative) == ["r1", "r3"]
    missing = invoke(pg_project, "label", "999999", "--sentiment", "negative")
    assert missing.exit_code != 0 and "no mention with id 999999" in missing.output
    out = tmp_path / "all.jsonl"
    exported = invoke(pg_project, "export", "--format", "jsonl", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    rows = {row["external_id"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert sorted(rows) == ["r1", "r2", "r3"]
    assert (rows["r3"]["sentiment"], rows["r3"]["corrected_by"]) == ("negative", "ana")
    assert [t["name"] for t in rows["r3"]["topics"]] == ["quality"]
    assert PASSWORD not in labelled.output + exported.output


def test_datasette_says_it_reads_sqlite_files_only(pg_project, tmp_path, monkeypatch):
    """The one command left on the SQLite file: one line saying why and what to use, exit 1,
    no password, no SQLite file created."""
    monkeypatch.chdir(tmp_path)
    result = invoke(pg_project, "datasette")
    assert result.exit_code == 1, result.output
    assert "sentimon datasette works on the SQLite file only" in result.output
    assert "Datasette reads SQLite files, not PostgreSQL" in result.output and "sentimon export" in result.output
    assert PASSWORD not in result.output
    assert not (tmp_path / "sentimon.db").exists()


def test_run_on_postgresql_fetches_once_or_becomes_a_worker(pg_project, tmp_path, pg_url):
    """`run --once` runs every connector and the alert jobs once; `run` is one worker serving
    every queue (it used to refuse PostgreSQL and point to `sentimon worker`)."""
    import os
    import signal

    once = run_process(pg_project, "run", "--once", env_url=with_password(pg_url))
    assert once.returncode == 0, once.stderr
    assert "shop: fetched 3, new 3" in once.stdout
    assert not (tmp_path / "sentimon.db").exists() and not list(tmp_path.glob("*.lock"))
    env = {**os.environ, "SENTIMON_DATABASE_URL": with_password(pg_url)}
    daemon = subprocess.Popen([sys.executable, str(STUB_CLI), "--config", str(pg_project), "-v", "run"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        from polling import wait_until

        import psycopg

        def registered() -> bool:  # the worker's row in Procrastinate's table
            with psycopg.connect(pg_url) as conn:
                return conn.execute("SELECT to_regclass('procrastinate_workers') IS NOT NULL AND "
                                    "EXISTS (SELECT 1 FROM procrastinate_workers)").fetchone()[0]

        wait_until(registered, timeout=60, what="the worker's heartbeat row",
                   ignoring=(psycopg.errors.UndefinedTable,))
    finally:
        daemon.send_signal(signal.SIGTERM)
        output = daemon.communicate(timeout=30)[0]
    assert daemon.returncode == 0, output
    assert PASSWORD not in output


def test_db_upgrade_applies_once_and_status_tells(pg_project):
    from sentimon.pgstore import migrate

    before = invoke(pg_project, "db", "status")
    assert before.exit_code == 1 and f"schema version 0 of {migrate.SCHEMA_VERSION}" in before.output
    assert "pending 0001_" in before.output
    first = invoke(pg_project, "db", "upgrade")
    assert first.exit_code == 0, first.output
    assert [line for line in first.output.splitlines() if line.startswith("applied")] == [
        f"applied {m.version:04d}_{m.name}" for m in migrate.migrations()
    ]
    second = invoke(pg_project, "db", "upgrade")
    assert second.exit_code == 0 and "already up to date" in second.output and "applied" not in second.output
    after = invoke(pg_project, "db", "status")
    assert after.exit_code == 0 and "pending" not in after.output
    for output in (before.output, first.output, second.output, after.output):
        assert PASSWORD not in output and "postgresql://127.0.0.1:" in output


def test_db_upgrade_help_says_where_the_url_comes_from():
    result = CliRunner().invoke(cli, ["db", "upgrade", "--help"])
    assert result.exit_code == 0 and "SENTIMON_DATABASE_URL" in result.output and "Safe to repeat" in result.output


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("url, says", [
    (f"postgresql://sentimon:{PASSWORD}@127.0.0.1:{_closed_port()}/sentimon", "Connection refused"),
    (f"postgresql://sentimon:{PASSWORD}@127.0.0.1:notaport/sentimon", "cannot connect"),
    (f"postgresql://sentimon:{PASSWORD}@127.0.0.1:5432/sentimon?sslmode=bogus-{PASSWORD}", "cannot connect"),
])
def test_a_bad_or_unreachable_server_is_one_line_without_the_password(write_config, monkeypatch, url, says):
    monkeypatch.setenv("SENTIMON_DATABASE_URL", url)
    config = write_config(CONFIG)
    for args in (["db", "upgrade"], ["db", "status"], ["mentions"]):
        result = invoke(config, *args)
        assert result.exit_code == 1, result.output
        assert says in result.output and PASSWORD not in result.output
        assert len(result.output.strip().splitlines()) <= 2  # "Error: ..." and libpq's hint at most


def test_doctor_names_the_server_never_the_password(pg_project, pg_url):
    done = run_process(pg_project, "doctor", "--format", "json", env_url=with_password(pg_url))
    assert PASSWORD not in done.stdout + done.stderr
    checks = {c["name"]: c for c in json.loads(done.stdout)}
    assert checks["database"]["status"] == "ok", checks["database"]
    assert checks["database"]["detail"].startswith("postgresql://127.0.0.1:")


def test_a_url_written_in_the_file_is_refused_without_quoting_it(write_config):
    config = write_config(f'[storage]\nurl = "postgresql://sentimon:{PASSWORD}@db/sentimon"\n')
    result = invoke(config, "mentions")
    assert result.exit_code == 2
    assert "storage.url" in result.output and "SENTIMON_DATABASE_URL" in result.output
    assert PASSWORD not in result.output


def test_a_url_of_another_database_is_refused_without_quoting_it(write_config, monkeypatch):
    monkeypatch.setenv("SENTIMON_DATABASE_URL", f"mysql://sentimon:{PASSWORD}@db/sentimon")
    result = invoke(write_config(CONFIG), "mentions")
    assert result.exit_code == 2 and "expected a postgresql://" in result.output
    assert PASSWORD not in result.output


def test_without_the_postgres_extra_the_config_says_what_to_install(write_config, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg_pool", None)  # as if not installed
    monkeypatch.setenv("SENTIMON_DATABASE_URL", f"postgresql://sentimon:{PASSWORD}@db/sentimon")
    result = invoke(write_config(CONFIG), "mentions")
    assert result.exit_code == 2 and "pip install 'sentimon[postgres]'" in result.output
    assert PASSWORD not in result.output


def test_the_app_shares_one_pool_and_closes_it(pg_project, tmp_path):
    from sentimon.app import App
    from sentimon.errors import StorageError
    from sentimon.pgstore import PgStore

    app = App(pg_project)
    assert PASSWORD not in repr(app.config.storage)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(app.store())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert isinstance(seen[0], PgStore) and all(s is seen[0] for s in seen) and app.open_store() is seen[0]
    with pytest.raises(StorageError, match="sentimon datasette works on the SQLite file only"):
        app.require_sqlite("sentimon datasette", "")
    app.close()
    assert seen[0]._pool.closed
    assert not (tmp_path / "sentimon.db").exists()


def test_db_commands_on_sqlite_name_the_file(write_config, tmp_path):
    config = write_config("")
    missing = invoke(config, "db", "status")
    assert missing.exit_code == 1 and "sentimon.db" in missing.output  # never created by a look
    assert not (tmp_path / "sentimon.db").exists()
    from sentimon.store import Store

    Store(tmp_path / "sentimon.db").close()
    status = invoke(config, "db", "status")
    assert status.exit_code == 0 and f"{tmp_path / 'sentimon.db'}: schema version" in status.output
    upgrade = invoke(config, "db", "upgrade")
    assert upgrade.exit_code == 0 and "schema version" in upgrade.output


def test_doctor_workers_row_shows_backoffs_and_what_waits_for_the_model(pg_project, pg_url):
    """A split deployment whose classify box is down fills up with pending mentions: the
    workers row says how many, and how many connectors or credentials are backing off."""
    from sentimon.app import App
    from sentimon.doctor_services import check_workers
    from sentimon.mention import Mention
    from sentimon.worker import apply_schema

    app = App(pg_project)
    try:
        apply_schema(app.config.storage.url)
        app.store().save_pending({"shop": [Mention("shop", f"p{i}", "parcel late", _AT) for i in range(2)]})
        [row] = check_workers(app)
    finally:
        app.close()
    text = str(row)
    assert "0 alive" in text and "0 connectors or credentials backing off" in text
    assert "2 mentions waiting to be classified" in text and PASSWORD not in text
