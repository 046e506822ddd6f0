"""What only the PostgreSQL store has: migrations under an advisory lock, a connection pool
shared by threads, errors that never show the password, and text without NUL characters.
The contract both stores keep is in test_store_contract.py."""

from __future__ import annotations

import threading
from typing import Any
from datetime import datetime, timezone

import pytest

psycopg = pytest.importorskip("psycopg", reason="PostgreSQL tests need psycopg (pip install -e '.[dev]')")

from sentimon.errors import StorageError  # noqa: E402
from sentimon.mention import Classification, Mention, TopicScore  # noqa: E402
from sentimon.pgstore import PgStore, migrate, redacted  # noqa: E402
from sentimon.store import MentionQuery  # noqa: E402

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def test_stores_starting_together_apply_each_migration_once(pg_url: str) -> None:
    stores: list[PgStore] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_store() -> None:
        start.wait()
        try:
            stores.append(PgStore(pg_url, max_connections=1))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        with psycopg.connect(pg_url) as conn:
            rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
        assert rows == [(m.version, m.name) for m in migrate.migrations()]
        assert stores[0].schema_version == stores[0].latest_schema_version == len(rows) >= 2
    finally:
        for store in stores:
            store.close()


def test_an_up_to_date_database_is_only_read(pg_url: str) -> None:
    PgStore(pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert migrate.upgrade(conn) == []


def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    url = "postgresql://cx:hunter2-secret@127.0.0.1:9/sentimon"  # port 9 (discard): nothing listens
    with pytest.raises(StorageError) as caught:
        PgStore(url, connect_timeout=0.3)
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("postgresql://127.0.0.1:9/sentimon: cannot connect")
    assert redacted(url) == "postgresql://127.0.0.1:9/sentimon"


def test_nul_characters_are_dropped_not_fatal(pg_url: str) -> None:
    store = PgStore(pg_url)
    try:
        mention = Mention(source="s", external_id="n\x00ul", text="bad\x00 parcel", title="t\x00",
                          created_at=NOW, extra={"k\x00": ["v\x00"], "reply_url": "u\x00"})
        result = store.save_batch("s", [mention], [Classification("negative", {"negative": 1.0})])
        assert result.new == 1
        assert store.known_ids("s", ["n\x00ul"]) == {"nul"}
        row = store.mentions(MentionQuery())[0]
        assert (row["external_id"], row["text"], row["title"], row["reply_url"]) == ("nul", "bad parcel", "t", "u")
    finally:
        store.close()


def test_one_store_serves_many_threads(pg_url: str) -> None:
    """The pool, not a connection per thread: 8 threads share one PgStore of 3 connections."""
    store = PgStore(pg_url, max_connections=3)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for k in range(10):
                m = Mention(source="s", external_id=f"{n}-{k}", text="ok", created_at=NOW)
                store.save_batch("s", [m], [Classification("neutral", {"neutral": 1.0})], cursor=f"{n}-{k}")
                store.mentions(MentionQuery(limit=5))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert store.counts()["mentions"] == 80
    finally:
        store.close()


def test_migrations_run_from_the_command_line(pg_url: str) -> None:
    """A DBA can apply the schema before any sentimon process starts, the URL in the
    environment (never on the command line, where ``ps`` shows it)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "SENTIMON_DATABASE_URL": pg_url}
    command = [sys.executable, "-m", "sentimon.pgstore.migrate"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    every = migrate.migrations()
    assert first.stdout.splitlines()[:-1] == [f"applied {m.version:04d}_{m.name}" for m in every]
    assert first.stdout.splitlines()[0] == "applied 0001_core"
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert again.stdout.startswith("postgresql://127.0.0.1:") and f"schema version {len(every)} of {len(every)}" in again.stdout
    env["SENTIMON_DATABASE_URL"] = "postgresql://cx:hunter2@127.0.0.1:9/x?connect_timeout=1"
    failed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1 and "hunter2" not in failed.stderr + failed.stdout


def test_missing_postgresql_skips_here_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from pg_server import _unavailable

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run under CI: no initdb"):
        _unavailable("no initdb")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="skipped: no initdb"):
        _unavailable("no initdb")


def test_truncate_empties_the_rollups_too(pg_url: str) -> None:
    """TRUNCATE (a person's cleanup) fires no row triggers; the roll-ups must still follow."""
    store = PgStore(pg_url)
    try:
        m = Mention(source="s", external_id="1", text="late", created_at=NOW)
        store.save_batch("s", [m], [Classification("negative", {"negative": 1.0}, (TopicScore("delivery", 0.9, "negative"),))])
        with psycopg.connect(pg_url) as conn:
            conn.execute("TRUNCATE mention_topics")
            assert conn.execute("SELECT COUNT(*) FROM daily_topics").fetchone() == (0,)
            assert conn.execute("SELECT SUM(n) FROM daily_sentiment").fetchone() == (1,)
            conn.execute("TRUNCATE mentions CASCADE")
            assert conn.execute("SELECT COUNT(*) FROM daily_sentiment").fetchone() == (0,)
        assert store.stats(MentionQuery(), "source") == []
    finally:
        store.close()


def test_the_next_write_after_a_server_restart_reconnects(pg_server: Any, pg_url: str) -> None:
    """A restart or failover drops every pooled connection; the pool tests one before handing
    it out, so the daemon's next batch is stored instead of failing once."""
    store = PgStore(pg_url, max_connections=2)
    try:
        first = Mention(source="s", external_id="1", text="before", created_at=NOW)
        store.save_batch("s", [first], [Classification("neutral", {"neutral": 1.0})], "c1")
        pg_server.restart()
        after = Mention(source="s", external_id="2", text="after", created_at=NOW)
        assert store.save_batch("s", [after], [Classification("neutral", {"neutral": 1.0})], "c2").new == 1
        assert (store.counts()["mentions"], store.get_cursor("s")) == (2, "c2")
    finally:
        store.close()
