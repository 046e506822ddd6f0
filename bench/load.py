"""Load: query latency on a large store (with the plans behind it), retention while a writer
runs, and the memory of one large files fetch.

    python bench/load.py                 # 1,000,000 stored, 50,000-line fetch (the full check)
    python bench/load.py --quick         # 50,000 stored, 10,000-line fetch (what CI=true runs)
    python bench/load.py --model-fetch 5000   # also `sentimon fetch` that many with the real model
    python bench/load.py --model-fetch 1000,5000,10000 --model-fetch-only   # just those fetches

Rows are inserted straight through SQL inside the store's schema (bench/pipeline.py's
``fill``: FTS triggers and indexes included), so filling a million takes minutes, not the
hours the model would. tests/test_load.py runs the same measurements at a tiny size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))  # after the project: bench/alerts.py must not shadow alerts/

from pipeline import fill  # noqa: E402

from sentimon.mention import Classification, Mention, TopicScore  # noqa: E402
from sentimon.store import MentionQuery, Store  # noqa: E402


def typical_queries(now: datetime) -> dict[str, tuple[str, MentionQuery, str | None]]:
    """label -> (kind, query, stats grouping): what CX staff run every day."""
    day, week, month = now - timedelta(days=1), now - timedelta(days=7), now - timedelta(days=30)
    return {
        "mentions: newest 20": ("mentions", MentionQuery(), None),
        "mentions: negative, 7d": ("mentions", MentionQuery(sentiments=["negative"], since=week), None),
        "mentions: topic delivery": ("mentions", MentionQuery(topics=["delivery"]), None),
        "mentions: topic+negative, 24h": ("mentions", MentionQuery(topics=["delivery"], sentiments=["negative"], since=day), None),
        "mentions: source, rating<=2": ("mentions", MentionQuery(sources=["src1"], max_rating=2), None),
        "mentions: search 'refund'": ("mentions", MentionQuery(search="refund"), None),
        "mentions: search 'late parcel', 7d": ("mentions", MentionQuery(search="late parcel", since=week), None),
        "mentions: 100, negative, 30d": ("mentions", MentionQuery(sentiments=["negative"], since=month, limit=100), None),
        "stats: by day, 7d": ("stats", MentionQuery(since=week), "day"),
        "stats: by day, 30d": ("stats", MentionQuery(since=month), "day"),
        "stats: by hour, 24h": ("stats", MentionQuery(since=day), "hour"),
        "stats: by source, 7d": ("stats", MentionQuery(since=week), "source"),
        "stats: by topic, 7d": ("stats", MentionQuery(since=week), "topic"),
        "stats: by day, source, 7d": ("stats", MentionQuery(since=week, sources=["src2"]), "day"),
        "stats: by day, topic, 7d": ("stats", MentionQuery(since=week, topics=["price"]), "day"),
    }


def plan(store: Store, kind: str, query: MentionQuery, by: str | None) -> str:
    """EXPLAIN QUERY PLAN of the statements the store really runs (captured, not copied),
    joined by " | ": `stats` over whole days reads the roll-ups, then each partial edge day."""
    statements: list[tuple[str, list]] = []
    real = {name: getattr(store.db, name) for name in ("execute", "query")}

    def capturing(name):
        def call(sql, parameters=None):
            statements.append((sql, list(parameters or [])))
            return real[name](sql, parameters)
        return call

    for name in real:
        setattr(store.db, name, capturing(name))
    try:
        store.stats(query, by or "day") if kind == "stats" else store.mentions(query)
    finally:
        for name, method in real.items():
            setattr(store.db, name, method)
    if kind == "mentions":
        statements = statements[:1]  # the topic lookup that follows is by primary key
    return " | ".join(
        "; ".join(row[-1] for row in store.db.conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall())
        for sql, params in statements
    )


def latencies(store: Store, repeats: int, now: datetime | None = None, *, explain: bool = True) -> list[dict]:
    """p50/p95 of each typical query on ``store`` (either backend); with its SQLite plan when
    ``explain``."""
    now = now or datetime.now(timezone.utc)
    results = []
    for label, (kind, query, by) in typical_queries(now).items():
        run = (lambda q=query, b=by: store.stats(q, b)) if kind == "stats" else (lambda q=query: store.mentions(q))
        run()  # warm the page cache, as a second query by a person would find it
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            run()
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        results.append({
            "query": label, "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[min(len(timings) - 1, int(0.95 * len(timings)))], 1),
            "plan": plan(store, kind, query, by) if explain else "",
        })
    return results


def retention_under_write(store_path: Path, days: int, writer_batches: int = 10_000) -> dict:
    """Delete mentions older than ``days`` in batches while another connection keeps storing
    batches of 100; report how long the writer's saves took meanwhile."""
    stop = threading.Event()
    saves: list[float] = []
    errors: list[str] = []

    def writer() -> None:
        store = Store(store_path)
        now = datetime.now(timezone.utc)
        cls = Classification("negative", {"negative": 0.8, "neutral": 0.1, "positive": 0.1},
                             (TopicScore("delivery", 0.9, "negative"),), "bench")
        batch = 0
        while not stop.is_set() and batch < writer_batches:
            mentions = [Mention("live", f"live-{batch}-{i}", f"parcel {i} late again", now) for i in range(100)]
            started = time.perf_counter()
            try:
                store.save_batch("live", mentions, [cls] * 100, cursor=str(batch))
            except Exception as exc:  # reported, not raised: the figure is what matters
                errors.append(str(exc))
            saves.append((time.perf_counter() - started) * 1000)
            batch += 1
            time.sleep(0.02)
        store.close()

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.3)
    store = Store(store_path)
    before = store.counts()["mentions"]
    started = time.perf_counter()
    deleted = store.delete_older_than(datetime.now(timezone.utc) - timedelta(days=days))
    seconds = time.perf_counter() - started
    stop.set()
    thread.join()
    store.close()
    saves.sort()
    return {
        "before": before, "deleted": deleted, "seconds": round(seconds, 1),
        "rows_per_s": round(deleted / seconds) if seconds else 0,
        "writer_saves": len(saves), "writer_errors": len(errors),
        "save_p50_ms": round(statistics.median(saves), 1) if saves else 0,
        "save_p95_ms": round(saves[int(0.95 * (len(saves) - 1))], 1) if saves else 0,
        "save_max_ms": round(saves[-1], 1) if saves else 0,
    }


FETCH_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    sys.path.insert(0, sys.argv[3])
    from sentimon.config import parse_config
    from sentimon.mention import Classification
    from sentimon.pipeline import run_connector
    from sentimon.store import Store
    from pathlib import Path

    class Stub:
        name = "stub"
        def classify(self, texts):
            return [Classification("neutral", {"negative": 0.1, "neutral": 0.8, "positive": 0.1}, (), "stub") for _ in texts]

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    config = parse_config({"connectors": [{"name": "big", "type": "files", "path": sys.argv[1],
                                           "fields": {"external_id": "id"}}]}, Path("x.toml"), environ={})
    store = Store(sys.argv[2])
    batches = []
    started = time.perf_counter()
    result = run_connector(store, Stub, config.connectors[0], on_batch=lambda r: batches.append(r.fetched))
    seconds = time.perf_counter() - started
    sizes = [b - a for a, b in zip([0] + batches, batches)]
    print(json.dumps({"new": result.new, "error": result.error, "seconds": round(seconds, 1),
                      "batches": len(batches), "largest_batch": max(sizes or [0]),
                      "base_rss_mb": round(base / 1024, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
    """
)


SENTENCES = (
    "The parcel was late and the courier rude.", "Support answered within an hour, thanks!",
    "Shoes fit well but the colour is not what the photo shows.", "Refund still not here after two weeks.",
    "Great price for the quality.", "The app logs me out every time I open the basket.",
    "Tracking never updated, nobody answers the phone.", "Comfortable for long walks; ordering a second pair.",
)


def write_lines(path: Path, count: int, *, varied: bool = False) -> None:
    """``count`` JSON lines; ``varied``: review-like texts of 1 to 5 sentences (so the model
    sees batches of many different lengths, as a real export gives it), else one fixed text."""
    with path.open("w", encoding="utf-8") as f:
        for i in range(count):
            if varied:
                n = 1 + (i * 7919) % 5
                text = f"Order {i}: " + " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(n))
            else:
                text = f"Order {i}: the parcel was late and the courier rude. " * 4
            f.write(json.dumps({"id": f"f{i}", "text": text,
                                "rating": 1 + i % 5, "created_at": "2026-11-20T10:00:00Z"}) + "\n")


def fetch_memory(workdir: Path, count: int) -> dict:
    """One files fetch of ``count`` lines in a fresh process (stub classifier): peak RSS."""
    data = workdir / f"big{count}.jsonl"
    write_lines(data, count)
    proc = subprocess.run([sys.executable, "-c", FETCH_CHILD, str(data), str(workdir / f"f{count}.db"), str(ROOT)],
                          capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["lines"] = count
    result["file_mb"] = round(data.stat().st_size / 1e6, 1)
    return result


def _rss_mb(pid: int) -> float | None:
    """Resident set size of a running process (Linux /proc), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def model_fetch_memory(workdir: Path, count: int) -> dict:
    """`sentimon fetch` of ``count`` varied lines with the real model, in a fresh process.

    Peak RSS is that child's own (``wait4``), not RUSAGE_CHILDREN, which is the largest of
    every child so far and would hide a smaller peak behind an earlier, bigger run. RSS is also
    sampled every 0.2 s: "first half" and "second half" are the highest samples in each half of
    the classifying time (after the model has loaded, i.e. after the first stored batch), so a
    fetch that streams shows the same figure in both halves, one that accumulates does not.
    """
    data = workdir / f"model{count}.jsonl"
    write_lines(data, count, varied=True)
    config = workdir / f"model{count}.toml"
    config.write_text(f'[storage]\npath = "m{count}.db"\n[[connectors]]\nname = "big"\ntype = "files"\n'
                      f'path = "{data}"\nfields = {{ external_id = "id" }}\n')
    db = workdir / f"m{count}.db"
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "sentimon.cli", "--config", str(config), "fetch"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    samples: list[tuple[float, float]] = []  # (seconds, rss MB) once mentions are being stored
    loaded_at: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            rss = _rss_mb(proc.pid)
            if rss is None:
                continue
            if not loaded_at and db.exists() and _stored(db) > 0:
                loaded_at.append(time.perf_counter() - started)
            if loaded_at:
                samples.append((time.perf_counter() - started, rss))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    half = (samples[0][0] + samples[-1][0]) / 2 if samples else 0.0
    first = [rss for t, rss in samples if t <= half]
    second = [rss for t, rss in samples if t > half]
    return {"lines": count, "seconds": round(seconds, 1), "per_s": round(count / seconds, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "first_half_mb": round(max(first), 1) if first else None,
            "second_half_mb": round(max(second), 1) if second else None,
            "stored": _stored(db), "output": output.strip()[-300:], "ok": proc.returncode == 0}


def _stored(db: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM mentions").fetchone()[0]
    except sqlite3.Error:
        return 0


def model_fetch_table(workdir: Path, sizes: list[int]) -> None:
    print("\n| `sentimon fetch`, real model | lines | seconds | mentions/s | stored | peak RSS MB | "
          "RSS MB, 1st half | RSS MB, 2nd half |\n|---|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for count in sizes:
        m = model_fetch_memory(workdir, count)
        print(f"| {'ok' if m['ok'] else 'FAILED ' + m['output']} | {m['lines']:,} | {m['seconds']} | {m['per_s']} | "
              f"{m['stored']:,} | {m['peak_rss_mb']} | {m['first_half_mb']} | {m['second_half_mb']} |", flush=True)


def model_sizes(spec: str) -> list[int]:
    """"5000" -> [1250, 5000] (as before: a quarter and the whole); "1000,5000" -> those."""
    sizes = [int(part.replace("_", "")) for part in str(spec).split(",") if part.strip()]
    if len(sizes) == 1 and sizes[0] > 0:
        sizes = [max(500, sizes[0] // 4), sizes[0]]
    return sorted(set(s for s in sizes if s > 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    parser.add_argument("--stored", type=int, help="mentions to store (default 1,000,000; 50,000 quick)")
    parser.add_argument("--fetch", type=int, help="lines in the files fetch (default 50,000; 10,000 quick)")
    parser.add_argument("--model-fetch", default="", help="also fetch with the real model: N (N/4 and N lines) "
                        "or a list such as 1000,5000,10000")
    parser.add_argument("--model-fetch-only", action="store_true", help="only the real-model fetches")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--queries-only", action="store_true", help="skip retention and the fetches")
    args = parser.parse_args()
    quick = args.quick or os.environ.get("CI") == "true"
    size = args.stored or (50_000 if quick else 1_000_000)
    fetch_lines = args.fetch or (10_000 if quick else 50_000)
    print(f"# sentimon load benchmark, {datetime.now(timezone.utc):%Y-%m-%d %H:%M}Z, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, SQLite "
          f"{__import__('sqlite3').sqlite_version}")
    if args.model_fetch_only:
        with tempfile.TemporaryDirectory() as tmp:
            model_fetch_table(Path(tmp), model_sizes(args.model_fetch or "1000,5000,10000"))
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db = workdir / "load.db"
        store = Store(db)
        started = time.perf_counter()
        fill(store, size)
        fill_s = time.perf_counter() - started
        mb = db.stat().st_size / 1e6
        print(f"\nfilled {size:,} mentions (90 days, 5 sources, 0-2 topics each) in {fill_s:.0f}s; file {mb:.0f} MB")
        print(f"\n| {size:,} stored: query | p50 ms | p95 ms | plan (EXPLAIN QUERY PLAN) |\n|---|---:|---:|---|")
        for row in latencies(store, args.repeats):
            print(f"| {row['query']} | {row['p50_ms']} | {row['p95_ms']} | {row['plan']} |")
        store.close()
        if args.queries_only:
            return

        r = retention_under_write(db, days=60)
        print("\n| retention (older than 60 days) | deleted | seconds | rows/s | writer saves meanwhile | "
              "save p50 ms | save p95 ms | save max ms | writer errors |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        print(f"| batches of 2,000 | {r['deleted']:,} of {r['before']:,} | {r['seconds']} | {r['rows_per_s']:,} | "
              f"{r['writer_saves']} | {r['save_p50_ms']} | {r['save_p95_ms']} | {r['save_max_ms']} | {r['writer_errors']} |")

        print("\n| one files fetch (stub classifier) | lines | file MB | batches | largest batch | seconds | peak RSS MB |"
              "\n|---|---:|---:|---:|---:|---:|---:|")
        for count in sorted({max(1000, fetch_lines // 10), fetch_lines}):
            f = fetch_memory(workdir, count)
            print(f"| streamed in batches | {f['lines']:,} | {f['file_mb']} | {f['batches']} | {f['largest_batch']} | "
                  f"{f['seconds']} | {f['peak_rss_mb']} |")
        if args.model_fetch:
            model_fetch_table(workdir, model_sizes(args.model_fetch))


if __name__ == "__main__":
    main()
