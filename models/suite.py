"""``sentimon model eval --suite DIR``: every validation set under DIR, scored in one run, one table.

Why one command: a change that helps airline complaints can cost restaurant reviews or
TweetEval; judging it on one set at a time hides that. Each sub-folder of DIR is one set:
its ``validation.jsonl`` is scored; a folder with only ``train.jsonl`` is scored on the seeded
10% that ``model train`` and the recipes hold out of it (the clothing reviews, SemEval-2014).
Sentiment rows (``label``/``sentiment``/``rating``) are scored for sentiment; aspect rows for
topics and per-topic sentiment with the taxonomy written for that set (``models/taxonomies``);
rows with a ``language`` field are also scored per language.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from models.data import Example, read_jsonl, split
from models.evaluate import evaluate_sentiment, evaluate_topics, gold_sentiments
from models.metrics import sentiment_report

TAXONOMIES = Path(__file__).resolve().parent / "taxonomies"
# Aspect sets whose categories a shipped taxonomy names (folder name -> taxonomy file stem).
TOPIC_TAXONOMIES = {"absa_mams_acsa": "mams", "absa_semeval2014_restaurants": "restaurants"}
HOLDOUT = 0.1
Progress = Callable[[int], None]


@dataclass(frozen=True)
class SuiteSet:
    name: str
    path: Path
    task: str  # "sentiment" | "topics"
    split: str  # "validation" | "train 10% held out"
    taxonomy: Path | None = None


def discover(root: Path) -> tuple[list[SuiteSet], list[str]]:
    """The sets under ``root`` and, for folders left out, one line each saying why."""
    sets: list[SuiteSet] = []
    skipped: list[str] = []
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        path = folder / "validation.jsonl"
        where = "validation"
        if not path.exists():
            path, where = folder / "train.jsonl", f"train {HOLDOUT:.0%} held out"
        if not path.exists():
            skipped.append(f"{folder.name}: no validation.jsonl or train.jsonl")
            continue
        task = _task(path)
        taxonomy = None
        if task == "topics":
            stem = TOPIC_TAXONOMIES.get(folder.name)
            if stem is None:
                skipped.append(f"{folder.name}: aspect rows with no taxonomy for their categories")
                continue
            taxonomy = TAXONOMIES / f"{stem}.toml"
        sets.append(SuiteSet(folder.name, path, task, where, taxonomy))
    return sets, skipped


def _task(path: Path) -> str:
    with path.open(encoding="utf-8") as handle:
        first = json.loads(handle.readline() or "{}")
    return "topics" if isinstance(first.get("aspects"), list) else "sentiment"


def rows_of(entry: SuiteSet, seed: int) -> list[Example]:
    rows = read_jsonl(entry.path, entry.task)
    return rows if entry.split == "validation" else split(rows, HOLDOUT, seed)[1]


def languages_of(entry: SuiteSet, rows: Sequence[Example]) -> list[str] | None:
    """Each row's ``language`` field, when the file has one (multilingual sets)."""
    with entry.path.open(encoding="utf-8") as handle:
        langs = [json.loads(line).get("language") for line in handle if line.strip()]
    if entry.split != "validation" or len(langs) != len(rows) or not any(langs):
        return None
    return [str(lang) for lang in langs]


def score_set(entry: SuiteSet, rows: Sequence[Example], classifier: Any, topics: Sequence[Any],
              progress: Progress | None = None) -> list[dict[str, Any]]:
    """One result row per set (and one per language for multilingual sets)."""
    base = {"set": entry.name, "split": entry.split, "task": entry.task}
    if entry.task == "topics":
        report = evaluate_topics(classifier, rows, topics, progress)
        return [{**base, "n": report["n"], "micro_f1": report["micro_f1"],
                 "aspect_sentiment_accuracy": report["aspect_sentiment_accuracy"]}]
    langs = languages_of(entry, rows)
    report = evaluate_sentiment(classifier, rows, progress, keep_predictions=bool(langs))
    out = [{**base, **_sentiment_row(report)}]
    if langs:
        gold, pred = gold_sentiments(rows), report["predictions"]
        for lang in sorted(set(langs)):
            pick = [i for i, code in enumerate(langs) if code == lang]
            sub = sentiment_report([gold[i] for i in pick], [pred[i] for i in pick])
            out.append({**base, "set": f"{entry.name}/{lang}", **_sentiment_row(sub)})
    return out


def _sentiment_row(report: dict[str, Any]) -> dict[str, Any]:
    return {"n": report["n"], "macro_f1": report["macro_f1"], "macro_recall": report["macro_recall"],
            "accuracy": report["accuracy"], "negative_recall": report["per_class"]["negative"]["recall"]}


def table(results: Sequence[dict[str, Any]], model: str) -> str:
    """The suite as a fixed-width table: sentiment columns, then topic columns."""
    lines = [f"model {model}",
             f"{'set':<36}{'split':<20}{'n':>6}{'macroF1':>9}{'macroR':>8}{'acc':>7}{'negR':>7}"
             f"{'topicF1':>9}{'aspAcc':>8}"]
    for r in results:
        cells = [f"{r.get(k, ''):>{w}.4f}" if isinstance(r.get(k), float) else " " * w
                 for k, w in (("macro_f1", 9), ("macro_recall", 8), ("accuracy", 7), ("negative_recall", 7),
                              ("micro_f1", 9), ("aspect_sentiment_accuracy", 8))]
        lines.append(f"{r['set']:<36}{r['split']:<20}{r['n']:>6}" + "".join(cells))
    return "\n".join(lines)
