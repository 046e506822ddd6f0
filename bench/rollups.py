"""What the daily roll-up triggers (schema 0004) cost when storing: mentions/s with them and
with them dropped, alternated in the same run (a ratio; the cores are shared).

    python bench/rollups.py            # 20,000 mentions x 3 rounds
    python bench/rollups.py --quick    # 2,000 x 2
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sentimon.mention import Classification, Mention, TopicScore  # noqa: E402
from sentimon.store import Store  # noqa: E402

CLS = Classification("negative", {"negative": 0.8, "neutral": 0.1, "positive": 0.1},
                     (TopicScore("delivery", 0.9, "negative"), TopicScore("price", 0.6, "neutral")), "bench")


def store_rate(count: int, *, triggers: bool) -> float:
    """Mentions/s through ``save_batch`` in batches of 100 (2 topics each, FTS included)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "t.db")
        if not triggers:
            names = store.db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rollup_%'")
            for (name,) in names.fetchall():
                store.db.execute(f"DROP TRIGGER {name}")
        rng, now = random.Random(1), datetime.now(timezone.utc)
        started = time.perf_counter()
        for batch in range(count // 100):
            mentions = [Mention("src", f"{batch}-{i}", f"parcel {i} late again and the refund too",
                                now - timedelta(minutes=rng.randint(0, 90 * 1440))) for i in range(100)]
            store.save_batch("src", mentions, [CLS] * 100)
        seconds = time.perf_counter() - started
        store.close()
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count, rounds = (2_000, 2) if args.quick else (20_000, 3)
    best = {True: 0.0, False: 0.0}
    for _ in range(rounds):
        for triggers in (True, False):
            best[triggers] = max(best[triggers], store_rate(count, triggers=triggers))
    print("| storing | mentions/s (best of rounds) |\n|---|---:|")
    print(f"| with roll-up triggers | {best[True]:,.0f} |\n| without | {best[False]:,.0f} |")
    print(f"| ratio | {best[True] / best[False]:.2f} |")


if __name__ == "__main__":
    main()
