"""Why an alert fired: the numbers, the topics driving it, unusual phrases and examples.

An alert that says only "negative share 41%" sends someone digging through the store at
3 a.m.; one that says "delivery: 18 of 22 complaints, 'tracking never updated' in 9 of
them, here are the five worst with links" can be acted on from the notification itself.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import datetime
from typing import Any, Iterable, Sequence

from alerts import query, stats
from alerts.query import Scope
from alerts.reader import AlertReader, MentionFilter
from alerts.rules import AlertRule, Decision

_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
STOPWORDS = frozenset(
    """a about after again all also am an and any are as at be because been before being but by
    can could did do does doing don't for from get got had has have having he her here him his
    how i i'm i've if in into is it it's its just me more most my no not now of on once only or
    other our out over own really same she so some still such than that the their them then there
    these they this those through to too up us very was we were what when where which while who
    why will with would you your yours im ive dont cant didnt isnt wasnt one even ever""".split()
)
EXAMPLES = 5
TEXT_LIMIT = 500


def tokens(text: str) -> list[str]:
    return [w.strip("'’-").lower() for w in _WORD.findall(text or "") if len(w) > 1]


def _terms(text: str, brand: frozenset[str] = frozenset()) -> set[str]:
    """Content words and the 2- and 3-word phrases among them. A phrase never spans a stopword
    or a word of the brand's name ("Acme Shoes tracking never updated" gives "tracking never
    updated", not "shoes tracking"); "acme's" counts as "acme"."""
    words = tokens(text)
    content = [w not in STOPWORDS and w not in brand and _possessor(w) not in brand for w in words]
    terms = {w for w, ok in zip(words, content) if ok and len(w) > 2}
    for size in (2, 3):
        for i in range(len(words) - size + 1):
            if all(content[i:i + size]):
                terms.add(" ".join(words[i:i + size]))
    return terms


def _possessor(word: str) -> str:
    return word[:-2] if word.endswith(("'s", "’s")) else word


def brand_words(terms: Iterable[str]) -> frozenset[str]:
    """The words of a rule's ``brand_terms`` (its brand's name and its connectors' queries,
    set by the config loader), tokenized as mention texts are."""
    return frozenset(w for term in terms for w in tokens(term)) - STOPWORDS


def unusual_phrases(window: Sequence[str], baseline: Sequence[str], limit: int = 5,
                    min_count: int = 3, brand: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Phrases in many more window texts than their baseline frequency predicts, without the
    words that name the brand (``brand``: names and queries): a spike of posts found by
    searching for "Acme Shoes" names Acme Shoes more often than the baseline's reviews do, and
    saying so tells nobody what went wrong.

    Scored by the smoothed log ratio of document frequencies, weighted by how many window
    texts use the phrase, so a word in 12 complaints beats a typo in 3. A phrase sharing a word
    with one already chosen is a variant of it: merged when they chain or one holds the other
    with nearly the same count, dropped otherwise ("tracking never updated", not also
    "tracking never", "never updated" and "tracking"). Glue words (``_fragments``) are left
    out and do not make two phrases variants of each other.
    """
    if not window:
        return []
    excluded = brand_words(brand)
    window_terms = [_terms(text, excluded) for text in window]
    w_df: Counter[str] = Counter()
    for found in window_terms:
        w_df.update(found)
    b_df: Counter[str] = Counter()
    for text in baseline:
        b_df.update(_terms(text, excluded))
    size_w, size_b = len(window), max(len(baseline), 1)
    need = max(min_count, math.ceil(0.1 * size_w))
    scored = []
    for term, count in w_df.items():
        if count < need:
            continue
        share_b = (b_df[term] + 0.5) / (size_b + 1)
        ratio = (count / size_w) / share_b
        if ratio < 2.0:
            continue
        scored.append((round(math.log(ratio) * math.sqrt(count), 6), len(term.split()), term, count))
    parts = _fragments({term: {i for i, found in enumerate(window_terms) if term in found}
                        for _s, _n, term, _c in scored})
    scored = [item for item in scored if item[2] not in parts]
    scored.sort(key=lambda item: (-item[0], -item[1], item[2]))
    chosen: list[tuple[str, int]] = []
    for _score, _size, term, count in scored:
        words = set(term.split()) - parts  # phrases sharing only a glue word are distinct
        overlapping = [i for i, (c, _n) in enumerate(chosen) if words & set(c.split())]
        if overlapping:  # a variant of a phrase already shown: extend it if it chains, else skip
            i = overlapping[0]
            merged = _merge(chosen[i][0], term)
            if merged and min(count, chosen[i][1]) >= 0.8 * max(count, chosen[i][1]):
                chosen[i] = (merged, min(count, chosen[i][1]))
            continue
        chosen.append((term, count))
        if len(chosen) >= limit:
            break
    return [
        {"phrase": term, "window": count, "window_share": round(count / size_w, 3),
         "baseline_share": round(b_df.get(term, 0) / size_b, 3) if baseline else 0.0}
        for term, count in chosen
    ]


def _fragments(texts: dict[str, set[int]], share: float = 0.8) -> set[str]:
    """Candidates unusual only as the common part of several longer ones: ``share`` of the
    texts using one use a longer candidate containing it, and no single one covers them.
    "never" in "tracking never updated", "never arrived" and "never ordering again" is the
    glue of three complaints, not a fourth. (A part of one phrase, in nearly the same texts,
    is merged into it when chosen: ``_merge``.)"""
    parts = set()
    for term, found in texts.items():
        inside = f" {term} "
        covers = [where & found for other, where in texts.items() if other != term and inside in f" {other} "]
        alone = max((len(c) for c in covers), default=0)
        if len(set().union(*covers)) >= share * len(found) > alone:
            parts.add(term)
    return parts


def _merge(a: str, b: str, longest: int = 5) -> str | None:
    """Join two overlapping phrases ("never updated channel" + "tracking never updated" ->
    "tracking never updated channel"), up to ``longest`` words, or keep the longer when one
    holds the other ("never" + "tracking never updated"); None if they do not chain."""
    x, y = a.split(), b.split()
    if f" {a} " in f" {b} " or f" {b} " in f" {a} ":  # one is part of the other
        return a if len(x) >= len(y) else b
    for first, second in ((x, y), (y, x)):
        for k in range(min(len(first), len(second)) - 1, 0, -1):
            if first[-k:] == second[:k] and len(first) + len(second) - k <= longest:
                return " ".join(first + second[k:])
    return None


def drivers(window_total: int, window_topics: dict[str, int], baseline_total: int,
            baseline_topics: dict[str, int], limit: int = 3) -> list[dict[str, Any]]:
    """Topics with the most negative mentions above what the baseline rate predicts for a
    window of this size: the topics that account for the spike, not merely the common ones."""
    rows: list[dict[str, Any]] = []
    for topic, count in window_topics.items():
        rate = baseline_topics.get(topic, 0) / baseline_total if baseline_total else 0.0
        expected = rate * window_total
        excess = count - expected
        if excess > 0:
            rows.append({"topic": topic, "negative": count, "expected": round(expected, 1),
                         "excess": round(excess, 1)})
    rows.sort(key=lambda r: (-r["excess"], r["topic"]))
    return rows[:limit]


def examples(rows: Iterable[dict[str, Any]], limit: int = EXAMPLES) -> list[dict[str, Any]]:
    """The most negative mentions, one per distinct text, with http(s) links only."""
    chosen, seen = [], set()
    for row in rows:
        key = " ".join((row.get("text") or "").lower().split())[:200]
        if key in seen:
            continue
        seen.add(key)
        url = row.get("url") or ""
        reply = row.get("reply_url")
        reply = reply if isinstance(reply, str) else ""
        text = row.get("text") or ""
        chosen.append({
            "id": row["id"], "source": row["source"], "kind": row.get("kind"),
            "url": url if url.lower().startswith(("https://", "http://")) else None,
            # where the team answers it (the ticket, the post), when the source has such a page
            "reply_url": reply if reply.lower().startswith(("https://", "http://")) else None,
            "author": row.get("author"), "title": row.get("title"),
            "text": text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…",
            "rating": row.get("rating"), "created_at": row["created_at"],
            "score_negative": round(float(row.get("score_negative") or 0.0), 3),
        })
        if len(chosen) >= limit:
            break
    return chosen


def numbers(rule: AlertRule, scope: Scope, decision: Decision) -> dict[str, Any]:
    """The figures every notifier shows, already rounded for people."""
    window, baseline = scope.window, scope.baseline
    low, high = stats.wilson_interval(window.k, window.n)
    return {
        "metric": rule.metric, "window": _span(rule.window.total_seconds()),
        "baseline": rule.baseline, "mentions": window.n, "negative": window.k,
        "negative_share": round(window.k / window.n, 4) if window.n else 0.0,
        "share_interval": [round(low, 4), round(high, 4)],
        "baseline_mentions": baseline.n,
        "baseline_share": round(baseline.k / baseline.n, 4) if baseline.n else 0.0,
        "observed": round(decision.observed, 4), "expected": round(decision.expected, 4),
        "ratio": round(decision.ratio, 2), "p_value": float(f"{decision.p_value:.3g}"),
        "dispersion": round(decision.dispersion, 2),
        "alpha": decision.level if decision.level is not None else rule.alpha,
        "threshold": rule.threshold, "windows": decision.windows,
    }


def _span(seconds: float) -> str:
    from datetime import timedelta

    from sentimon.durations import format_duration

    return format_duration(timedelta(seconds=seconds))


def explain(reader: AlertReader, rule: AlertRule, scope: Scope, decision: Decision,
            now: datetime, seen: frozenset[int] = frozenset()) -> dict[str, Any]:
    """Everything an alert carries, as one JSON-ready dict (stored in ``alert_events.details``).

    ``seen``: mentions already shown by earlier notices of the alert; a follow-up shows the
    most negative of the others first, so it brings news rather than the same five posts."""
    where, topic = MentionFilter.of(rule), scope.topic
    w_start, w_end = query.window_range(rule, now)
    b_ranges = query.baseline_ranges(rule, now)
    w_total, w_topics = reader.topic_negatives(where, topic, w_start, w_end)
    b_total, b_topics = 0, Counter[str]()
    for start, end in b_ranges:
        total, found = reader.topic_negatives(where, topic, start, end)
        b_total += total
        b_topics.update(found)
    worst = reader.negative_mentions(where, topic, w_start, w_end, limit=2000)
    window_texts = [f"{r.get('title') or ''} {r.get('text') or ''}" for r in worst]
    baseline_texts: list[str] = []
    for start, end in b_ranges:
        baseline_texts += reader.recent_texts(where, topic, start, end, negative_only=True, limit=5000)
    if len(baseline_texts) < 20:
        for start, end in b_ranges:
            baseline_texts += reader.recent_texts(where, topic, start, end, negative_only=False, limit=5000)
    return {
        "rule": rule.name, "scope": scope.name, "topic": scope.topic,
        "numbers": numbers(rule, scope, decision),
        "drivers": drivers(w_total, w_topics, b_total, dict(b_topics)),
        "phrases": unusual_phrases(window_texts, baseline_texts, brand=rule.brand_terms),
        "examples": examples([r for r in worst if r["id"] not in seen] + [r for r in worst if r["id"] in seen]),
        "series": query.series(reader, rule, scope.topic, now),
        "reasons": list(decision.reasons),
    }
