"""Learning from corrections, end to end through the CLI: corrections recorded with
`apply_correction`, `model train --from-corrections`, `model eval --from-corrections --holdout 0.1`
and `[model] path`, in temporary folders (the numbers of MODEL_CARD.md "Learning from corrections").

    python bench/corrections.py            # brand, laptops_random, laptops_errors (minutes on 2 cores)
    python bench/corrections.py --quick    # brand only

Scenarios: *brand* is the sneaker-slang set of tests/test_corrections.py (36 corrected of 48
mentions, its 8 unseen slang mentions); *laptops_random* and *laptops_errors* store a seeded 1,000
SemEval-2016 laptops *train* sentences (a domain the bundled model never saw) as a shop's mentions
and correct 100 of them: a seeded random 100, or the first 100 the bundled model got wrong; the
other sentences are the unseen set. Laptop sentences take their aspects' single polarity (no
aspect: neutral; mixed polarities left out). TweetEval validation and the reviews held-out part
(the split `model eval --holdout 0.1` scores) are scored with the adapted head over fp32 vectors
of the bundled encoder (an adapted folder keeps its tuned layers). Reads ../shared/data only.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
DATA = ROOT.parent / "shared" / "data"
LAPTOPS_SEED = 20261201
IN_DATABASE = 1000
CORRECTED = 100

Labelled = tuple[list[str], list[str]]  # (texts, gold labels)


def run_cli(config: Path, *args: str) -> str:
    """Invoke the real CLI with ``--config``; its stdout, or exit with its output on failure."""
    from click.testing import CliRunner

    from sentimon.cli import cli

    result = CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    if result.exit_code != 0:
        sys.exit(f"sentimon {' '.join(args)} failed:\n{result.output}")
    return result.stdout


def macro_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Macro-F1 over the three sentiments."""
    from models.metrics import sentiment_report

    return sentiment_report(gold, pred)["macro_f1"]


def sentiments(classifier: Any, texts: list[str]) -> list[str]:
    """The sentiment ``classifier`` gives each text."""
    return [classification.sentiment for classification in classifier.classify(texts)]


def laptop_sentences() -> list[tuple[str, str]]:
    """SemEval-2016 laptops train: single-polarity sentences, no-opinion ones neutral."""
    rows = []
    with open(DATA / "absa_semeval2016_laptops" / "train.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            polarities = {aspect["polarity"] for aspect in row["aspects"]}
            if len(polarities) == 1:
                rows.append((row["text"], polarities.pop()))
            elif not polarities:
                rows.append((row["text"], "neutral"))
    return rows


def general_sets() -> dict[str, tuple[np.ndarray, list[str]]]:
    """fp32 bundled sentiment vectors and gold labels: TweetEval validation, reviews held-out."""
    from models import heads
    from models.data import read_jsonl, split, unescape
    from models.encoder import Encoder
    from models.train import DEFAULT_SEED

    encoder = Encoder(overrides=heads.load(heads.BUNDLED).encoder)
    reviews = read_jsonl(DATA / "womens_ecommerce_clothing_reviews" / "train.jsonl")
    sets = {"tweeteval_val": read_jsonl(DATA / "tweeteval_sentiment" / "validation.jsonl"),
            "reviews_heldout": split(reviews, 0.1, DEFAULT_SEED)[1]}
    vectors = {}
    for name, rows in sets.items():
        chunks = [encoder.embed_both([unescape(row.text) for row in rows[start:start + 256]])[0]
                  for start in range(0, len(rows), 256)]
        vectors[name] = (np.concatenate(chunks), [row.label for row in rows])
    return vectors


def general_scores(path: Path, general: dict[str, tuple[np.ndarray, list[str]]]) -> dict[str, float]:
    """Macro-F1 of the head in ``path`` on each cached general set."""
    from models import heads
    from sentimon.mention import SENTIMENTS

    head = heads.load(path).head
    return {name: macro_f1(gold, [SENTIMENTS[index] for index in head.probs(vectors).argmax(-1)])
            for name, (vectors, gold) in general.items()}


def database(folder: Path, classifier: Any, texts: list[str], labels: dict[int, str]) -> Path:
    """A shop's mentions classified by ``classifier``, ``labels`` (index -> label) corrected; the config."""
    from test_corrections import NOW

    from sentimon.corrections import Correction, apply_correction
    from sentimon.mention import Mention
    from sentimon.store import Store

    store = Store(folder / "s.db")
    mentions = [Mention("shop", f"m{index}", text, NOW) for index, text in enumerate(texts)]
    store.save_batch("shop", mentions, classifier.classify(texts))
    for index, label in labels.items():
        apply_correction(store, index + 1, Correction(sentiment=label), author="ana")
    store.close()
    config = folder / "sentimon.toml"
    config.write_text('[storage]\npath = "s.db"\n')
    return config


def held_out(config: Path, *path: str) -> float:
    """`model eval --from-corrections --holdout 0.1` macro-F1 (of ``--path`` if given)."""
    report = run_cli(config, "model", "eval", "--from-corrections", "--holdout", "0.1", *path, "--format", "json")
    return json.loads(report)["macro_f1"]


def scenario(classifier: Any, texts: list[str], labels: dict[int, str], unseen: Labelled,
             general: dict[str, tuple[np.ndarray, list[str]]]) -> dict[str, Any]:
    """Correct ``labels`` among ``texts``, adapt the bundled model, score before and after."""
    import models

    unseen_texts, unseen_gold = unseen
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = database(folder, classifier, texts, labels)
        result = {"corrections": len(labels), "mentions": len(texts), "heldout_bundled": held_out(config),
                  "unseen_bundled": macro_f1(unseen_gold, sentiments(classifier, unseen_texts))}
        out = folder / "adapted"
        started = time.perf_counter()
        run_cli(config, "model", "train", "--from-corrections", "--out", str(out))
        result["train_seconds"] = time.perf_counter() - started
        result["heldout_adapted"] = held_out(config, "--path", str(out))
        taught = models.load_classifier({"threads": 2, "path": str(out)}, models.DEFAULT_TOPICS)
        result["unseen_adapted"] = macro_f1(unseen_gold, sentiments(taught, unseen_texts))
        result.update({f"{name}_adapted": score for name, score in general_scores(out, general).items()})
    return result


def scenarios(classifier: Any, quick: bool) -> dict[str, tuple[list[str], dict[int, str], Labelled]]:
    """name -> (mention texts, corrected index -> label, unseen texts and labels)."""
    from test_corrections import SLANG, UNCORRECTED, UNSEEN_SLANG

    chosen = {"brand": ([text for text, _ in SLANG] + UNCORRECTED, {index: label for index, (_, label) in enumerate(SLANG)},
                        ([text for text, _ in UNSEEN_SLANG], [label for _, label in UNSEEN_SLANG]))}
    if quick:
        return chosen
    laptops = laptop_sentences()
    order = list(range(len(laptops)))
    random.Random(LAPTOPS_SEED).shuffle(order)
    in_database, rest = order[:IN_DATABASE], order[IN_DATABASE:]
    texts = [laptops[index][0] for index in in_database]
    gold = [laptops[index][1] for index in in_database]
    unseen = ([laptops[index][0] for index in rest], [laptops[index][1] for index in rest])
    chosen["laptops_random"] = (texts, {index: gold[index] for index in range(CORRECTED)}, unseen)
    predicted = sentiments(classifier, texts)
    wrong = [index for index in range(len(texts)) if predicted[index] != gold[index]][:CORRECTED]
    chosen["laptops_errors"] = (texts, {index: gold[index] for index in wrong}, unseen)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the brand scenario only")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"bench/corrections.py needs the shared data sets in {DATA} (not found)")
    import models
    from models import heads

    classifier = models.load_classifier({"threads": 2}, models.DEFAULT_TOPICS)
    general = general_sets()
    bundled = general_scores(heads.BUNDLED, general)
    print(f"bundled: TweetEval val {bundled['tweeteval_val']:.4f}, reviews held-out {bundled['reviews_heldout']:.4f}\n")
    print("| scenario | corrections | held-out bundled→adapted | unseen bundled→adapted | TweetEval val adapted | "
          "reviews held-out adapted | train s |\n|---|---:|---:|---:|---:|---:|---:|")
    for name, (texts, labels, unseen) in scenarios(classifier, args.quick).items():
        result = scenario(classifier, texts, labels, unseen, general)
        print(f"| {name} | {result['corrections']} of {result['mentions']} | {result['heldout_bundled']:.3f} → {result['heldout_adapted']:.3f} | "
              f"{result['unseen_bundled']:.4f} → {result['unseen_adapted']:.4f} ({len(unseen[0])}) | {result['tweeteval_val_adapted']:.4f} | "
              f"{result['reviews_heldout_adapted']:.4f} | {result['train_seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
