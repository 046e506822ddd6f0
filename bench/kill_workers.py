"""Kill test at full size: 3 `sentimon worker` processes on one PostgreSQL, one SIGKILLed (and
started again) every few seconds while they fetch and classify; at the end every line is stored
once, every connector's cursor is at its end, and the roll-ups equal the rows (issue 18).

    python bench/kill_workers.py                 # 6 sources x 20,000 lines, 8 kills
    python bench/kill_workers.py --kills 10 --every 2

tests/test_worker.py runs the reduced version (2 workers, 1 kill) in CI. The workers use the
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
from workers_support import config, rows, start, stop, write_inputs  # noqa: E402


def count(url: str) -> int:
    try:
        return int(rows(url, "SELECT COUNT(*) FROM mentions")[0][0])
    except Exception:  # noqa: BLE001 - the tables appear with the first worker
        return 0


def run(server: PgServer, workdir: Path, args: argparse.Namespace) -> dict:
    url = server.create_database("kill")
    names = [f"s{i}" for i in range(args.sources)]
    total = sum(write_inputs(workdir / "in" / n, n, files=4, lines=args.lines // 4) for n in names)
    path = config(workdir, names)
    workers = [start(path, url, args.delay) for _ in range(args.workers)]
    rng, kills, began = random.Random(7), [], time.perf_counter()
    try:
        while count(url) == 0:
            time.sleep(0.1)
        while len(kills) < args.kills and count(url) < total:
            time.sleep(args.every)
            victim = rng.randrange(len(workers))
            kills.append((round(time.perf_counter() - began, 1), count(url)))
            workers[victim].kill()
            workers[victim].wait(10)
            workers[victim] = start(path, url, args.delay)
        deadline = time.perf_counter() + args.timeout
        while count(url) < total and time.perf_counter() < deadline:
            time.sleep(0.5)
        seconds = time.perf_counter() - began
    finally:
        log = stop(*workers)
    stored = count(url)
    distinct = rows(url, "SELECT COUNT(DISTINCT (source, external_id)) FROM mentions")[0][0]
    rolled = rows(url, "SELECT COALESCE(SUM(n), 0) FROM daily_sentiment")[0][0]
    failed = rows(url, "SELECT COUNT(*) FROM procrastinate_jobs WHERE task_name = 'sentimon.fetch' "
                       "AND status = 'failed'")[0][0]
    doing = rows(url, "SELECT COUNT(*) FROM procrastinate_jobs WHERE status = 'doing'")[0][0]
    return {"total": total, "stored": stored, "distinct": distinct, "rolled": rolled,
            "kills": kills, "failed_runs": failed, "left_doing": doing, "seconds": seconds,
            "log_errors": sum("Traceback" in line for line in log.splitlines())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--sources", type=int, default=6)
    parser.add_argument("--lines", type=int, default=20_000, help="lines per source")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds per classifier batch")
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
    print(f"\n{args.workers} workers, {args.sources} sources x {args.lines:,} lines, "
          f"{len(r['kills'])} SIGKILLs at (seconds, stored): {r['kills']}")
    print("\n| lines | stored | distinct | roll-up sum | runs marked failed | jobs left doing | "
          "tracebacks | seconds |\n|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {r['total']:,} | {r['stored']:,} | {r['distinct']:,} | {r['rolled']:,} | "
          f"{r['failed_runs']} | {r['left_doing']} | {r['log_errors']} | {r['seconds']:.0f} |")
    ok = r["stored"] == r["distinct"] == r["rolled"] == r["total"] and r["left_doing"] == 0
    print(f"\n{'PASS' if ok else 'FAIL'}: every line stored once, roll-ups equal to the rows")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
