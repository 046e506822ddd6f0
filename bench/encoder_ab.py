"""The lean BERT (models/bert.py) against transformers' BertModel on the same bundled weights
and the same padded batches, alternated in one process (best of 3 rounds; a ratio, since the
cores are shared).

    python bench/encoder_ab.py            # 512 TweetEval validation tweets, batches of 32
    python bench/encoder_ab.py --quick    # 128
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TWEETS = ROOT.parent / "shared" / "data" / "tweeteval_sentiment" / "validation.jsonl"


def texts_per_second(model: Any, batches: list[tuple[Any, Any]], autocast: bool) -> float:
    import torch

    context = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
    started = time.perf_counter()
    with torch.inference_mode(), context:
        for input_ids, mask in batches:
            model(input_ids=input_ids, attention_mask=mask)
    return sum(len(ids) for ids, _ in batches) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if not TWEETS.exists():
        sys.exit(f"{TWEETS} not found: this benchmark reads ../shared/data beside the repository")
    import torch
    from transformers import AutoModel

    from models import bert
    from models.encoder import Encoder, bundled_path

    torch.set_num_threads(2)
    texts = [json.loads(line)["text"] for line in TWEETS.open(encoding="utf-8")][: 128 if args.quick else 512]
    windows = sorted(Encoder().windows(texts)[0], key=len)
    batches = [bert.pad(windows[i : i + 32]) for i in range(0, len(windows), 32)]
    hf = AutoModel.from_pretrained(str(bundled_path()), local_files_only=True).eval()
    lean_bf16, lean_fp32 = bert.load(bundled_path(), torch.bfloat16), bert.load(bundled_path(), torch.float32)
    variants = {
        "transformers BertModel, fp32 weights + bf16 autocast (the old default)": (hf, True),
        "lean BERT, bf16 weights + bf16 autocast (the default)": (lean_bf16, True),
        "transformers BertModel, fp32": (hf, False),
        "lean BERT, fp32": (lean_fp32, False),
    }
    best = dict.fromkeys(variants, 0.0)
    for _ in range(3):
        for name, (model, autocast) in variants.items():
            best[name] = max(best[name], texts_per_second(model, batches, autocast))
    print(f"| encoder ({len(texts)} tweets, batch 32) | texts/s |\n|---|---:|")
    for name, rate in best.items():
        print(f"| {name} | {rate:.1f} |")


if __name__ == "__main__":
    main()
