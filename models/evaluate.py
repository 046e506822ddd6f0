"""``sentimon model eval``: run a classifier over labelled rows and score it.

The classifier is the one the product uses (same clause splitting, same thresholds), so the
numbers are what a CX team gets. Topic gold categories are matched to the taxonomy's topic
names; gold categories the taxonomy lacks are ignored, as the issue specifies.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from models.data import Example, unescape
from models.metrics import sentiment_report, topics_report
from models.topics import KeywordMatcher
from models.taxonomy import TopicSpec
from sentimon.errors import ModelError

Progress = Callable[[int], None]


def _classify(classifier: Any, texts: list[str], progress: Progress | None, batch: int = 256) -> list[Any]:
    out: list[Any] = []
    for start in range(0, len(texts), batch):
        chunk = texts[start : start + batch]
        out.extend(classifier.classify(chunk))
        if progress:
            progress(len(chunk))
    return out


def evaluate_sentiment(classifier: Any, rows: Sequence[Example], progress: Progress | None = None,
                       keep_predictions: bool = False) -> dict[str, Any]:
    """Sentiment scores; with ``keep_predictions`` the per-row labels too (to score subsets)."""
    gold = gold_sentiments(rows)
    results = _classify(classifier, [unescape(r.text) for r in rows], progress)
    report = sentiment_report(gold, [c.sentiment for c in results])
    if keep_predictions:
        report["predictions"] = [c.sentiment for c in results]
    return {"task": "sentiment", **report}


def gold_sentiments(rows: Sequence[Example]) -> list[str]:
    """Each row's sentiment label; a row without one (a topics-only row) cannot be scored."""
    gold = [r.label for r in rows if r.label is not None]
    if len(gold) != len(rows):
        raise ModelError(f"{len(rows) - len(gold)} of {len(rows)} rows have no sentiment label to score against")
    return gold


def gold_topics(rows: Sequence[Example], names: Sequence[str]) -> list[dict[str, str]]:
    """Per row, ``{topic: polarity}`` for the gold categories that are topics of the taxonomy."""
    known = set(names)
    gold: list[dict[str, str]] = []
    for row in rows:
        entry: dict[str, str] = {}
        for aspect in row.aspects:
            name = aspect.category.strip().lower().replace(" ", "_")
            if name in known:
                # Two labels mapping to one topic with different polarities become "conflict".
                entry[name] = aspect.polarity if entry.get(name, aspect.polarity) == aspect.polarity else "conflict"
        gold.append(entry)
    return gold


def evaluate_topics(classifier: Any, rows: Sequence[Example], topics: Sequence[TopicSpec],
                    progress: Progress | None = None) -> dict[str, Any]:
    names = [t.name for t in topics]
    results = _classify(classifier, [unescape(r.text) for r in rows], progress)
    pred = [{t.name: t.sentiment for t in c.topics} for c in results]
    return {"task": "topics", **topics_report(gold_topics(rows, names), pred, names)}


def evaluate_keywords(rows: Sequence[Example], topics: Sequence[TopicSpec]) -> dict[str, Any]:
    """The keyword-matcher baseline on the same rows and taxonomy (no sentiment: topics only)."""
    names = [t.name for t in topics]
    matcher = KeywordMatcher(topics)
    pred = [{name: "neutral" for name in matcher.match(unescape(r.text))} for r in rows]
    report = topics_report(gold_topics(rows, names), pred, names)
    report.pop("aspect_sentiment_accuracy")
    return {"task": "topics", "model": "keywords", **report}
