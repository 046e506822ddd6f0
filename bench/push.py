"""Issue 19 item 4: push latency while the server classifies, on a real push endpoint
(127.0.0.1) with the real model, before (classified in the request) and now (stored pending,
answered 202, classified in the background).

    python bench/push.py                      # both modes, batches of 1, 100 and 1,000
    python bench/push.py --modes pending      # only the new path
    python bench/push.py --stub 0.03          # a stub classifier at 30 ms per text (no model)

In ``pending`` mode a backlog of ``--backlog`` mentions is pushed first, so the background
worker is classifying through every timed push (the daemon's steady state under load); the
JSON line says how many it classified meanwhile and how many were still pending at the end.
``in-request`` mode is ``PushServer(classify_in_request=True)``, the endpoint as it was, timed
with fewer repeats (a 1,000-mention push takes half a minute there). Prints one JSON line per
(mode, batch) and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sentimon import mention_sql  # noqa: E402
from sentimon.app import App  # noqa: E402
from sentimon.mention import Classification  # noqa: E402
from sentimon.push import start_push_server  # noqa: E402

TOKEN = "bench-push-token-0123456789abcdef"
PHRASES = [
    "The parcel arrived {n} days late and tracking never updated.",
    "Love the boots, order {n} fits perfectly and the leather is soft.",
    "Refund for order {n} still not processed after three weeks, support never answers.",
]
SIZES = (1, 100, 1000)


class StubModel:
    """``--stub``: a fixed cost per text instead of the model (sleeps, so it leaves the CPU)."""

    name = "stub"

    def __init__(self, seconds_per_text: float) -> None:
        self.seconds = seconds_per_text

    def classify(self, texts: list[str]) -> list[Classification]:
        time.sleep(self.seconds * len(texts))
        return [Classification("neutral", {"negative": 0.1, "neutral": 0.8, "positive": 0.1},
                               model=self.name) for _ in texts]


def post(url: str, items: list[dict[str, Any]]) -> tuple[float, int]:
    body = json.dumps(items)
    began = time.monotonic()
    reply = requests.post(f"{url}/v1/mentions", data=body, timeout=900,
                          headers={"Authorization": f"Bearer {TOKEN}",
                                   "Content-Type": "application/json"})
    return time.monotonic() - began, reply.status_code


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: with few samples p95 is the slowest, never an interpolation."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def batch(prefix: str, size: int) -> list[dict[str, Any]]:
    return [{"id": f"{prefix}-{i}", "text": PHRASES[i % 3].format(n=i)} for i in range(size)]


def run_mode(mode: str, args: argparse.Namespace, model: Any) -> list[dict[str, Any]]:
    os.environ["SENTIMON_PUSH_TOKEN"] = TOKEN
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sentimon.toml"
        config.write_text('[storage]\npath = "s.db"\n[server]\nport = 0\n'
                          'token = "${SENTIMON_PUSH_TOKEN}"\n', encoding="utf-8")
        config.chmod(0o600)
        app = App(config)
        app._classifier = model  # loaded before timing, as a running daemon has it
        server = start_push_server(app, rate=1000, burst=1000,
                                   classify_in_request=mode == "in-request")
        try:
            if mode == "pending":  # in pushes of at most 1,000, the endpoint's max_batch
                for start in range(0, args.backlog, 1000):
                    items = batch(f"backlog-{start}", min(1000, args.backlog - start))
                    assert post(server.url, items)[1] == 202
            for size in SIZES:
                reps = args.repeats[size] if mode == "pending" else args.before_repeats[size]
                if reps <= 0:
                    continue
                before = server.worker.classified
                latencies = []
                for rep in range(reps):
                    seconds, status = post(server.url, batch(f"{mode}-{size}-{rep}", size))
                    assert status in (200, 202), status
                    latencies.append(seconds)
                    time.sleep(args.gap)
                with server.store_lock:
                    pending = mention_sql.pending_count(server.store().db)
                results.append({
                    "mode": mode, "batch": size, "pushes": reps, "status": status,
                    "p50_s": round(percentile(latencies, 0.50), 4),
                    "p95_s": round(percentile(latencies, 0.95), 4),
                    "max_s": round(max(latencies), 4),
                    "classified_meanwhile": server.worker.classified - before,
                    "pending_after": pending,
                })
                print(json.dumps(results[-1]), flush=True)
        finally:
            server.shutdown()
            app.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["in-request", "pending"],
                        choices=["in-request", "pending"])
    parser.add_argument("--backlog", type=int, default=3000,
                        help="mentions pushed first, so the worker classifies throughout")
    parser.add_argument("--repeats", type=int, nargs=3, default=[40, 20, 10],
                        metavar=("N1", "N100", "N1000"), help="pushes per batch size, pending")
    parser.add_argument("--before-repeats", type=int, nargs=3, default=[5, 3, 1],
                        metavar=("N1", "N100", "N1000"), help="pushes per batch size, in-request")
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between pushes")
    parser.add_argument("--stub", type=float, help="seconds per text of a stub classifier")
    args = parser.parse_args()
    args.repeats = dict(zip(SIZES, args.repeats))
    args.before_repeats = dict(zip(SIZES, args.before_repeats))
    if args.stub is not None:
        model = StubModel(args.stub)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "sentimon.toml"
            config.write_text('[storage]\npath = "s.db"\n', encoding="utf-8")
            model = App(config).classifier()
    results = [row for mode in args.modes for row in run_mode(mode, args, model)]
    print("\n| mode | batch | pushes | p50 | p95 | max | classified meanwhile | pending after |")
    print("|---|---|---|---|---|---|---|---|")
    for row in results:
        print(f"| {row['mode']} ({row['status']}) | {row['batch']:,} | {row['pushes']} | "
              f"{row['p50_s'] * 1000:.0f} ms | {row['p95_s'] * 1000:.0f} ms | "
              f"{row['max_s'] * 1000:.0f} ms | {row['classified_meanwhile']} | {row['pending_after']} |")
    by = {(r["mode"], r["batch"]): r for r in results}
    for size in SIZES:
        old, new = by.get(("in-request", size)), by.get(("pending", size))
        if old and new:
            print(f"batch {size:,}: p50 {old['p50_s'] / new['p50_s']:.0f}x faster to answer")


if __name__ == "__main__":
    main()
