"""Storing pending mentions' classifications: mentions/s of ``set_classifications`` on
PostgreSQL, per row (``mention_sql``'s one UPDATE per mention, the path before) against the
batch (``pgstore.classify_batch``, two statements per batch), with SQLite as the peer.

    python bench/pending_pg.py                       # 10,000 mentions, batches of 32 and 256
    python bench/pending_pg.py --mentions 5000 --batches 32 --repeats 1   # a quick look

The model is left out (its speed is bench/model.py's). ``store`` rows time the write alone:
each mention gets a verdict with two topics, in batches of ``sentimon.pending.BATCH`` (32) and
larger. The ``drain`` row is the push endpoint's background worker end to end
(``pending.classify_pending``: read a page, classify it with the tests' keyword stub, store it)
until the backlog is empty. Every (path, kind, repeat) starts from a fresh database with the
same pending mentions; PostgreSQL runs on a throwaway local cluster without durability
(tests/pg_server.py), as the other PostgreSQL benches do. Prints a Markdown table of the
median and best of the repeats.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "tests"))  # the throwaway cluster the tests use

from sentimon import mention_sql, pending  # noqa: E402
from sentimon.mention import Classification, Mention, TopicScore  # noqa: E402
from sentimon.pgstore import PgStore  # noqa: E402
from sentimon.store import Store  # noqa: E402

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)
VERDICTS = [Classification(s, {"negative": 0.1, "neutral": 0.1, "positive": 0.1} | {s: 0.8},
                           (TopicScore("delivery", 0.9, s), TopicScore("refund", 0.6, s)), "keywords@1", "en")
            for s in ("negative", "neutral", "positive")]


def _per_row(store: PgStore, rows: list[tuple[int, Classification]]) -> int:
    """PostgreSQL's path before: the portable per-mention statements in one transaction."""
    with store._statements("bench", write=True) as db:
        return mention_sql.set_classifications(db, rows)


def _fill(store: Any, mentions: int) -> list[int]:
    """Store ``mentions`` pending mentions over 30 days; their ids, oldest first."""
    ids: list[int] = []
    for start in range(0, mentions, 1000):
        batch = [Mention("helpdesk", f"m{n}", f"parcel {n} arrived late", T0 + timedelta(minutes=n * 3))
                 for n in range(start, min(start + 1000, mentions))]
        _, found = store.save_pending({"helpdesk": batch})
        ids += [found[("helpdesk", m.external_id)] for m in batch]
    return sorted(ids)


Write = Callable[[Any, list[tuple[int, Classification]]], int]


def rate(store: Any, write: Write, mentions: int, batch: int) -> float:
    """Mentions/s that ``write`` stores, ``batch`` at a time, as the pending worker does."""
    ids = _fill(store, mentions)
    rows = [(i, VERDICTS[i % 3]) for i in ids]
    started = time.perf_counter()
    written = sum(write(store, rows[k:k + batch]) for k in range(0, len(rows), batch))
    seconds = time.perf_counter() - started
    assert written == mentions and store.pending_count() == 0, (written, mentions)
    return mentions / seconds


def drain_rate(store: Any, write: Write, mentions: int) -> float:
    """Mentions/s of the background worker's loop emptying a backlog, writing with ``write``."""
    from stubs import TopicKeywordClassifier

    _fill(store, mentions)
    store.set_classifications = lambda rows: write(store, rows)  # this store only: the path timed
    started = time.perf_counter()
    written = pending.classify_pending(store, TopicKeywordClassifier)
    seconds = time.perf_counter() - started
    assert written == mentions and store.pending_count() == 0, (written, mentions)
    return mentions / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=10_000)
    parser.add_argument("--batches", default="32,256", help="mentions per set_classifications call")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from pg_server import PgServer, find_bin

    bin_dir = find_bin()
    if bin_dir is None:
        raise SystemExit("no PostgreSQL binaries: install Debian's 'postgresql'")
    store_rows: Write = _store_rows
    paths: dict[str, Write] = {"SQLite (per row, unchanged)": store_rows,
                               "PostgreSQL per row (before)": _per_row,
                               "PostgreSQL batch (now)": store_rows}
    kinds = [*(f"store, batch {b}" for b in args.batches.split(",")), f"drain, batch {pending.BATCH}"]
    results: dict[tuple[str, str], list[float]] = {}
    with PgServer(bin_dir) as server, tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):  # paths interleaved, so a busy moment hits all alike
            for n, kind in enumerate(kinds):
                for name, write in paths.items():
                    store = (Store(Path(tmp) / f"{repeat}-{n}.db") if name.startswith("SQLite")
                             else PgStore(server.create_database("bench"), max_connections=1))
                    try:
                        timed = (drain_rate(store, write, args.mentions) if kind.startswith("drain")
                                 else rate(store, write, args.mentions, int(kind.rsplit(" ", 1)[1])))
                    finally:
                        store.close()
                    results.setdefault((kind, name), []).append(timed)
    print(f"{args.mentions:,} pending mentions, {args.repeats} repeats, "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%MZ}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}\n")
    print("| what | path | mentions/s (median) | best |\n|---|---|---:|---:|")
    for (kind, name), rates in results.items():
        print(f"| {kind} | {name} | {statistics.median(rates):,.0f} | {max(rates):,.0f} |")


def _store_rows(store: Any, rows: list[tuple[int, Classification]]) -> int:
    """The store's own ``set_classifications``: SQLite's per-row path, PostgreSQL's batch."""
    return int(type(store).set_classifications(store, rows))


if __name__ == "__main__":
    main()
