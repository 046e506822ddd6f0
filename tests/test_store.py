"""The store: idempotent saves, cursor and batch in one transaction, filters, parameterized SQL."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from sentimon.errors import StorageError
from sentimon.mention import Classification, Mention, TopicScore
from sentimon.store import MentionQuery, Store, inserted_id

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


def mention(i: int, text: str = "parcel arrived late", hours_ago: float = 1, **kw) -> Mention:
    return Mention("shop", f"id-{i}", text, NOW - timedelta(hours=hours_ago), **kw)


def verdict(sentiment: str = "negative", topics=(("delivery", "negative"),)) -> Classification:
    scores = {"negative": 0.1, "neutral": 0.1, "positive": 0.1, sentiment: 0.8}
    return Classification(sentiment, scores, tuple(TopicScore(n, 0.9, s) for n, s in topics), "test@1")


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "s.db")
    yield s
    s.close()


def test_same_mention_twice_is_one_row(store):
    first = store.save_batch("shop", [mention(1)], [verdict()], "c1")
    again = store.save_batch("shop", [mention(1)], [verdict()], "c2")
    assert (first.new, again.new, again.duplicates) == (1, 0, 1)
    assert store.counts()["mentions"] == 1
    assert store.get_cursor("shop") == "c2"


def test_same_external_id_in_another_source_is_another_mention(store):
    store.save_batch("shop", [mention(1)], [verdict()])
    other = Mention("reddit", "id-1", "hello", NOW)
    assert store.save_batch("reddit", [other], [verdict("neutral", ())]).new == 1


def test_failed_batch_leaves_cursor_and_rows_untouched(store):
    store.save_batch("shop", [mention(1)], [verdict()], "c1")
    broken = Classification("negative", {"negative": "not a number"}, (), "x")  # float() fails mid-batch
    with pytest.raises(ValueError):
        store.save_batch("shop", [mention(2), mention(3)], [verdict(), broken], "c2")
    assert store.get_cursor("shop") == "c1"
    assert store.known_ids("shop", ["id-2", "id-3"]) == set()


def test_filters_and_topics(store):
    ms = [
        mention(1, "late parcel again", hours_ago=1, rating=1),
        mention(2, "lovely soft leather", hours_ago=2, rating=5),
        mention(3, "price is fine", hours_ago=50, rating=3),
    ]
    cs = [verdict(), verdict("positive", (("quality", "positive"),)), verdict("neutral", (("price", "neutral"),))]
    store.save_batch("shop", ms, cs)
    newest = store.mentions(MentionQuery(limit=10))
    assert [m["external_id"] for m in newest] == ["id-1", "id-2", "id-3"]
    assert newest[0]["topics"] == [{"name": "delivery", "score": 0.9, "sentiment": "negative"}]
    assert newest[0]["scores"]["negative"] == pytest.approx(0.8)
    q = lambda **kw: [m["external_id"] for m in store.mentions(MentionQuery(limit=10, **kw))]  # noqa: E731
    assert q(sentiments=["positive"]) == ["id-2"]
    assert q(topics=["price"]) == ["id-3"]
    assert q(since=NOW - timedelta(hours=24)) == ["id-1", "id-2"]
    assert q(min_rating=3) == ["id-2", "id-3"]
    assert q(max_rating=1) == ["id-1"]
    assert q(search="leather") == ["id-2"]
    assert q(sources=["nope"]) == []


@pytest.mark.parametrize(
    "evil", ["x' OR '1'='1", '"; DROP TABLE mentions; --', "leather OR 1", "NEAR(a b)", "*", '"', "a:b"]
)
def test_hostile_filter_values_are_data_not_sql(store, evil):
    store.save_batch("shop", [mention(1, "soft leather")], [verdict()])
    for query in (MentionQuery(search=evil), MentionQuery(sources=[evil]), MentionQuery(topics=[evil])):
        assert store.mentions(query) == []
    assert store.counts()["mentions"] == 1


def test_stats_by_day_and_topic(store):
    store.save_batch(
        "shop", [mention(1, hours_ago=1), mention(2, hours_ago=2), mention(3, hours_ago=30)],
        [verdict(), verdict("positive", (("quality", "positive"),)), verdict()],
    )
    by_day = store.stats(MentionQuery(), "day")
    assert [g["total"] for g in by_day] == [1, 2]
    assert by_day[-1]["negative_share"] == 0.5
    by_topic = {g["topic"]: g for g in store.stats(MentionQuery(), "topic")}
    assert by_topic["delivery"]["negative"] == 2 and by_topic["quality"]["positive"] == 1


def test_schema_is_recorded_and_reopens(tmp_path):
    path = tmp_path / "s.db"
    Store(path).close()
    again = Store(path)
    assert again.schema_version == again.latest_schema_version >= 1
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="junk.db"):
        Store(path)


def test_retention_deletes_old_mentions_with_their_topics_and_index(store):
    ms = [mention(i, f"old leather {i}", hours_ago=24 * 40) for i in range(5)] + [mention(9, "new leather", hours_ago=1)]
    store.save_batch("shop", ms, [verdict() for _ in ms])
    assert store.delete_older_than(NOW - timedelta(days=30), batch=2) == 5
    assert [m["external_id"] for m in store.mentions(MentionQuery(search="leather"))] == ["id-9"]
    assert store.db.execute("SELECT COUNT(*) FROM mention_topics").fetchone()[0] == 1
    store.optimize()


def test_export_streams_every_row_in_both_formats(store, monkeypatch):
    import csv
    import io
    import json

    from sentimon import export

    ms = [mention(i, f"text {i}", hours_ago=i) for i in range(7)]
    store.save_batch("shop", ms, [verdict() for _ in ms])
    monkeypatch.setattr(export, "_CHUNK", 3)  # force several pages
    buffer = io.StringIO()
    assert export.write_export(store, buffer, "jsonl") == 7
    rows = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert [r["external_id"] for r in rows] == [f"id-{i}" for i in range(7)]
    assert rows[0]["topics"] == [{"name": "delivery", "score": 0.9, "sentiment": "negative"}]
    buffer = io.StringIO()
    assert export.write_export(store, buffer, "csv", since=NOW - timedelta(hours=2.5)) == 3
    parsed = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert parsed[0]["topics"] == "delivery:negative" and len(parsed) == 3


def test_parquet_export_in_row_groups(store, tmp_path, monkeypatch):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is a dev extra (pip install -e '.[dev]')")
    from sentimon import export

    ms = [mention(i, f"text {i}", hours_ago=i) for i in range(7)]
    store.save_batch("shop", ms, [verdict() for _ in ms])
    monkeypatch.setattr(export, "_CHUNK", 3)
    path = tmp_path / "m.parquet"
    assert export.write_parquet(store, path) == 7
    table = pq.read_table(path)
    assert table.num_rows == 7 and pq.ParquetFile(path).num_row_groups == 3
    first = table.to_pylist()[0]
    assert first["external_id"] == "id-0" and first["topics"] == [{"name": "delivery", "score": 0.9, "sentiment": "negative"}]


def test_export_cli_writes_parquet_and_refuses_stdout(tmp_path):
    from click.testing import CliRunner

    from sentimon.cli import cli

    pytest.importorskip("pyarrow")
    config = tmp_path / "sentimon.toml"
    config.write_text('[storage]\npath = "s.db"\n')
    Store(tmp_path / "s.db").close()  # export reads a database; it does not create one
    to_stdout = CliRunner().invoke(cli, ["--config", str(config), "export", "--format", "parquet"])
    assert to_stdout.exit_code == 2 and "--out FILE.parquet" in to_stdout.output
    out = tmp_path / "x.parquet"
    done = CliRunner().invoke(cli, ["--config", str(config), "export", "--format", "parquet", "--out", str(out)])
    assert done.exit_code == 0 and out.exists() and "exported 0 mentions" in done.output
    jsonl = CliRunner().invoke(cli, ["--config", str(config), "export", "--out", str(tmp_path / "x.jsonl")])
    assert jsonl.exit_code == 0 and (tmp_path / "x.jsonl").read_text() == ""


def test_inserted_id_is_one_line_for_a_cursor_that_wrote_nothing():
    """``lastrowid`` is None only before a cursor runs anything: StorageError, not int(None)."""
    connection = sqlite3.connect(":memory:")
    with pytest.raises(StorageError, match="no id"):
        inserted_id(connection.cursor())
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x)")
    assert inserted_id(connection.execute("INSERT INTO t (x) VALUES (1)")) == 1
