"""Load on both backends: `sentimon migrate` copies a large SQLite store into PostgreSQL, then
the same typical queries run on both (issue 18's target: p95 < 100 ms at 1,000,000 mentions).

    python bench/load_pg.py                 # 1,000,000 mentions (the full check)
    python bench/load_pg.py --stored 50000  # a quick look
    python bench/load_pg.py --url postgresql://...   # a server of yours (default: a throwaway
                                                     # cluster, as the tests start, tests/pg_server.py)

The SQLite store is filled straight through SQL (bench/pipeline.py's ``fill``), copied with
``sentimon.pgstore.copy`` (the copy's speed is the second table), and both stores answer the
queries of bench/load.py with a warm cache. tests/test_load_pg.py runs it at a tiny size.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))  # after the project: bench/alerts.py must not shadow alerts/
sys.path.append(str(ROOT / "tests"))  # the throwaway cluster the tests use

from load import latencies  # noqa: E402
from pipeline import fill  # noqa: E402

from sentimon.pgstore import PgStore  # noqa: E402
from sentimon.pgstore.copy import copy_to_postgres  # noqa: E402
from sentimon.store import Store  # noqa: E402


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """A fresh cluster's database URL, removed afterwards (durability off: it is a bench)."""
    from pg_server import PgServer, find_bin

    bin_dir = find_bin()
    if bin_dir is None:
        raise SystemExit("no PostgreSQL binaries: install Debian's 'postgresql' or give --url")
    with PgServer(bin_dir) as server:
        yield server.create_database("load")


def compare(workdir: Path, size: int, url: str, repeats: int) -> dict:
    """Fill, copy, query both: the copy's figures and one row per query with both p50/p95."""
    db = workdir / "load.db"
    store = Store(db)
    started = time.perf_counter()
    fill(store, size)
    fill_s = time.perf_counter() - started
    started = time.perf_counter()
    report = copy_to_postgres(db, url, batch=5000)
    copy_s = time.perf_counter() - started
    now = datetime.now(timezone.utc)
    pg = PgStore(url, max_connections=2)
    try:
        rows = {r["query"]: r for r in latencies(store, repeats, now)}
        for r in latencies(pg, repeats, now, explain=False):
            rows[r["query"]].update(pg_p50_ms=r["p50_ms"], pg_p95_ms=r["p95_ms"])
    finally:
        pg.close()
        store.close()
    return {"fill_s": fill_s, "copy_s": copy_s, "copied": report.copied["mentions"],
            "topics": report.totals["mention_topics"], "rollups": report.rollups_checked,
            "rows": list(rows.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stored", type=int, default=1_000_000, help="mentions (default 1,000,000)")
    parser.add_argument("--url", default=os.environ.get("SENTIMON_BENCH_PG_URL", ""),
                        help="an empty PostgreSQL database (default: a throwaway cluster)")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    print(f"# sentimon load on both backends, {datetime.now(timezone.utc):%Y-%m-%d %H:%M}Z, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp, \
            (nullcontext(args.url) if args.url else throwaway_cluster()) as url:
        r = compare(Path(tmp), args.stored, url, args.repeats)
    print(f"\n| step | mentions | topics | seconds | mentions/s |\n|---|---:|---:|---:|---:|")
    print(f"| fill SQLite (straight SQL) | {args.stored:,} | | {r['fill_s']:.0f} | "
          f"{args.stored / r['fill_s']:,.0f} |")
    print(f"| `sentimon migrate` copy, checks and VACUUM ANALYZE included ({r['rollups']:,} roll-up rows "
          f"compared) | {r['copied']:,} | {r['topics']:,} | {r['copy_s']:.0f} | "
          f"{r['copied'] / r['copy_s']:,.0f} |")
    print(f"\n| {args.stored:,} stored: query | SQLite p50 ms | SQLite p95 ms | PostgreSQL p50 ms | "
          f"PostgreSQL p95 ms |\n|---|---:|---:|---:|---:|")
    for row in r["rows"]:
        print(f"| {row['query']} | {row['p50_ms']} | {row['p95_ms']} | {row['pg_p50_ms']} | "
              f"{row['pg_p95_ms']} |")


if __name__ == "__main__":
    main()
