"""`sentimon migrate --to`: a SQLite deployment copied into a real PostgreSQL (issue 18).

Runs against the session's throwaway cluster (tests/pg_server.py); skips without PostgreSQL's
binaries, fails under CI=true.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from cli_support import run

from sentimon.errors import StorageError
from sentimon.mention import Classification, Mention, TopicScore
from sentimon.pgstore import PgStore
from sentimon.pgstore.copy import copy_to_postgres
from sentimon.store import MentionQuery, Store

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)
WORDS = ("refund never arrived", "parcel was late", "love the new app", "not working at all")
SENTIMENTS = ("negative", "neutral", "positive")


def mention(i: int, source: str = "reviews") -> Mention:
    return Mention(source=source, external_id=f"e{i:05d}", text=f"{WORDS[i % 4]} #{i}",
                   created_at=T0 + timedelta(hours=5 * i), title="Order" if i % 3 == 0 else None,
                   rating=1 + i % 5, brand="" if i % 4 else "rival",
                   extra={"reply_url": f"https://example.com/r/{i}"} if i % 2 else {})


def batch(ids: range, source: str = "reviews") -> tuple[list[Mention], list[Classification]]:
    """Mentions with a sentiment each and zero to three topics."""
    results = [Classification(
        sentiment=SENTIMENTS[i % 3], scores={s: (0.8 if s == SENTIMENTS[i % 3] else 0.1) for s in SENTIMENTS},
        topics=tuple(TopicScore(t, 0.6, SENTIMENTS[(i + k) % 3])
                     for k, t in enumerate(("delivery", "refund", "app")) if (i >> k) & 1),
        model="stub") for i in ids]
    return [mention(i, source) for i in ids], results


ALERT_ROWS = [
    "INSERT INTO alert_events (id, rule, scope, status, opened_at, updated_at, metric, observed,"
    " details) VALUES (7, 'spike', 'topic=delivery', 'open', '2026-11-03T10:00:00Z',"
    " '2026-11-03T11:00:00Z', 'negative_share', 0.8, '{\"k\": 20}')",
    "INSERT INTO deliveries (key, event_id, notifier, kind, payload, next_attempt_at, created_at)"
    " VALUES ('7:slack:opened', 7, 'slack', 'opened', '{}', '2026-11-03T10:00:00Z',"
    " '2026-11-03T10:00:00Z')",
    "INSERT INTO alert_mutes (rule, topic, created_at, until, created_by) VALUES ('spike', "
    "'delivery', '2026-11-03T10:00:00Z', '2026-11-03T14:00:00Z', 'ann')",
    "INSERT INTO corrections (mention_id, author, created_at, sentiment, topics, before_sentiment,"
    " before_topics) VALUES (3, 'ann', '2026-11-04T10:00:00Z', 'negative', '[]', 'positive', '[]')",
]


def deployment(path: Path) -> Store:
    """A SQLite database like a running team's: classified and pending mentions, a NUL in a
    text, runs, cursors, an alert with its delivery, a mute and a correction."""
    store = Store(path)
    store.save_batch("reviews", *batch(range(0, 45)), "cursor-r", now=T0)
    store.save_batch("forum", *batch(range(0, 12), "forum"), "cursor-f", now=T0)
    store.save_batch("push", [mention(i, "push") for i in range(200, 205)], None, now=T0)
    nul = replace(mention(300, "push"), text="bad\x00byte late")
    store.save_batch("push", [nul], None, now=T0)
    with sqlite3.connect(path) as conn:
        for sql in ALERT_ROWS:
            conn.execute(sql)
        conn.execute("INSERT INTO runs (source, started_at, fetched, new) "
                     "VALUES ('reviews', '2026-11-02T09:00:00Z', 45, 45)")
    return store


def test_a_copy_answers_like_the_original(tmp_path: Path, pg_url: str) -> None:
    sqlite_store = deployment(tmp_path / "s.db")
    seen: list[int] = []
    report = copy_to_postgres(tmp_path / "s.db", pg_url, batch=10, progress=seen.append)
    assert report.copied["mentions"] == 63 and sum(seen) == 63 and max(seen) == 10
    assert report.totals == {"mentions": 63, "mention_topics": report.totals["mention_topics"],
                             "runs": 1, "alert_events": 1, "deliveries": 1, "alert_mutes": 1,
                             "corrections": 1, "cursors": 3}
    assert report.totals["mention_topics"] > 40 and report.rollups_checked > 20

    pg_store = PgStore(pg_url, max_connections=2)
    try:
        for query in (MentionQuery(limit=500), MentionQuery(pending=True, limit=500),
                      MentionQuery(search="parcel late", limit=500),
                      MentionQuery(topics=["refund"], sentiments=["negative"], limit=500)):
            ours = [{**r, "text": r["text"].replace("\x00", "")} for r in sqlite_store.mentions(query)]
            assert pg_store.mentions(query) == ours, query  # ids kept, too
        now = T0 + timedelta(days=30)
        for by in ("day", "source", "topic", "brand"):
            assert pg_store.stats(MentionQuery(), by, now=now) == sqlite_store.stats(MentionQuery(), by, now=now)
        assert pg_store.get_cursor("reviews") == "cursor-r"
        # New rows are numbered after the copied ones, not from 1.
        pg_store.save_batch("push", [mention(400, "push")], None, now=T0)
        with psycopg.connect(pg_url) as conn:
            assert conn.execute("SELECT MAX(id) FROM mentions").fetchone()[0] == 64
            assert conn.execute("SELECT details FROM alert_events WHERE id = 7").fetchone() == ('{"k": 20}',)
    finally:
        pg_store.close()
        sqlite_store.close()


def test_an_interrupted_copy_resumes_without_doubles(tmp_path: Path, pg_url: str) -> None:
    deployment(tmp_path / "s.db").close()

    def stop_after_two(n: int, calls: list[int] = []) -> None:  # noqa: B006 - a counter
        calls.append(n)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        copy_to_postgres(tmp_path / "s.db", pg_url, batch=10, progress=stop_after_two)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM mentions").fetchone() == (20,)
    again = copy_to_postgres(tmp_path / "s.db", pg_url, batch=10)
    assert again.copied["mentions"] == 43 and again.totals["mentions"] == 63
    assert copy_to_postgres(tmp_path / "s.db", pg_url).copied["mentions"] == 0  # nothing left


def test_a_database_holding_other_mentions_is_refused(tmp_path: Path, pg_url: str) -> None:
    deployment(tmp_path / "s.db").close()
    other = PgStore(pg_url, max_connections=1)
    other.save_batch("elsewhere", *batch(range(0, 3), "elsewhere"), None, now=T0)
    other.close()
    with pytest.raises(StorageError, match="already holds other mentions"):
        copy_to_postgres(tmp_path / "s.db", pg_url)


def test_the_command_copies_and_keeps_the_password_off_the_command_line(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment(tmp_path / "s.db").close()
    config = tmp_path / "sentimon.toml"
    config.write_text('[storage]\npath = "s.db"\n')
    with_password = pg_url.replace("sentimon@", "sentimon:hunter2-secret@")
    refused = run("migrate", "--to", with_password, config=config)
    assert refused.exit_code == 2 and "PGPASSWORD" in refused.output
    assert "hunter2-secret" not in refused.output

    monkeypatch.setenv("SENTIMON_DATABASE_URL", with_password)  # from the environment: fine
    done = run("migrate", config=config)
    assert done.exit_code == 0, done.output
    assert "copied 63 mentions" in done.output and "hunter2-secret" not in done.output
    assert "roll-up" in done.output
