"""PostgreSQL plans for `stats` at scale (issue 18: p95 < 100 ms at 1,000,000 mentions;
bench/load_pg.py measures it, these check the two things it rests on)."""

from __future__ import annotations

from datetime import datetime, timezone

import psycopg

from sentimon.pgstore import PgStore
from sentimon.mention import Classification, Mention, TopicScore

PARTIAL_DAY_TOPICS = (  # what PgStore counts for a partial day of `stats --by topic`
    "SELECT t.topic, t.sentiment, COUNT(*) FROM mentions m JOIN mention_topics t "
    "ON t.mention_id = m.id WHERE m.created_at >= '2026-11-02' AND m.created_at < '2026-11-03' "
    "AND m.sentiment IS NOT NULL GROUP BY 1, 2"
)


def test_a_partial_days_topics_are_counted_from_indexes_only(pg_url: str) -> None:
    """Neither the mentions' rows nor the topics' rows are read: the time index carries the
    id, the topics' key carries the sentiment (migration 0004)."""
    store = PgStore(pg_url, max_connections=1)
    when = datetime(2026, 11, 2, 10, tzinfo=timezone.utc)
    store.save_batch("reviews", [Mention("reviews", "1", "parcel late", when)], [Classification(
        "negative", {"negative": 0.8, "neutral": 0.1, "positive": 0.1},
        topics=(TopicScore("delivery", 0.9, "negative"),), model="stub")], None, now=when)
    store.close()
    with psycopg.connect(pg_url) as conn:
        conn.execute("SET enable_seqscan = off")  # a tiny table would be scanned whatever the index
        conn.execute("SET enable_bitmapscan = off")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + PARTIAL_DAY_TOPICS))
    assert "Index Only Scan using idx_mentions_created on mentions" in plan, plan
    assert "Index Only Scan using mention_topics_pkey on mention_topics" in plan, plan


def test_random_reads_are_priced_for_ssds_unless_the_server_says_otherwise(pg_server) -> None:
    url = pg_server.create_database("plans")
    store = PgStore(url, max_connections=1)
    with store._pool.connection() as conn:
        assert conn.execute("SHOW random_page_cost").fetchone() == ("1.1",)
        # and no generic plan kept from when the table was empty (the dedup check scanned it)
        assert conn.execute("SHOW plan_cache_mode").fetchone() == ("force_custom_plan",)
    store.close()
    with psycopg.connect(url, autocommit=True) as conn:  # a DBA's choice for this database
        conn.execute(f"ALTER DATABASE {conn.info.dbname} SET random_page_cost = 2.5")
    store = PgStore(url, max_connections=1)
    with store._pool.connection() as conn:
        assert conn.execute("SHOW random_page_cost").fetchone() == ("2.5",)
    store.close()
