"""bench/load_pg.py at a tiny size: a filled SQLite store copied by `sentimon migrate`'s copy,
then the same queries on both backends (the full size, 1,000,000, runs in bench/)."""

from __future__ import annotations

from benchscripts import load_bench


def test_both_backends_answer_every_typical_query_after_a_copy(tmp_path, pg_server):
    bench = load_bench("load_pg")
    result = bench.compare(tmp_path, 3_000, pg_server.create_database("load"), repeats=2)
    assert result["copied"] == 3_000 and result["topics"] > 2_000 and result["rollups"] > 100
    assert len(result["rows"]) == 15
    for row in result["rows"]:
        assert row["pg_p95_ms"] < 2000 and row["p95_ms"] < 2000, row  # generous: shared CI cores
