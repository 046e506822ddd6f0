"""Kill test at full size: 3 `sentimon worker` processes on one PostgreSQL, one SIGKILLed (and
started again) every few seconds while they fetch and classify; at the end every line is stored
once, every connector's cursor is at its end, and the roll-ups equal the rows (issue 18).

    python bench/kill_workers.py                 # 6 sources x 20,000 lines, 8 kills
    python bench/kill_workers.py --kills 10 --every 2
    python bench/kill_workers.py --classify-workers 2   # split: kills during classify too

With ``--classify-workers N`` the deployment is split as on a GPU box: ``--workers`` fetch-only
workers (their model raises if loaded; they store mentions pending) and N classify-only workers
(the delay is theirs); kills hit both kinds, and the end also needs nothing pending and the
roll-ups per sentiment equal to the rows. tests/test_worker.py and tests/test_worker_classify.py
run the reduced versions (2 workers, 1 kill) in CI. The workers use the
keyword classifier with a delay per batch (``--delay``), so kills land mid-run, between and
inside batches.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "tests"))

from pg_server import PgServer, find_bin  # noqa: E402
from workers_support import (  # noqa: E402
    CLASSIFY_ONLY,
    FETCH_ONLY,
    by_sentiment,
    config,
    rows,
    start,
    stop,
    write_inputs,
)


def count(url: str) -> int:
    try:
        return int(rows(url, "SELECT COUNT(*) FROM mentions")[0][0])
    except Exception:  # noqa: BLE001 - the tables appear with the first worker
        return 0


def done(url: str, total: int) -> bool:
    """Every line stored and none left pending."""
    try:
        return rows(url, "SELECT COUNT(*), COUNT(*) FILTER (WHERE sentiment IS NULL) FROM mentions")[0] == (total, 0)
    except Exception:  # noqa: BLE001 - the tables appear with the first worker
        return False


def run(server: PgServer, workdir: Path, args: argparse.Namespace) -> dict:
    url = server.create_database("kill")
    names = [f"s{i}" for i in range(args.sources)]
    total = sum(write_inputs(workdir / "in" / n, n, files=4, lines=args.lines // 4) for n in names)
    path = config(workdir, names)
    kinds: list[tuple[float, dict[str, str] | None]] = [(args.delay, None)] * args.workers
    if args.classify_workers:
        kinds = [(0.0, FETCH_ONLY)] * args.workers + [(args.delay, CLASSIFY_ONLY)] * args.classify_workers
    workers = [start(path, url, delay, env=env) for delay, env in kinds]
    rng, began = random.Random(7), time.perf_counter()
    kills: list[tuple[float, int, str]] = []  # (seconds, stored, kind of worker killed)
    try:
        while count(url) == 0:
            time.sleep(0.1)
        while len(kills) < args.kills and not done(url, total):
            time.sleep(args.every)
            busy = range(len(workers))  # once all is fetched, only a classify worker has work to lose
            if args.classify_workers and count(url) == total:
                busy = range(args.workers, len(workers))
            victim = rng.choice(busy)
            kind = "classify" if kinds[victim][1] is CLASSIFY_ONLY else "fetch" if kinds[victim][1] else "all"
            kills.append((round(time.perf_counter() - began, 1), count(url), kind))
            workers[victim].kill()
            workers[victim].wait(10)
            workers[victim] = start(path, url, kinds[victim][0], env=kinds[victim][1])
        deadline = time.perf_counter() + args.timeout
        while not done(url, total) and time.perf_counter() < deadline:
            time.sleep(0.5)
        seconds = time.perf_counter() - began
    finally:
        log = stop(*workers)
    stored = count(url)
    distinct = rows(url, "SELECT COUNT(DISTINCT (source, external_id)) FROM mentions")[0][0]
    rolled = rows(url, "SELECT COALESCE(SUM(n), 0) FROM daily_sentiment")[0][0]
    failed = rows(url, "SELECT COUNT(*) FROM procrastinate_jobs WHERE task_name IN "
                       "('sentimon.fetch', 'sentimon.classify') AND status = 'failed'")[0][0]
    counted, rolled_up = by_sentiment(url)
    doing = rows(url, "SELECT COUNT(*) FROM procrastinate_jobs WHERE status = 'doing'")[0][0]
    return {"total": total, "stored": stored, "distinct": distinct, "rolled": rolled,
            "kills": kills, "failed_runs": failed, "left_doing": doing, "seconds": seconds,
            "pending": counted.get("", 0), "per_sentiment_equal": counted == rolled_up,
            "model_loaded_on_fetch": "must not load the model" in log,
            "log_errors": sum("Traceback" in line for line in log.splitlines())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--sources", type=int, default=6)
    parser.add_argument("--lines", type=int, default=20_000, help="lines per source")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds per classifier batch")
    parser.add_argument("--classify-workers", type=int, default=0,
                        help="split mode: this many classify-only workers beside --workers fetch-only ones")
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--every", type=float, default=4.0, help="seconds between kills")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to finish after")
    args = parser.parse_args()
    bin_dir = find_bin()
    if bin_dir is None:
        raise SystemExit("no PostgreSQL binaries: install Debian's 'postgresql'")
    with PgServer(bin_dir) as server, tempfile.TemporaryDirectory() as tmp:
        r = run(server, Path(tmp), args)
    print(f"# sentimon kill test, {datetime.now(timezone.utc):%Y-%m-%d %H:%M}Z, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    split = f" fetch-only + {args.classify_workers} classify-only" if args.classify_workers else ""
    print(f"\n{args.workers}{split} workers, {args.sources} sources x {args.lines:,} lines, "
          f"{len(r['kills'])} SIGKILLs at (seconds, stored, worker kind): {r['kills']}")
    print("\n| lines | stored | distinct | roll-up sum | pending | per-sentiment roll-ups = rows | "
          "jobs marked failed | jobs left doing | tracebacks | seconds |\n"
          "|---:|---:|---:|---:|---:|:-:|---:|---:|---:|---:|")
    print(f"| {r['total']:,} | {r['stored']:,} | {r['distinct']:,} | {r['rolled']:,} | {r['pending']} | "
          f"{'yes' if r['per_sentiment_equal'] else 'NO'} | {r['failed_runs']} | {r['left_doing']} | "
          f"{r['log_errors']} | {r['seconds']:.0f} |")
    ok = (r["stored"] == r["distinct"] == r["rolled"] == r["total"] and r["left_doing"] == 0
          and r["pending"] == 0 and r["per_sentiment_equal"] and not r["model_loaded_on_fetch"])
    print(f"\n{'PASS' if ok else 'FAIL'}: every line stored once and classified, roll-ups equal to "
          "the rows" + (", no model loaded on a fetch-only worker" if args.classify_workers else ""))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
