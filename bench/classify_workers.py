"""How a backlog of pending mentions is classified by 1, 2 and 4 classify-only `sentimon
worker` processes on one PostgreSQL (issue 18): the pending mentions are split into 4 shards by
id, one job a shard, so classify boxes share a backlog. Before the shards, one classify job ran
at a time per database and a second box stood by.

    python bench/classify_workers.py                  # 4,000 pending, 0.2 s a batch of 32
    python bench/classify_workers.py --lines 8000 --delay 0.5

A fetch-only worker (its model raises if loaded) stores the lines pending first; then N
classify-only workers start together and the clock runs until nothing is pending. The
classifier is the keyword stub with a sleep per batch (``--delay``), standing in for the model
on a GPU box or a CPU box of its own: the sleep, not this machine's 2 cores, is what the
workers share, so the table shows what the split allows, not the model's speed here.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "tests"))

from pg_server import PgServer, find_bin  # noqa: E402
from workers_support import CLASSIFY_ONLY, FETCH_ONLY, by_sentiment, config, rows, start, stop, write_inputs  # noqa: E402


def pending(url: str) -> int:
    return int(rows(url, "SELECT COUNT(*) FROM mentions WHERE sentiment IS NULL")[0][0])


def stored(url: str) -> int:
    try:
        return int(rows(url, "SELECT COUNT(*) FROM mentions")[0][0])
    except Exception:  # noqa: BLE001 - the tables appear with the first worker
        return 0


def run(server: PgServer, workdir: Path, classify_workers: int, args: argparse.Namespace) -> dict:
    url = server.create_database(f"classify{classify_workers}")
    total = write_inputs(workdir / "in" / "a", "a", files=4, lines=args.lines // 4)
    path = config(workdir, ["a"])
    fetcher = start(path, url, env=FETCH_ONLY)
    workers = [fetcher]
    try:
        deadline = time.perf_counter() + 120
        while stored(url) < total and time.perf_counter() < deadline:
            time.sleep(0.2)
        began = time.perf_counter()
        workers += [start(path, url, args.delay, env=CLASSIFY_ONLY) for _ in range(classify_workers)]
        deadline = began + args.timeout
        while pending(url) and time.perf_counter() < deadline:
            time.sleep(0.2)
        seconds = time.perf_counter() - began
    finally:
        stop(*workers)
    counted, rolled_up = by_sentiment(url)
    return {"workers": classify_workers, "total": total, "left": pending(url), "seconds": seconds,
            "rate": (total - pending(url)) / seconds, "equal": counted == rolled_up}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=4000, help="pending mentions to classify")
    parser.add_argument("--delay", type=float, default=0.2, help="seconds per classifier batch of 32")
    parser.add_argument("--workers", default="1,2,4", help="classify worker counts to compare")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    print(f"# {platform.processor() or platform.machine()}, {datetime.now(timezone.utc):%Y-%m-%d %H:%MZ}, "
          f"{args.lines} pending, {args.delay} s a batch of 32 (model stand-in)")
    bin_dir = find_bin()
    if bin_dir is None:
        sys.exit("PostgreSQL's server binaries are not installed (Debian: apt-get install postgresql)")
    with PgServer(bin_dir) as server, tempfile.TemporaryDirectory() as tmp:
        results = [run(server, Path(tmp) / f"w{n}", n, args) for n in counts]
    base = results[0]["rate"]
    print("| classify workers | classified | left pending | seconds | mentions/s | vs first | roll-ups = rows |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['workers']} | {r['total'] - r['left']:,} | {r['left']} | {r['seconds']:.1f} | "
              f"{r['rate']:.0f} | {r['rate'] / base:.2f}x | {'yes' if r['equal'] else 'NO'} |")


if __name__ == "__main__":
    main()
