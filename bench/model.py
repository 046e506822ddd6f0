"""Model benchmark: speed per backend beside same-shape peers, and accuracy beside VADER.

    python bench/model.py            # full run (minutes on 2 cores)
    python bench/model.py --quick    # small sizes; also what CI=true selects

Prints markdown tables for docs/BENCHMARKS.md:
- texts/s and p50/p95 latency at batch 1 and 32, tweets and reviews, for the bundled encoder on
  each backend (fp32, bf16 autocast, int8 dynamic quantisation), for the full classifier
  (sentiment + topics + clauses), and for randomly initialised peers with the architecture of
  twitter-roberta-base-sentiment-latest (RoBERTa-base) and distilbert-base-uncased-finetuned-sst-2
  (DistilBERT-base) - random weights, since only speed matters there - plus a bart-large-mnli
  sized model scoring 8 topics zero-shot (one pass per text and topic);
- tokens/s against the FLOP cost (MiniLM-L6 ~21.5 MFLOP per token);
- macro-F1 / macro-recall / accuracy of every backend and of VADER on the validation sets;
- resident memory of this process with the bundled model loaded.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("SENTIMON_SHARED", ROOT.parent / "shared")) / "data"
MFLOP_PER_TOKEN = 21.5


def texts_from(path: Path, n: int, fallback: str) -> list[str]:
    from models.data import read_jsonl, unescape

    if path.exists():
        return [unescape(r.text) for r in read_jsonl(path)][:n]
    return [fallback] * n


def labelled(path: Path, n: int, holdout: float = 0.0) -> list[Any]:
    from models.data import read_jsonl, split
    from models.train import DEFAULT_SEED

    if not path.exists():
        return []
    rows = read_jsonl(path)
    if holdout:
        rows = split(rows, holdout, DEFAULT_SEED)[1]
    return rows[:: max(1, len(rows) // n)][:n]  # spread over the labels (split groups them)


def timed(fn: Callable[[list[str]], Any], texts: Sequence[str], batch: int, repeats: int = 1) -> dict[str, float]:
    """texts/s over all batches, and p50/p95 latency of one batch call, in ms."""
    fn(list(texts[: min(len(texts), batch)]))  # warm-up
    latencies: list[float] = []
    start = time.perf_counter()
    for _ in range(repeats):
        for i in range(0, len(texts), batch):
            t = time.perf_counter()
            fn(list(texts[i : i + batch]))
            latencies.append(time.perf_counter() - t)
    total = time.perf_counter() - start
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(round(0.95 * (len(latencies) - 1))))]
    return {"texts_s": repeats * len(texts) / total, "p50_ms": 1000 * statistics.median(latencies), "p95_ms": 1000 * p95}


def peer(kind: str) -> Callable[[list[str]], Any]:
    """A randomly initialised classifier of a named architecture, fed the bundled tokenizer's ids."""
    import torch
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, BartConfig,
                              DistilBertConfig, RobertaConfig)

    from models.encoder import bundled_path

    config = {"roberta-base": lambda: RobertaConfig(num_labels=3),
              "distilbert-base": lambda: DistilBertConfig(num_labels=2),
              "bart-large-mnli": lambda: BartConfig.from_dict(dict(
                  d_model=1024, encoder_layers=12, decoder_layers=12, encoder_attention_heads=16,
                  decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096, num_labels=3))}[kind]()
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_config(config).eval()
    tok = AutoTokenizer.from_pretrained(str(bundled_path()))
    vocab = config.vocab_size

    def run(texts: list[str]) -> Any:
        if kind == "bart-large-mnli":  # zero-shot: one premise/hypothesis pass per topic
            texts = [f"{t} </s> This text is about topic {k}." for t in texts for k in range(8)]
        enc = tok(texts, truncation=True, max_length=256, padding=True, return_tensors="pt")
        ids = enc["input_ids"].clamp(max=vocab - 1)
        if kind == "bart-large-mnli":  # BART pools at its one </s> token per row
            eos = config.eos_token_id
            ids[ids == eos] = eos + 1
            ids[torch.arange(len(ids)), enc["attention_mask"].sum(1) - 1] = eos
        with torch.inference_mode():
            return model(input_ids=ids, attention_mask=enc["attention_mask"]).logits

    return run


def accuracy_rows(quick: bool) -> dict[str, list[Any]]:
    n = 300 if quick else 100_000
    return {
        "TweetEval validation": labelled(SHARED / "tweeteval_sentiment" / "validation.jsonl", n),
        "reviews held-out 10%": labelled(SHARED / "womens_ecommerce_clothing_reviews" / "train.jsonl", n, 0.1),
    }


def vader(rows: Sequence[Any]) -> dict[str, Any] | None:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        return None
    from models.data import unescape
    from models.metrics import sentiment_report

    analyzer = SentimentIntensityAnalyzer()
    pred = []
    for row in rows:
        c = analyzer.polarity_scores(unescape(row.text))["compound"]
        pred.append("positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral")
    return sentiment_report([r.label for r in rows], pred)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (also when CI=true)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--no-speed", action="store_true", help="skip the bundled-backend speed table")
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get("CI", "").lower() == "true"
    import torch

    torch.set_num_threads(args.threads)
    import models
    from models.encoder import Encoder
    from models.evaluate import evaluate_sentiment

    n = 64 if quick else 512
    tweets = texts_from(SHARED / "tweeteval_sentiment" / "validation.jsonl", n, "@user can't wait for the new album tomorrow!!")
    reviews = texts_from(SHARED / "womens_ecommerce_clothing_reviews" / "train.jsonl", n // 2,
                         "Love this dress, the fabric is soft and it fits true to size. " * 4)
    print(f"# sentimon model benchmark ({time.strftime('%Y-%m-%d %H:%M')}, {args.threads} threads, "
          f"torch {torch.__version__}, {'quick' if quick else 'full'})\n")
    print("| model | backend | texts | batch | texts/s | p50 ms | p95 ms | tokens/s | GFLOP/s |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|")
    tokens_per = {}
    base_speed: dict[str, float] = {}
    for backend in () if args.no_speed else ("fp32", "bf16", "int8"):
        encoder = Encoder(backend=backend, overrides=models_overrides())
        for label, texts in (("tweets", tweets), ("reviews", reviews)):
            tokens_per[label] = sum(len(w) for w in encoder.windows(texts)[0]) / len(texts)
            for batch in (1, 32):
                sample = texts[: 32 if batch == 1 else len(texts)]
                r = timed(encoder.embed_both, sample, batch)
                tps = r["texts_s"] * tokens_per[label]
                print(f"| bundled MiniLM-L6 encoder | {backend} | {label} | {batch} | {r['texts_s']:.0f} | "
                      f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {tps:.0f} | {tps * MFLOP_PER_TOKEN / 1000:.1f} |")
                if batch == 32:
                    base_speed[f"{backend}/{label}"] = r["texts_s"]
        sys.stdout.flush()
    clf = models.load_classifier({"backend": "auto"}, models.DEFAULT_TOPICS)
    aspect_head = clf.aspect_head
    for label, texts in () if args.no_speed else (("tweets", tweets), ("reviews", reviews)):
        # With and without the per-topic attention head, back to back: its cost as a ratio.
        for name, head in (("sentiment+topics+clauses+aspect head", aspect_head), ("sentiment+topics+clauses", None)):
            clf.aspect_head = head
            r = timed(clf.classify, texts, 32)
            print(f"| full classifier ({name}) | {clf.name.split('/')[-1]} | {label} | 32 | "
                  f"{r['texts_s']:.0f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | | |")
    clf.aspect_head = aspect_head
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peers: dict[str, float] = {}
    if not args.no_peers:
        for kind in ("roberta-base", "distilbert-base", "bart-large-mnli"):
            run = peer(kind)
            for label, texts in (("tweets", tweets), ("reviews", reviews)):
                sample = texts[: 8 if kind == "bart-large-mnli" else (64 if quick else 256)]
                for batch in ((8,) if kind == "bart-large-mnli" else (1, 32)):
                    r = timed(run, sample[: 16 if batch == 1 else len(sample)], batch)
                    print(f"| {kind} (random weights){' x 8 topics' if kind.startswith('bart') else ''} | fp32 | "
                          f"{label} | {batch} | {r['texts_s']:.1f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | | |")
                    if batch == 32:
                        peers[f"{kind}/{label}"] = r["texts_s"]
            sys.stdout.flush()
        print()
        for label in ("tweets", "reviews"):
            if f"roberta-base/{label}" in peers and base_speed:
                best = max(v for k, v in base_speed.items() if k.endswith(label))
                print(f"- {label}, batch 32: bundled (fastest backend) / RoBERTa-base = "
                      f"{best / peers[f'roberta-base/{label}']:.1f}x; fp32 / RoBERTa-base = "
                      f"{base_speed[f'fp32/{label}'] / peers[f'roberta-base/{label}']:.1f}x")
    print(f"- resident memory with the bundled model loaded (before peers): {rss:.0f} MB")
    if tokens_per:
        print(f"- mean tokens per text: tweets {tokens_per['tweets']:.0f}, reviews {tokens_per['reviews']:.0f}")
    print()

    print("| validation set | model | backend | n | macro-F1 | macro-recall | accuracy |")
    print("|---|---|---|---:|---:|---:|---:|")
    for name, rows in accuracy_rows(quick).items():
        if not rows:
            continue
        for backend in ("fp32", "bf16", "int8"):
            c = models.load_classifier({"backend": backend}, [])
            r = evaluate_sentiment(c, rows)
            print(f"| {name} | bundled | {backend} | {r['n']} | {r['macro_f1']:.4f} | {r['macro_recall']:.4f} | {r['accuracy']:.4f} |")
        v = vader(rows)
        if v:
            print(f"| {name} | VADER (lexicon) | - | {v['n']} | {v['macro_f1']:.4f} | {v['macro_recall']:.4f} | {v['accuracy']:.4f} |")
        sys.stdout.flush()


def models_overrides() -> dict[str, Any] | None:
    """The shipped artifact's fine-tuned layers, so the encoder timed is the one classify runs."""
    from models import heads

    return heads.load(heads.BUNDLED).encoder or None


if __name__ == "__main__":
    main()
