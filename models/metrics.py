"""Scores for ``sentimon model eval``: plain Python, so the numbers mean exactly what they say.

Sentiment: accuracy, macro-F1, macro-recall (TweetEval's official measure), per-class
precision/recall/F1/support and the confusion matrix (rows gold, columns predicted).
Topics: micro- and macro-F1 over (text, topic) decisions, per-topic scores, and the accuracy of
the per-topic sentiment on the topics that were both gold and found.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from sentimon.mention import SENTIMENTS


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def sentiment_report(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] = SENTIMENTS) -> dict[str, Any]:
    """The JSON shape of ``model eval --task sentiment`` (without ``task``)."""
    confusion = {g: {p: 0 for p in labels} for g in labels}
    for g, p in zip(gold, pred):
        confusion[g][p] += 1
    per_class: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = confusion[label][label]
        fp = sum(confusion[g][label] for g in labels if g != label)
        fn = sum(confusion[label][p] for p in labels if p != label)
        precision, recall, f1 = _prf(tp, fp, fn)
        per_class[label] = {"precision": round(precision, 4), "recall": round(recall, 4),
                            "f1": round(f1, 4), "support": tp + fn}
    present = [label for label in labels if per_class[label]["support"]] or list(labels)
    n = len(gold)
    return {
        "n": n,
        "accuracy": round(sum(g == p for g, p in zip(gold, pred)) / n, 4) if n else 0.0,
        "macro_f1": round(sum(per_class[c]["f1"] for c in present) / len(present), 4),
        "macro_recall": round(sum(per_class[c]["recall"] for c in present) / len(present), 4),
        "per_class": per_class,
        "confusion": confusion,
    }


def topics_report(
    gold: Sequence[dict[str, str]],
    pred: Sequence[dict[str, str]],
    topics: Iterable[str],
) -> dict[str, Any]:
    """Score predicted ``{topic: sentiment}`` dicts against gold ones, over ``topics``.

    Gold polarities outside negative/neutral/positive (SemEval's ``conflict``) count for topic
    detection but not for aspect sentiment accuracy.
    """
    names = list(topics)
    counts = {name: [0, 0, 0] for name in names}  # tp, fp, fn
    correct = judged = 0
    for g, p in zip(gold, pred):
        for name in names:
            if name in g and name in p:
                counts[name][0] += 1
                if g[name] in SENTIMENTS:
                    judged += 1
                    correct += g[name] == p[name]
            elif name in p:
                counts[name][1] += 1
            elif name in g:
                counts[name][2] += 1
    per_topic = {}
    for name, (tp, fp, fn) in counts.items():
        precision, recall, f1 = _prf(tp, fp, fn)
        per_topic[name] = {"precision": round(precision, 4), "recall": round(recall, 4),
                           "f1": round(f1, 4), "support": tp + fn}
    tp, fp, fn = (sum(c[i] for c in counts.values()) for i in range(3))
    scored = [name for name in names if per_topic[name]["support"]] or names
    return {
        "n": len(gold),
        "micro_f1": round(_prf(tp, fp, fn)[2], 4),
        "macro_f1": round(sum(per_topic[t]["f1"] for t in scored) / max(len(scored), 1), 4),
        "per_topic": per_topic,
        "aspect_sentiment_accuracy": round(correct / judged, 4) if judged else 0.0,
    }
