"""Where the full classifier's time goes (issue 19 item 2): a cProfile of ``classify`` on
tweets or reviews at batch 32, grouped into the encoder's kernels, the encoder's Python, the
clause re-reads and the heads, so per-batch Python overhead shows as a share of the whole.

    python bench/classify_profile.py                  # 512 tweets, 2 threads
    python bench/classify_profile.py --reviews --top 20

Prints a markdown table (and, with ``--top``, the functions with the most time of their own).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from model import SHARED, texts_from  # noqa: E402  (bench/model.py, beside this file)

# Built-in kernels by the name cProfile gives them: the work a bare encoder does too.
KERNELS = {
    "matrix products": ("torch._C._nn.linear", "built-in method torch.matmul", "torch.bmm"),
    "attention": ("scaled_dot_product_attention",),
    "gelu": ("torch._C._nn.gelu",),
    "layer norm": ("torch.layer_norm",),
    "tokenizer": ("encode_batch",),
}
# Our own steps by function (cumulative time, so their kernels are inside).
STEPS = {
    "clause re-reads": ("_reread_clauses",),
    "language check": ("detect_language",),
    "topic scores": ("text_scores",),
    "aspect head": ("aspects.py",),
}


def grouped(stats: pstats.Stats) -> tuple[float, dict[str, float], dict[str, float]]:
    """Total seconds, own time of each kernel group, cumulative time of each step."""
    raw = stats.stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, _, ct, _) in raw.values())
    kernels = {name: 0.0 for name in KERNELS}
    steps = {name: 0.0 for name in STEPS}
    for (filename, _line, function), (_cc, _nc, tt, ct, _callers) in raw.items():
        where = f"{filename}:{function}"
        for name, marks in KERNELS.items():
            if any(mark in where for mark in marks):
                kernels[name] += tt
        for name, marks in STEPS.items():
            # The top-level call only: aspects.attention inside aspects.probs counts once.
            if any(mark in where for mark in marks) and not any(
                    any(mark in f"{c[0]}:{c[2]}" for mark in marks) for c in _callers):
                steps[name] += ct
    return total, kernels, steps


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", action="store_true", help="clothing reviews instead of tweets")
    parser.add_argument("-n", type=int, default=512, help="texts (default 512)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--top", type=int, default=0, help="also print the N functions with most own time")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    import models

    if args.reviews:
        texts = texts_from(SHARED / "womens_ecommerce_clothing_reviews" / "train.jsonl", args.n,
                           "Love this dress, the fabric is soft and it fits true to size. " * 4)
    else:
        texts = texts_from(SHARED / "tweeteval_sentiment" / "validation.jsonl", args.n,
                           "@user can't wait for the new album tomorrow!!")
    clf = models.load_classifier({"backend": "auto"}, models.DEFAULT_TOPICS)
    clf.classify(texts[:32])  # warm: lazy parts load outside the profile
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for i in range(0, len(texts), 32):
        clf.classify(texts[i:i + 32])
    profile.disable()
    wall = time.perf_counter() - started
    total, kernels, steps = grouped(pstats.Stats(profile))
    print(f"# where classify's time goes ({time.strftime('%Y-%m-%d %H:%M')}, {len(texts)} "
          f"{'reviews' if args.reviews else 'tweets'}, batch 32, {args.threads} threads, "
          f"{clf.backend}, {len(texts) / wall:.0f} texts/s under the profiler)\n")
    print("| part | seconds | share |")
    print("|---|---:|---:|")
    for name, seconds in kernels.items():
        print(f"| kernel: {name} | {seconds:.2f} | {seconds / total:.1%} |")
    other = total - sum(kernels.values())
    print(f"| everything else (Python: modules, heads, text, langid) | {other:.2f} | {other / total:.1%} |")
    print(f"| **total** | {total:.2f} | 100% |")
    print("\nSteps (cumulative, their kernels included):\n")
    print("| step | seconds | share |")
    print("|---|---:|---:|")
    for name, seconds in steps.items():
        print(f"| {name} | {seconds:.2f} | {seconds / total:.1%} |")
    if args.top:
        print()
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
