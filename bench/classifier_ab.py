"""Full-classifier speed of two model folders in one run, alternating, so noise hits both alike.

    python bench/classifier_ab.py OLD_FOLDER [NEW_FOLDER]   # NEW defaults to the bundled model
    python bench/classifier_ab.py scratch/v3 --quick

Why: a model change must not make the product slower, and these machines are noisy; rounds
alternate A and B on the same texts (tweets and reviews from ../shared/data validation files,
or a fixed CX sentence where absent) and the table gives each one's median texts/s and the
ratio B/A.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("SENTIMON_SHARED", ROOT.parent / "shared")) / "data"


def texts(name: str, n: int) -> list[str]:
    from models.data import read_jsonl, unescape

    path = SHARED / name / "validation.jsonl"
    if not path.exists():
        return ["The parcel came two weeks late and support never answered, but the boots are gorgeous."] * n
    return [unescape(r.text) for r in read_jsonl(path)][:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new", nargs="?", default="")
    parser.add_argument("--quick", action="store_true", help="fewer texts and rounds (also when CI=true)")
    args = parser.parse_args()
    quick = args.quick or os.environ.get("CI") == "true"
    import models

    n, rounds = (64, 2) if quick else (512, 3)
    folders = {"A (old)": args.old, "B (new)": args.new}
    classifiers = {k: models.load_classifier({"path": v, "threads": 2}, models.DEFAULT_TOPICS) for k, v in folders.items()}
    print(f"| texts | {' | '.join(f'{k} {c.name} texts/s' for k, c in classifiers.items())} | B/A |")
    print("|---|---:|---:|---:|")
    for label, name in (("tweets", "airline_tweets_cx"), ("reviews", "zomato_restaurant_reviews")):
        batch = texts(name, n)
        rates: dict[str, list[float]] = {k: [] for k in classifiers}
        for _ in range(rounds):
            for key, classifier in classifiers.items():
                start = time.perf_counter()
                for i in range(0, len(batch), 32):
                    classifier.classify(batch[i : i + 32])
                rates[key].append(len(batch) / (time.perf_counter() - start))
        a, b = (statistics.median(r) for r in rates.values())
        print(f"| {label} ({len(batch)}, batch 32) | {a:.1f} | {b:.1f} | {b / a:.2f} |")


if __name__ == "__main__":
    main()
