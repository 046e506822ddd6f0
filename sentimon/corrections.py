"""Human corrections: CX staff know better than the model when it is wrong.

A correction is applied to the mention itself, so every filter, stat, report and alert sees
the human's judgement through the same indexes, and it is logged in ``corrections`` with
who, when, and the values it replaced: the model's own output is the first entry's
``before_*`` and is never lost. ``training_rows`` turns the corrected mentions into the
JSONL rows ``sentimon model train`` reads, so a team's vocabulary becomes the model's, and
``anchor_texts`` gives the mentions nobody corrected, on which the retrained model is held to
its old answers so that learning the corrections does not unlearn the rest.

Both stores apply a correction through their ``apply_correction`` method, which runs
``record`` (this module's statements, in the portable subset) in one transaction: the read of
what the mention said, the log entry and the change, so two people correcting one mention, or
a person and the pending classifier, cannot log a ``before`` that was already overwritten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from sentimon import mention_sql
from sentimon.errors import SentimonError
from sentimon.mention import SENTIMENTS
from sentimon.times import to_db_time

if TYPE_CHECKING:  # the stores call record(); they are imported here for types only
    from sentimon.mention_store import MentionStore
    from sentimon.store import Store

HUMAN_SCORE = 1.0  # a person's topic label is certain


class CorrectionError(SentimonError):
    """The correction names an unknown mention, topic or sentiment."""

    exit_code = 2


@dataclass
class Correction:
    """What a person says about one mention; empty fields leave the model's value alone."""

    sentiment: str | None = None
    set_topics: Sequence[tuple[str, str | None]] = ()   # (topic, its sentiment or None)
    remove_topics: Sequence[str] = ()
    note: str | None = None
    known_topics: Sequence[str] = field(default_factory=tuple)

    def check(self) -> None:
        for value in [self.sentiment, *(s for _, s in self.set_topics)]:
            if value is not None and value not in SENTIMENTS:
                raise CorrectionError(f"sentiment {value!r}: expected one of {', '.join(SENTIMENTS)}")
        if self.known_topics:
            for name in [*(t for t, _ in self.set_topics), *self.remove_topics]:
                if name not in self.known_topics:
                    raise CorrectionError(
                        f"topic {name!r} is not in the config's taxonomy ({', '.join(self.known_topics)})"
                    )
        if self.sentiment is None and not self.set_topics and not self.remove_topics:
            raise CorrectionError("nothing to correct: give --sentiment, --topic or --remove-topic")


def parse_topic(value: str) -> tuple[str, str | None]:
    """``delivery`` or ``delivery:negative`` -> (name, sentiment or None)."""
    name, _, sentiment = value.partition(":")
    return name.strip(), (sentiment.strip() or None)


def apply_correction(
    store: MentionStore, mention_id: int, correction: Correction, *, author: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Apply ``correction`` to mention ``mention_id`` in one transaction; return the log entry."""
    correction.check()
    when = to_db_time(now or datetime.now(timezone.utc))
    entry = store.apply_correction(mention_id, correction, author=author, when=when)
    if entry is None:
        raise CorrectionError(f"no mention with id {mention_id} (see `sentimon mentions`)")
    return entry


def record(db: mention_sql.SqlHandle, mention_id: int, correction: Correction, *, author: str,
           when: str) -> dict[str, Any] | None:
    """Read the mention, log the correction with what it replaces, and apply it; the log entry,
    or None when there is no such mention. The caller holds the transaction (a store's
    ``apply_correction``)."""
    row = mention_sql.mention_sentiment(db, mention_id)
    if row is None:
        return None
    before_sentiment = row[0]
    before = mention_sql.topics_of(db, mention_id)
    sentiment = correction.sentiment or before_sentiment
    topics = {t["name"]: dict(t) for t in before}
    for name in correction.remove_topics:
        topics.pop(name, None)
    for name, topic_sentiment in correction.set_topics:
        topics[name] = {"name": name, "score": HUMAN_SCORE, "sentiment": topic_sentiment or sentiment}
    [(entry_id,)] = db.execute(
        "INSERT INTO corrections (mention_id, author, created_at, sentiment, topics, "
        "before_sentiment, before_topics, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [mention_id, author, when, correction.sentiment, json.dumps(list(topics.values())),
         before_sentiment, json.dumps(before), correction.note],
    ).fetchall()
    mention_sql.set_human_sentiment(db, mention_id, sentiment, author, when)
    mention_sql.replace_topics(db, mention_id, topics.values())
    return {"id": int(entry_id), "mention_id": mention_id, "author": author, "created_at": when,
            "sentiment": sentiment, "topics": list(topics.values()),
            "before": {"sentiment": before_sentiment, "topics": before}}


def model_output(store: Store, mention_id: int) -> dict[str, Any] | None:
    """What the model said before anyone corrected the mention (None if never corrected)."""
    row = store.db.execute(
        "SELECT before_sentiment, before_topics FROM corrections WHERE mention_id = ? ORDER BY id LIMIT 1",
        [mention_id],
    ).fetchone()
    return None if row is None else {"sentiment": row[0], "topics": json.loads(row[1])}


def _full_text(title: str | None, text: str) -> str:
    """Title and body the way the pipeline classifies them (``Mention.full_text``)."""
    return f"{title.strip()}. {text}" if title and title.strip() and title.strip() not in text else text


def training_rows(store: MentionStore) -> Iterator[dict[str, Any]]:
    """Every corrected mention as a row of both training formats: ``{text, label, aspects}``.
    A store method reads them (``mention_sql.corrected_mentions``), so either backend serves."""
    for row in store.corrected_mentions():
        aspects = [{"category": t["name"], "polarity": t["sentiment"]} for t in row["topics"]]
        yield {"text": _full_text(row["title"], row["text"]), "label": row["sentiment"], "aspects": aspects}


def anchor_texts(store: MentionStore, limit: int = 1000) -> list[str]:
    """The ``limit`` most recent mentions nobody corrected: what the model already gets right
    as far as anyone has said, and what retraining must keep answering the same way."""
    return [_full_text(title, text) for title, text in store.uncorrected_texts(limit)]
