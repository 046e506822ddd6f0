"""Issue 2 benchmark: pipeline throughput, query latency at scale, daemon memory.

    python bench/pipeline.py            # full: 20k through the pipeline, 100k and 1M stored
    python bench/pipeline.py --quick    # reduced sizes (what CI=true would run)

Prints one table; paste it into docs/BENCHMARKS.md with the machine and date.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sentimon.store import MentionQuery, Store, to_db_time  # noqa: E402

TOPICS = ["delivery", "quality", "price", "customer_service", "returns", "packaging", "website", "size_fit"]
SENTIMENTS = ["negative", "neutral", "positive"]
KEYWORDS = "parcel late courier boots leather refund support size price checkout box lovely broken".split()
# A Zipf-like vocabulary, so a word like "refund" is in a few percent of texts, as in real mentions.
WORDS = [f"w{i}" for i in range(3000)] + KEYWORDS
WEIGHTS = [1 / (rank + 1) for rank in range(3000)] + [0.02] * len(KEYWORDS)


def pipeline_throughput(n: int, workdir: Path) -> dict:
    """Demo mentions repeated to ``n`` rows, through files connector -> model -> store."""
    from sentimon.setup_files import demo_records

    records = demo_records(datetime.now(timezone.utc))
    data = workdir / "many.jsonl"
    with data.open("w") as f:
        for i in range(n):
            row = dict(records[i % len(records)])
            row["id"] = f"{row['id']}-{i}"
            f.write(json.dumps(row) + "\n")
    config = workdir / "bench.toml"
    config.write_text(f'[storage]\npath = "tp.db"\n[[connectors]]\nname = "bench"\ntype = "files"\npath = "{data}"\nfields = {{ external_id = "id" }}\n')
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "sentimon.cli", "--config", str(config), "fetch"],
                          capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    return {"mentions": n, "seconds": round(seconds, 1), "per_second": round(n / seconds, 1), "output": proc.stdout.strip()}


def fill(store: Store, n: int) -> None:
    """Insert ``n`` synthetic classified mentions over 90 days, straight through SQL (fast)."""
    rng = random.Random(7)
    now = datetime.now(timezone.utc)
    with store.db.atomic():
        for start in range(0, n, 10_000):
            rows, topic_rows = [], []
            for i in range(start, min(n, start + 10_000)):
                created = to_db_time(now - timedelta(seconds=rng.randrange(90 * 86400)))
                sentiment = rng.choices(SENTIMENTS, (0.2, 0.3, 0.5))[0]
                text = " ".join(rng.choices(WORDS, WEIGHTS, k=12))
                rows.append((i + 1, f"src{rng.randrange(5)}", str(i), "review", text, rng.randint(1, 5), created, created, sentiment, 0.3, 0.3, 0.4, "bench"))
                for topic in rng.sample(TOPICS, rng.randint(0, 2)):
                    topic_rows.append((i + 1, topic, 0.8, sentiment))
            store.db.conn.executemany(
                "INSERT INTO mentions (id, source, external_id, kind, text, rating, created_at, fetched_at, sentiment, score_negative, score_neutral, score_positive, model) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            store.db.conn.executemany("INSERT INTO mention_topics VALUES (?,?,?,?)", topic_rows)
    store.db.execute("ANALYZE")


def query_latency(store: Store, repeats: int) -> list[dict]:
    now = datetime.now(timezone.utc)
    queries = {
        "newest 20": MentionQuery(),
        "negative, 7d": MentionQuery(sentiments=["negative"], since=now - timedelta(days=7)),
        "topic delivery": MentionQuery(topics=["delivery"]),
        "topic+negative+24h": MentionQuery(topics=["delivery"], sentiments=["negative"], since=now - timedelta(days=1)),
        "source+rating<=2": MentionQuery(sources=["src1"], max_rating=2),
        "search 'refund'": MentionQuery(search="refund"),
        "stats by day, 7d": ("stats", MentionQuery(since=now - timedelta(days=7))),
    }
    results = []
    for label, query in queries.items():
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            if isinstance(query, tuple):
                store.stats(query[1], "day")
            else:
                store.mentions(query)
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        results.append({"query": label, "p50_ms": round(statistics.median(timings), 2),
                        "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 2)})
    return results


def daemon_memory(workdir: Path) -> float:
    """Peak RSS (MB) of `sentimon run --once` on the demo, model loaded."""
    config = workdir / "demo" / "sentimon.toml"
    exe = [sys.executable, "-m", "sentimon.cli", "--config", str(config)]
    subprocess.run([*exe, "init", "--demo", "--force"], check=True, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([*exe, "run", "--once"], check=True, capture_output=True)
    return round(max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    args = parser.parse_args()
    quick = args.quick or os.environ.get("CI") == "true"
    through = 2_000 if quick else 20_000
    sizes = [10_000, 100_000] if quick else [100_000, 1_000_000]
    print(f"# sentimon pipeline benchmark, {datetime.now(timezone.utc):%Y-%m-%d}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        tp = pipeline_throughput(through, workdir)
        print(f"\n| pipeline (files -> model -> store) | mentions | seconds | mentions/s |\n|---|---:|---:|---:|\n| demo data repeated | {tp['mentions']} | {tp['seconds']} | {tp['per_second']} |")
        print("\n| stored | query | p50 ms | p95 ms |\n|---:|---|---:|---:|")
        for size in sizes:
            store = Store(workdir / f"q{size}.db")
            fill(store, size)
            for row in query_latency(store, 20 if quick else 50):
                print(f"| {size:,} | {row['query']} | {row['p50_ms']} | {row['p95_ms']} |")
            store.close()
        print(f"\n| daemon `run --once` on the demo | peak RSS MB |\n|---|---:|\n| model loaded, 300 mentions | {daemon_memory(workdir)} |")


if __name__ == "__main__":
    main()
