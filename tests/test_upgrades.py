"""A database made by every earlier schema version opens under this one without loss.

Each fixture is built by applying the migrations up to that version only (what that release
created), then filled the way that release would have; opening it with ``Store`` migrates it.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest
from sqlite_utils import Database

from sentimon.schema import migrations
from sentimon.store import MentionQuery, Store

NAMES = [m.name for m in migrations._migrations]


@pytest.mark.parametrize("version", range(1, len(NAMES)))
def test_old_database_migrates_without_loss(tmp_path, version):
    path = tmp_path / f"v{version}.db"
    old = Database(sqlite3.connect(path))
    migrations.apply(old, stop_before=NAMES[version])  # the schema release `version` shipped
    assert [m.name for m in migrations.applied(old)] == NAMES[:version]
    old.execute(
        "INSERT INTO mentions (source, external_id, kind, text, created_at, fetched_at, sentiment, "
        "score_negative, score_neutral, score_positive, model) VALUES "
        "('shop', 'a', 'review', 'late parcel again', '2026-11-20T10:00:00Z', '2026-11-20T10:01:00Z', "
        "'negative', 0.9, 0.05, 0.05, 'v0')"
    )
    old.execute("INSERT INTO mention_topics (mention_id, topic, score, sentiment) VALUES (1, 'delivery', 0.8, 'negative')")
    old.execute("INSERT INTO cursors (source, cursor, updated_at) VALUES ('shop', '{\"x\": 1}', '2026-11-20T10:01:00Z')")
    old.conn.commit()
    old.close()

    store = Store(path)
    assert store.schema_version == store.latest_schema_version == len(NAMES)
    (row,) = store.mentions(MentionQuery(search="parcel"))
    assert row["external_id"] == "a" and row["sentiment"] == "negative"
    assert row["topics"] == [{"name": "delivery", "score": 0.8, "sentiment": "negative"}]
    assert store.get_cursor("shop") == '{"x": 1}'
    # The daily roll-ups (0004) were filled from the rows already there, so `stats` over whole
    # days (served from them) counts the old mention.
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    (by_topic,) = store.stats(MentionQuery(), "topic", now=now)
    assert (by_topic["topic"], by_topic["total"], by_topic["negative"]) == ("delivery", 1, 1)
    assert [(d["day"], d["total"]) for d in store.stats(MentionQuery(), "day", now=now)] == [("2026-11-20", 1)]


def test_a_database_from_a_later_sentimon_is_refused_untouched(tmp_path, write_config):
    """A later release migrated the file, then this one was installed again (a rollback after
    a bad upgrade): opening it silently ran on a schema this code does not know. Now every
    command says so in one line and leaves the file as it was."""
    from click.testing import CliRunner

    from sentimon.cli import cli
    from sentimon.errors import StorageError

    path = tmp_path / "later.db"
    Store(path).close()
    later = Database(sqlite3.connect(path))
    later["_sqlite_migrations"].insert({"migration_set": "sentimon", "name": "0099_from_a_later_sentimon",
                                        "applied_at": "2027-01-01T00:00:00"})
    later.execute("CREATE TABLE later_only (x TEXT)")
    later.conn.commit()
    later.close()
    before = path.read_bytes()

    with pytest.raises(StorageError, match="schema is newer than this sentimon's .*0099_from_a_later_sentimon"):
        Store(path)
    config = write_config(f'[storage]\npath = "{path}"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "mentions"])
    assert result.exit_code == 1
    assert "0099_from_a_later_sentimon" in result.output and "upgrade sentimon" in result.output
    assert "Traceback" not in result.output
    assert path.read_bytes() == before
