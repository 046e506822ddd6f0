"""Load, CI-sized: the queries use their indexes, retention deletes in batches beside a
writer without "database is locked", and a files fetch streams in bounded memory.

bench/load.py runs the same measurements at full size (1,000,000 stored, 50,000 fetched).
"""

from __future__ import annotations

import pytest
from benchscripts import load_bench

from sentimon.store import Store


load = load_bench("load")
fetch_memory, latencies, retention_under_write, fill = load.fetch_memory, load.latencies, load.retention_under_write, load.fill


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    db = tmp_path_factory.mktemp("load") / "load.db"
    store = Store(db)
    fill(store, 20_000)
    store.close()
    return db


def test_typical_queries_use_indexes_and_stay_fast(filled):
    store = Store(filled)
    rows = latencies(store, repeats=3)
    store.close()
    for row in rows:
        # every step reads through an index (or FTS): no plain scan of the mentions table
        for step in row["plan"].replace(" | ", "; ").split("; "):
            assert not (step.startswith("SCAN m") and "INDEX" not in step), row
        assert row["p95_ms"] < 500, row  # generous: CI machines are slow and shared
    by_label = {row["query"]: row["plan"] for row in rows}
    # whole days from the daily roll-up, the partial first and last day on the time index
    assert "daily_sentiment" in by_label["stats: by day, 30d"]
    assert "idx_mentions_created" in by_label["stats: by day, 30d"]
    assert "daily_topics" in by_label["stats: by topic, 7d"]
    assert "idx_mentions_sentiment_created" in by_label["mentions: negative, 7d"]
    assert "mentions_fts" in by_label["mentions: search 'refund'"]


def test_retention_in_batches_beside_a_writer(tmp_path):
    db = tmp_path / "r.db"
    store = Store(db)
    fill(store, 10_000)
    store.close()
    result = retention_under_write(db, days=60, writer_batches=200)
    assert result["deleted"] > 2000  # about a third of 90 days, more than one batch
    assert result["writer_errors"] == 0 and result["writer_saves"] > 0
    assert result["save_max_ms"] < 10_000  # under the busy timeout: waited its turn, never failed


def test_files_fetch_streams_in_bounded_memory(tmp_path):
    small = fetch_memory(tmp_path, 1_000)
    large = fetch_memory(tmp_path, 8_000)
    assert small["error"] is None and large["error"] is None
    assert large["new"] == 8_000 and large["largest_batch"] <= 500
    # eight times the lines, nowhere near eight times the memory
    assert large["peak_rss_mb"] - small["peak_rss_mb"] < 40, (small, large)
