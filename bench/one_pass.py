"""Encoder work per mention: what the classifier really encodes, against re-encoding every clause.

    python bench/one_pass.py            # 1,000 texts per set
    python bench/one_pass.py --quick    # 100 (also when CI=true)

Why: the full classifier used to encode every clause again as a text of its own; it now pools
clauses from one pass over the text and encodes only the clauses that hold different found
topics again (models/classifier.py ``_reread_clauses``). Token counts are exact and machine
independent, so they say what the change saves where timings on shared cores cannot. Prints,
per validation set: tokens per text, the two-pass and the shipped path's tokens as multiples
of it, the padded tokens the batches really carried, and texts/s of the full classifier.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("SENTIMON_SHARED", ROOT.parent / "shared")) / "data"
SETS = ("airline_tweets_cx", "tweeteval_sentiment", "zomato_restaurant_reviews", "airline_reviews_skytrax")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 texts per set (also when CI=true)")
    args = parser.parse_args()
    n = 100 if args.quick or os.environ.get("CI") == "true" else 1000
    import models
    from models.data import read_jsonl, unescape
    from models.encoder import Encoder
    from models.text import clause_spans

    classifier = models.load_classifier({"threads": 2}, models.DEFAULT_TOPICS)
    rows: list[int] = []
    padded: list[int] = []
    forward = Encoder._forward

    def counted(self: Encoder, batch: list[list[int]], tokens: bool = False) -> tuple:
        rows.append(sum(len(row) for row in batch))
        padded.append(len(batch) * max(len(row) for row in batch))
        return forward(self, batch, tokens)

    Encoder._forward = counted  # type: ignore[method-assign]
    encoder = Encoder()
    print(f"model {classifier.name}, {n} texts per set, batches of 32")
    print("| set | tokens per text | two passes (every clause again) | shipped (one pass + clauses of different topics) "
          "| padded, shipped | texts/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in SETS:
        path = SHARED / name / "validation.jsonl"
        if not path.exists():
            print(f"| {name} | missing: {path} | | | | |")
            continue
        texts = [unescape(r.text) for r in read_jsonl(path)][:n]
        own = sum(len(ids) + 2 for ids in encoder.token_ids(texts))
        spans = [clause_spans(text) for text in texts]
        parts = [text[a:b] for text, found in zip(texts, spans) if len(found) > 1 for a, b in found]
        two = own + sum(len(ids) + 2 for ids in encoder.token_ids(parts))
        rows.clear()
        padded.clear()
        start = time.perf_counter()
        for i in range(0, len(texts), 32):
            classifier.classify(texts[i : i + 32])
        rate = len(texts) / (time.perf_counter() - start)
        print(f"| {name} | {own / len(texts):.1f} | {two / own:.2f}x | {sum(rows) / own:.2f}x | "
              f"{sum(padded) / own:.2f}x | {rate:.1f} |")


if __name__ == "__main__":
    main()
