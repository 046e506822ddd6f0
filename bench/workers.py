"""Workers: how much two `sentimon worker` processes store against one (issue 18's target: 2
workers with a stub classifier store >= 1.7x one worker's rate on this 2-core machine).

    python bench/workers.py                      # 4 sources x 10,000 lines, 1 then 2 workers
    python bench/workers.py --lines 2000 --delay 0.02   # a slower "model" (seconds per batch)

Each run gets a fresh database on a throwaway cluster (tests/pg_server.py), writes JSONL files
for ``--sources`` files connectors, starts the workers (tests/stub_worker.py: the real worker
with the keyword classifier) and times from the first stored mention to the last, so the
processes' start-up (imports, schema) is left out. The PostgreSQL server shares the two cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "tests"))

import psycopg  # noqa: E402
from pg_server import PgServer, find_bin  # noqa: E402
from workers_support import config, start, stop, write_inputs  # noqa: E402


def count(url: str) -> int:
    try:
        with psycopg.connect(url) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0])
    except psycopg.errors.UndefinedTable:
        return 0


def timed_run(server: PgServer, workdir: Path, workers: int, sources: int, lines: int,
              delay: float) -> dict:
    url = server.create_database("workers")
    names = [f"s{i}" for i in range(sources)]
    total = sum(write_inputs(workdir / "in" / n, n, files=4, lines=lines // 4) for n in names)
    path = config(workdir, names)
    procs = [start(path, url, delay) for _ in range(workers)]
    try:
        while count(url) == 0:
            time.sleep(0.05)
        began, first = time.perf_counter(), count(url)
        while (stored := count(url)) < total:
            if any(p.poll() is not None for p in procs):
                raise SystemExit(stop(*procs))
            time.sleep(0.1)
        seconds = time.perf_counter() - began
    finally:
        stop(*procs)
    return {"workers": workers, "stored": stored, "seconds": seconds,
            "rate": (stored - first) / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=4)
    parser.add_argument("--lines", type=int, default=10_000, help="lines per source")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds per classifier batch")
    parser.add_argument("--rounds", type=int, default=2, help="1 then 2 workers, this many times")
    args = parser.parse_args()
    bin_dir = find_bin()
    if bin_dir is None:
        raise SystemExit("no PostgreSQL binaries: install Debian's 'postgresql'")
    print(f"# sentimon workers, {datetime.now(timezone.utc):%Y-%m-%d %H:%M}Z, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{args.sources} sources x {args.lines:,} lines, classifier delay {args.delay}s/batch")
    print("\n| round | workers | stored | seconds | mentions/s |\n|---:|---:|---:|---:|---:|")
    rates: dict[int, list[float]] = {1: [], 2: []}
    with PgServer(bin_dir) as server:
        for round_ in range(1, args.rounds + 1):
            for workers in (1, 2):
                with tempfile.TemporaryDirectory() as tmp:
                    r = timed_run(server, Path(tmp), workers, args.sources, args.lines, args.delay)
                rates[workers].append(r["rate"])
                print(f"| {round_} | {workers} | {r['stored']:,} | {r['seconds']:.1f} | "
                      f"{r['rate']:,.0f} |", flush=True)
    ratio = (sum(rates[2]) / len(rates[2])) / (sum(rates[1]) / len(rates[1]))
    print(f"\n2 workers / 1 worker: {ratio:.2f}x (target >= 1.7x)")


if __name__ == "__main__":
    main()
